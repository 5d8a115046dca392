"""Identify a credential in a real browser, in English and Japanese, on a phone and a desktop: a
pasted key names its credential, the field comes back empty, and the screens are kept to look at."""

import pytest
from django.test import override_settings
from django.utils import translation
from playwright.sync_api import expect

from groups.models import Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member
from tests.e2e.conftest import ARTIFACTS
from tests.test_japanese_pages import LOCALE, catalogue  # noqa: F401  (the compiled catalogue)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
LABELS = {
    "en": {
        "menu": "Menu",
        "link": "Identify a credential",
        "field": "Value or hint",
        "button": "Identify",
        "username": "Username",
        "password": "Password",
        "sign_in": "Sign in",
        "found": "Primary key",
        "none": "No credential in the groups you can see matches this value.",
    },
    "ja": {
        "menu": "メニュー",
        "link": "認証情報の特定",
        "field": "値またはヒント",
        "button": "特定",
        "username": "ユーザー名",
        "password": "パスワード",
        "sign_in": "ログイン",
        "found": "Primaryキー",
        "none": "閲覧できるグループに、この値に一致する認証情報はありません。",
    },
}


@pytest.fixture(params=list(LABELS))
def language(request):
    return request.param


@pytest.fixture
def browser_page(browser, live_server, catalogue, language):  # noqa: F811
    translation._trans.__dict__.clear()
    try:
        # No rate limit: the counter is in the shared cache, where other tests' users (same ids) count.
        with override_settings(
            USE_I18N=True, LANGUAGE_CODE=language, LOCALE_PATHS=[str(LOCALE)], IDENTIFY_PER_MINUTE=10**6
        ):
            context = browser.new_context(
                base_url=live_server.url,
                locale="ja-JP" if language == "ja" else "en-US",
                extra_http_headers={"Accept-Language": language},
            )
            yield context.new_page()
            context.close()
    finally:
        translation._trans.__dict__.clear()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_pasted_key_is_identified(browser_page, language, viewport):
    page, text = browser_page, LABELS[language]
    page.set_viewport_size(VIEWPORTS[viewport])
    group = make_group("Payments")
    owner = make_member(group, Role.OWNER, "hanako")
    _, keys = make_api_key(group, "Billing app", created_by=owner)

    page.goto("/accounts/login/")
    page.get_by_label(text["username"]).fill("hanako")
    page.get_by_label(text["password"]).fill(PASSWORD)
    page.get_by_role("button", name=text["sign_in"], exact=True).click()
    if viewport == "phone":
        page.get_by_role("button", name=text["menu"]).click()
    page.get_by_role("link", name=text["link"]).click()
    page.get_by_label(text["field"]).fill(keys["primary"])
    page.get_by_role("button", name=text["button"]).click()

    expect(page.get_by_role("cell", name=text["found"])).to_be_visible()
    assert page.get_by_label(text["field"]).input_value() == ""
    assert keys["primary"] not in page.content()
    _shot(page, f"identify-{language}-{viewport}")
    page.get_by_label(text["field"]).fill("gpk_…zzzz")
    page.get_by_role("button", name=text["button"]).click()
    expect(page.get_by_text(text["none"])).to_be_visible()


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
