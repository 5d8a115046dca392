"""Remove on the Services tab, in a real browser: the shared confirmation dialog (Cancel keeps the
service, the dialog's Remove service removes it), the confirmation page when scripts are off, and
the dialog's words in Japanese."""

import pytest

from groups.models import Role, Service
from tests.conftest import PASSWORD, make_group, make_member
from tests.e2e.conftest import shot, sign_in
from tests.test_japanese_pages import catalogue  # noqa: F401  (the compiled catalogue)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SERVICES = "/groups/payments/services/"


@pytest.fixture
def services():
    """The group "payments" with two services, owned by olivia."""
    group = make_group("Payments")
    make_member(group, Role.OWNER, "olivia")
    for name in ("orders:read", "orders:write"):
        Service.objects.create(group=group, name=name)
    return group


def names(group):
    return sorted(group.services.values_list("name", flat=True))


def test_cancel_keeps_the_service_and_confirm_removes_it(page, services):
    sign_in(page, "olivia", PASSWORD)
    page.goto(SERVICES)

    page.get_by_role("link", name="Remove orders:read").click()
    dialog = page.locator("dialog#confirm-dialog")
    assert dialog.get_by_role("heading", name="Remove service orders:read?").is_visible()
    assert "Every credential and token limited to orders:read loses it at once" in dialog.inner_text()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Cancel"
    shot(page, "services-remove-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    assert not dialog.is_visible()
    assert names(services) == ["orders:read", "orders:write"]

    page.get_by_role("link", name="Remove orders:read").click()
    dialog.get_by_role("button", name="Remove service").click()
    page.get_by_text("Service orders:read removed.").wait_for()
    assert names(services) == ["orders:write"]
    assert page.get_by_role("link", name="Remove orders:read").count() == 0


def test_without_scripts_remove_asks_on_its_own_page(browser, live_server, services):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="en-US")
    page = context.new_page()
    try:
        sign_in(page, "olivia", PASSWORD)
        page.goto(SERVICES)

        page.get_by_role("link", name="Remove orders:write").click()
        assert page.get_by_role("heading", name="Remove service orders:write?").is_visible()
        page.get_by_role("link", name="Cancel").click()
        assert page.url.endswith(SERVICES)
        assert names(services) == ["orders:read", "orders:write"]

        page.get_by_role("link", name="Remove orders:write").click()
        page.get_by_role("button", name="Remove service").click()
        page.get_by_text("Service orders:write removed.").wait_for()
        assert names(services) == ["orders:read"]
    finally:
        context.close()


def test_the_dialog_in_japanese(browser, live_server, catalogue, services):  # noqa: F811
    context = browser.new_context(
        base_url=live_server.url,
        locale="ja-JP",
        extra_http_headers={"Accept-Language": "ja,en;q=0.5"},
    )
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.get_by_label("ユーザー名").fill("olivia")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン", exact=True).click()
        page.goto(SERVICES)

        page.get_by_role("link", name="orders:read を削除").click()
        dialog = page.locator("dialog#confirm-dialog")
        assert dialog.get_by_role("heading", name="サービス orders:read を削除しますか？").is_visible()
        assert "orders:read に限定されている認証情報とトークンからは" in dialog.inner_text()
        shot(page, "services-remove-dialog-ja")
        dialog.get_by_role("button", name="キャンセル").click()
        assert names(services) == ["orders:read", "orders:write"]

        page.get_by_role("link", name="orders:read を削除").click()
        dialog.get_by_role("button", name="サービスを削除").click()
        page.get_by_text("サービス orders:read を削除しました。").wait_for()
        assert names(services) == ["orders:write"]
    finally:
        context.close()
