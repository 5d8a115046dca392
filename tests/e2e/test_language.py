"""The language switcher in a real browser: to 日本語 and back to English, and the choice kept on
the account across sign-out and sign-in, on a desktop and a phone. Screenshots go to
test-artifacts/language/."""

import pytest

from groups.models import Role
from tests.conftest import PASSWORD, make_group, make_member
from tests.e2e.conftest import ARTIFACTS, sign_in
from tests.test_japanese_pages import catalogue  # noqa: F401  (the compiled catalogue)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = ARTIFACTS / "language"


def shoot(page, name):
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


def language(page):
    return page.locator("html").get_attribute("lang")


def sign_out(page):
    page.locator(".menu").get_by_role(
        "button", name=["Sign out", "ログアウト"][language(page) == "ja"]
    ).click()


def test_switch_to_japanese_and_back_kept_across_sign_out_and_in(page, catalogue):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    make_member(make_group("Payments"), Role.OWNER, "olivia")
    page.set_viewport_size(DESKTOP)
    sign_in(page, "olivia", PASSWORD)
    assert language(page) == "en"
    shoot(page, "desktop-en")

    page.get_by_role("button", name="日本語").click()
    page.wait_for_url("**/groups/")
    assert language(page) == "ja"
    assert page.get_by_role("navigation", name="メイン").get_by_role("link", name="グループ一覧").is_visible()
    assert page.get_by_role("button", name="日本語").get_attribute("aria-pressed") == "true"
    shoot(page, "desktop-ja")
    page.get_by_role("link", name="個人設定").click()
    assert page.locator("#id_time_zone").is_visible()
    shoot(page, "desktop-ja-preferences")

    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="メニュー").click()
    assert page.get_by_role("button", name="English").is_visible()
    shoot(page, "phone-ja-menu")

    # Signed out, the sign-in page follows the cookie; then the account's choice, in a fresh browser.
    sign_out(page)
    assert language(page) == "ja"
    shoot(page, "phone-ja-sign-in")
    page.context.clear_cookies()
    sign_in(page, "olivia", PASSWORD)
    assert language(page) == "ja"

    page.get_by_role("button", name="メニュー").click()
    page.get_by_role("button", name="English").click()
    page.wait_for_url("**/groups/")
    assert language(page) == "en"
    page.set_viewport_size(DESKTOP)
    sign_out(page)
    page.context.clear_cookies()
    sign_in(page, "olivia", PASSWORD)
    assert language(page) == "en"
    assert page.get_by_role("link", name="Groups").is_visible()
    shoot(page, "desktop-en-again")
