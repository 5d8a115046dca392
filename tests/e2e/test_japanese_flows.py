"""The guide's flows in Japanese, in a real browser that asks for Japanese (Accept-Language: ja) as
a Japanese administrator's does: sign in (a wrong password first), then an API key credential and
an OAuth client are each created, shown, regenerated and deleted, with the values checked against
the API. Screenshots of each step go to test-artifacts/ja-flows/, to be looked at."""

import re

import pytest

from groups.models import Role
from tests.conftest import PASSWORD, make_group, make_member
from tests.e2e.conftest import ARTIFACTS
from tests.test_japanese_pages import catalogue  # noqa: F401  (the compiled catalogue)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = ARTIFACTS / "ja-flows"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture
def page(browser, live_server, catalogue):  # noqa: F811
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="ja-JP",
        extra_http_headers={"Accept-Language": "ja,en;q=0.5"},
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    context.close()
    assert not violations, f"Content-Security-Policy violations: {violations}"


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def sign_in(page, password):
    page.goto("/accounts/login/")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン", exact=True).click()


def open_tab(page):
    page.get_by_role("link", name="認証情報", exact=True).click()
    page.get_by_role("heading", name="APIキー認証情報").wait_for()


def key_row(page, slot):
    return page.locator(f'.key-row[data-slot="{slot}"]')


def test_sign_in_and_api_keys_in_japanese(page):
    make_member(make_group("Payments"), Role.OWNER, "hanako")

    sign_in(page, "not the password")
    error = page.locator(".errorlist, .form-errors, [role=alert]").first
    assert JAPANESE.search(error.inner_text()), error.inner_text()
    shot(page, "01-sign-in-refused")
    sign_in(page, PASSWORD)
    assert page.get_by_role("heading", name="グループ一覧").is_visible()
    assert page.locator("html").get_attribute("lang") == "ja"
    shot(page, "02-group-list")

    page.get_by_role("link", name="Payments").click()
    assert page.get_by_role("heading", name="グループ詳細").is_visible()
    page.locator("section", has_text="APIキー認証情報").get_by_role("link", name="新規作成").click()
    shot(page, "03-new-api-key")
    page.get_by_label("名前").fill("Billing service")
    page.get_by_role("button", name="新規作成").click()
    assert page.get_by_text("APIキー Billing service を作成しました。").is_visible()
    primary = page.locator('[data-secret="primary"]').inner_text()
    secondary = page.locator('[data-secret="secondary"]').inner_text()
    assert primary.startswith("gpk_") and secondary.startswith("gpk_")
    shot(page, "04-api-key-created")
    key_row(page, "primary").get_by_role("button", name="コピー").click()
    assert page.evaluate("navigator.clipboard.readText()") == primary

    whoami = page.request.get("/v1/whoami", headers={"X-Api-Key": primary})
    assert whoami.json()["auth"]["credential"] == "Billing service"

    open_tab(page)
    assert page.locator("[data-secret]").count() == 0
    key_row(page, "secondary").get_by_role("button", name="表示").click()
    assert page.locator('[data-secret="secondary"]').inner_text() == secondary
    shot(page, "05-api-key-shown")

    open_tab(page)
    key_row(page, "primary").get_by_role("link", name="再発行").click()
    dialog = page.locator("dialog[open]")
    assert "Billing service のPrimaryキーを再発行しますか？" in dialog.inner_text()
    shot(page, "06-regenerate-key-dialog")
    dialog.get_by_role("button", name="再発行").click()
    assert page.get_by_text(
        "Billing service のPrimaryキーを再発行しました。旧キーは使えなくなりました。"
    ).is_visible()
    new_primary = page.locator('[data-secret="primary"]').inner_text()
    assert new_primary != primary
    shot(page, "07-api-key-regenerated")
    assert page.request.get("/v1/whoami", headers={"X-Api-Key": primary}).status == 401

    open_tab(page)
    page.locator(".credential", has_text="Billing service").get_by_role("link", name="削除").click()
    dialog = page.locator("dialog[open]")
    assert JAPANESE.search(dialog.inner_text())
    shot(page, "08-delete-key-dialog")
    dialog.get_by_role("button", name="削除").click()
    assert page.get_by_text("を削除しました").is_visible()
    shot(page, "09-api-key-deleted")
    assert page.request.get("/v1/whoami", headers={"X-Api-Key": new_primary}).status == 401


def test_oauth_clients_in_japanese(page):
    make_member(make_group("Payments"), Role.OWNER, "hanako")
    sign_in(page, PASSWORD)
    page.get_by_role("link", name="Payments").click()

    page.locator("section", has_text="OAuth認証情報").get_by_role("link", name="新規作成").click()
    shot(page, "10-new-oauth-client")
    page.get_by_label("名前").fill("Checkout")
    page.get_by_role("button", name="新規作成").click()
    assert page.get_by_text("OAuthクライアント Checkout を作成しました。").is_visible()
    client_id = page.locator("[data-client-id]").inner_text()
    secret = page.locator('[data-secret="client-secret"]').inner_text()
    shot(page, "11-oauth-client-created")

    def token(value):
        return page.request.post(
            "/v2/tokens",
            form={"grant_type": "client_credentials", "client_id": client_id, "client_secret": value},
        )

    assert token(secret).status == 200

    open_tab(page)
    secret_row = page.locator('.key-row[data-slot="client-secret"]')
    secret_row.get_by_role("button", name="表示").click()
    assert page.locator('[data-secret="client-secret"]').inner_text() == secret
    shot(page, "12-oauth-secret-shown")

    open_tab(page)
    page.locator('.key-row[data-slot="client-secret"]').get_by_role("link", name="再発行").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("1時間後").check()
    shot(page, "13-regenerate-secret-dialog")
    dialog.get_by_role("button", name="再発行").click()
    message = "Checkout の Client Secret を再発行しました。旧シークレットは1時間後に無効になります。"
    assert page.get_by_text(message + "これまでに発行したトークンは失効しました。").is_visible()
    new_secret = page.locator('[data-secret="client-secret"]').inner_text()
    assert new_secret != secret
    assert "以前のシークレット" in page.locator('.key-row[data-slot="client-secret"]').inner_text()
    shot(page, "14-oauth-secret-regenerated")
    assert token(secret).status == 200 and token(new_secret).status == 200  # 1 hour of grace

    open_tab(page)
    page.locator(".credential", has_text="Checkout").get_by_role("link", name="削除").click()
    dialog = page.locator("dialog[open]")
    shot(page, "15-delete-client-dialog")
    dialog.get_by_role("button", name="削除").click()
    assert page.get_by_text("を削除しました").is_visible()
    shot(page, "16-oauth-client-deleted")
    assert token(new_secret).status == 401
