"""The portal's language and time zone: Accept-Language by default, the switcher's choice kept on
the account (and in the language cookie for the sign-in page), times in the user's zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import translation

from accounts.locale import UserLocaleMiddleware
from accounts.models import Preference
from groups.models import Action, Activity
from tests.conftest import PASSWORD
from tests.test_japanese_pages import catalogue  # noqa: F401  (the compiled catalogue)


@pytest.fixture
def japanese(catalogue):  # noqa: F811
    """The project's own Japanese catalogue, compiled, and Django's translations read afresh."""
    translation._trans.__dict__.clear()
    yield
    translation._trans.__dict__.clear()


def sign_in(client, username="olivia"):
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def page(client, path="/groups/"):
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_the_api_pool_has_no_locale_middleware():
    assert not any("locale" in name.lower() for name in django_settings.API_MIDDLEWARE)


def test_the_api_answers_in_english_on_the_portal_pool_too(japanese, db):
    response = Client(headers={"accept-language": "ja"}).get("/v1/whoami")
    assert response.status_code == 401
    assert "Content-Language" not in response
    assert "Accept-Language" not in response.get("Vary", "")


def test_accept_language_ja_gets_japanese_on_the_sign_in_page(japanese, db):
    response = Client(headers={"accept-language": "ja,en;q=0.5"}).get("/accounts/login/")
    assert response["Content-Language"] == "ja"
    html = response.content.decode()
    assert '<html lang="ja">' in html
    assert "API認証ポータル" in html


def test_without_accept_language_the_portal_is_in_english(japanese, db):
    html = page(Client(), "/accounts/login/")
    assert '<html lang="en">' in html
    assert "API Authentication Portal" in html


def test_a_signed_in_user_without_a_choice_follows_the_browser(japanese, cast):
    client = Client(headers={"accept-language": "ja"})
    sign_in(client)
    assert "グループ一覧</a>" in page(client)
    assert not Preference.objects.exists()


def test_the_switcher_keeps_the_choice_on_the_account_across_sign_out_and_in(japanese, cast):
    client = Client(headers={"accept-language": "en"})
    sign_in(client)
    response = client.post("/accounts/language/", {"language": "ja", "next": "/groups/?page=1"})
    assert response.status_code == 302 and response["Location"] == "/groups/?page=1"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "ja"
    assert Preference.objects.get(user__username="olivia").language == "ja"
    assert "ログアウト" in page(client)

    client.post("/accounts/logout/")
    # Another browser, English by its header and without the cookie: the account's choice wins.
    elsewhere = Client(headers={"accept-language": "en"})
    sign_in(elsewhere)
    html = page(elsewhere)
    assert '<html lang="ja">' in html and "グループ一覧</a>" in html

    elsewhere.post("/accounts/language/", {"language": "en", "next": "/groups/"})
    assert '<html lang="en">' in page(elsewhere)
    assert Preference.objects.get(user__username="olivia").language == "en"


def test_signed_out_the_switcher_sets_only_the_cookie_and_the_sign_in_page_follows_it(japanese, db):
    client = Client(headers={"accept-language": "en"})
    response = client.post("/accounts/language/", {"language": "ja", "next": "/accounts/login/"})
    assert response["Location"] == "/accounts/login/"
    assert "API認証ポータル" in page(client, "/accounts/login/")
    assert not Preference.objects.exists()


def test_the_switcher_never_sends_the_browser_to_another_site(cast):
    client = Client()
    sign_in(client)
    response = client.post("/accounts/language/", {"language": "ja", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")


def test_without_next_the_switcher_goes_back_by_the_referer(db):
    referer = "http://testserver/groups/no-such-group/"
    response = Client().post("/accounts/language/", {"language": "ja"}, headers={"referer": referer})
    assert response["Location"] == referer


def test_an_unknown_language_changes_nothing_and_is_no_error(cast):
    client = Client()
    sign_in(client)
    response = client.post("/accounts/language/", {"language": "xx", "next": "/groups/"})
    assert response.status_code == 302
    assert not Preference.objects.exists()
    assert django_settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_switcher_is_a_post_form_with_csrf_on_every_page(cast):
    client = Client(enforce_csrf_checks=True)
    assert 'action="/accounts/language/"' in page(client, "/accounts/login/")
    assert client.get("/accounts/language/").status_code == 405
    assert client.post("/accounts/language/", {"language": "ja"}).status_code == 403


def rendered_in_zone_of(user, language="en"):
    """What `|date` writes for 2026-01-01 00:00 UTC in a request of `user` with `language`."""
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    request = RequestFactory().get("/")
    request.user, request.LANGUAGE_CODE = user, language
    template = Template('{{ moment|date:"Y-m-d H:i e" }}')
    middleware = UserLocaleMiddleware(lambda request: template.render(Context({"moment": moment})))
    return middleware(request)


def test_times_show_in_the_users_zone(cast):
    olivia = get_user_model().objects.get(username="olivia")
    assert rendered_in_zone_of(olivia, "en") == "2026-01-01 00:00 UTC"
    assert rendered_in_zone_of(olivia, "ja") == "2026-01-01 09:00 JST"  # Japanese's default
    Preference.objects.create(user=olivia, time_zone="America/New_York")
    assert rendered_in_zone_of(olivia, "ja") == "2025-12-31 19:00 EST"


def test_the_preferences_page_saves_the_time_zone_and_refuses_an_unknown_one(cast):
    client = Client()
    sign_in(client)
    assert 'name="time_zone"' in page(client, "/accounts/preferences/")
    response = client.post("/accounts/preferences/", {"language": "", "time_zone": "Europe/Paris"})
    assert response.status_code == 302
    assert "(Europe/Paris)" in page(client, "/accounts/preferences/")

    refused = client.post("/accounts/preferences/", {"language": "", "time_zone": "Mars/Olympus"})
    assert refused.status_code == 200 and "field-error" in refused.content.decode()
    assert Preference.objects.get(user__username="olivia").time_zone == "Europe/Paris"


def test_choosing_japanese_on_the_preferences_page_sets_the_cookie_too(japanese, cast):
    client = Client()
    sign_in(client)
    response = client.post("/accounts/preferences/", {"language": "ja", "time_zone": ""}, follow=True)
    assert "個人設定を保存しました。" in response.content.decode()
    assert client.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "ja"


def test_the_preferences_page_is_for_signed_in_users(db):
    response = Client().get("/accounts/preferences/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_times_labelled_utc_stay_in_utc_for_a_user_of_another_zone(cast):
    """Activity's "When (UTC)" column keeps UTC whatever the user's own zone."""
    olivia = get_user_model().objects.get(username="olivia")
    Preference.objects.create(user=olivia, time_zone="Asia/Tokyo")
    event = Activity.objects.record(cast.group, Action.MEMBER_ADDED, "vera", actor=olivia)
    client = Client()
    client.force_login(olivia)
    page = client.get("/groups/payments/activity/").content.decode()
    utc, tokyo = event.created_at.astimezone(UTC), event.created_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"<span>{utc:%H:%M:%S}</span>" in page
    assert f"<span>{tokyo:%H:%M:%S}</span>" not in page
