"""The portal in Japanese in a real browser, on a phone and on a desktop, for screenshots a person
looks at: long Japanese labels must still fit the buttons, tabs and dialogs.

Japanese is made the portal's language here (LANGUAGE_CODE, with the catalogue compiled by
tests/test_japanese_pages.py's fixture); the browser asks for it too, as a Japanese browser does,
which is what LocaleMiddleware will go by.
"""

import pytest
from django.test import override_settings
from django.utils import translation

from groups.models import Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member, make_oauth_client
from tests.e2e.conftest import ARTIFACTS, CHROMIUM_ARGS  # noqa: F401  (same browser set-up)
from tests.test_japanese_pages import LOCALE, catalogue  # noqa: F401  (the compiled catalogue)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def japanese_page(browser, live_server, catalogue):  # noqa: F811
    translation._trans.__dict__.clear()
    try:
        with override_settings(USE_I18N=True, LANGUAGE_CODE="ja", LOCALE_PATHS=[str(LOCALE)]):
            context = browser.new_context(
                base_url=live_server.url,
                locale="ja-JP",
                extra_http_headers={"Accept-Language": "ja"},
            )
            yield context.new_page()
            context.close()
    finally:
        translation._trans.__dict__.clear()


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_japanese_screens(japanese_page, viewport):
    page = japanese_page
    page.set_viewport_size(VIEWPORTS[viewport])
    group = make_group("Payments")
    owner = make_member(group, Role.OWNER, "hanako")
    make_api_key(group, "Billing app", created_by=owner)
    make_oauth_client(group, "Checkout", created_by=owner)

    page.goto("/accounts/login/")
    assert page.get_by_role("heading", name="ログイン").is_visible()
    _shot(page, f"ja-sign-in-{viewport}")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.get_by_role("button", name="ログイン", exact=True).click()
    assert page.get_by_role("heading", name="グループ一覧").is_visible()
    _shot(page, f"ja-group-list-{viewport}")

    page.goto("/groups/payments/")
    assert page.get_by_role("heading", name="APIキー認証情報").is_visible()
    assert page.get_by_role("heading", name="OAuth認証情報").is_visible()
    _shot(page, f"ja-auth-info-{viewport}")
    page.get_by_role("link", name="Billing app のPrimaryキーを再発行").click()
    assert page.get_by_role("heading", name="Billing app のPrimaryキーを再発行しますか？").is_visible()
    _shot(page, f"ja-regenerate-dialog-{viewport}")

    page.goto("/groups/payments/members/")
    _shot(page, f"ja-members-{viewport}")
    page.goto("/groups/payments/activity/")
    _shot(page, f"ja-activity-{viewport}")

    # Security: the password and the second factors; setting up an authenticator app.
    page.goto("/accounts/two-factor/")
    assert page.get_by_role("heading", name="セキュリティ").is_visible()
    _shot(page, f"ja-security-{viewport}")
    page.get_by_role("link", name="認証アプリを設定").click()
    assert page.get_by_role("button", name="オンにする").is_visible()
    _shot(page, f"ja-authenticator-app-{viewport}")
