"""The portal's language and time zone: Accept-Language by default, the switcher's choice kept on
the account (and in the language cookie for the sign-in page), times in the user's zone."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from accounts.locale import UserLocaleMiddleware
from accounts.models import Preference
from credentials.models import Lockout, Slot
from groups.forms import ExportForm
from groups.models import Action, Activity, EditConflict, Invitation, Role
from tests.conftest import PASSWORD, client_for, make_api_key, make_oauth_client
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


TOKYO = ZoneInfo("Asia/Tokyo")


def in_zone(user, zone):
    """A client signed in as `user`, whose preferred time zone is `zone` (None: the default)."""
    if zone:
        Preference.objects.create(user=user, time_zone=zone)
    return client_for(user)


def shown(moment, zone, precision="%Y-%m-%d %H:%M"):
    """A moment as portal.times writes it on a page: a <time> holding it in `zone`, with its
    abbreviation, and its full name as the title."""
    local = moment.astimezone(zone)
    iso = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{iso}" title="{zone.key}">{local.strftime(precision)} {local.tzname()}</time>'


@pytest.mark.parametrize(("zone", "abbreviation"), [(TOKYO, "JST"), (ZoneInfo("UTC"), "UTC")])
def test_activity_shows_times_in_the_users_zone_with_the_zone(cast, zone, abbreviation):
    event = Activity.objects.record(cast.group, Action.MEMBER_ADDED, "vera", actor=cast.owner)
    client = in_zone(cast.owner, "Asia/Tokyo" if zone is TOKYO else None)

    page = client.get("/groups/payments/activity/").content.decode()

    local = event.created_at.astimezone(zone)
    assert f"<span>{local:%Y-%m-%d}</span> <span>{local:%H:%M:%S} {abbreviation}</span>" in page
    assert f'title="{zone.key}"' in page
    assert "When (UTC)" not in page and f"({zone.key})" in page  # the Download form's days


@pytest.mark.parametrize(("zone", "abbreviation"), [(TOKYO, "JST"), (ZoneInfo("UTC"), "UTC")])
def test_members_shows_invitations_and_member_since_in_the_users_zone(cast, zone, abbreviation):
    invitation, _ = Invitation.objects.invite(cast.group, "new@example.com", Role.VIEWER, cast.owner)
    client = in_zone(cast.owner, "Asia/Tokyo" if zone is TOKYO else None)

    page = client.get("/groups/payments/members/").content.decode()

    assert shown(invitation.expires_at, zone) in page
    assert abbreviation in shown(invitation.expires_at, zone)
    since = cast.group.memberships.get(user=cast.owner).created_at
    assert shown(since, zone, "%Y-%m-%d") in page
    assert "Expires (UTC)" not in page


@pytest.mark.parametrize("zone", [TOKYO, ZoneInfo("UTC")])
def test_group_list_shows_invitations_in_the_users_zone(cast, zone):
    invitation = Invitation.objects.invite_username(cast.group, "oscar", Role.VIEWER, cast.owner)
    client = in_zone(cast.outsider, "Asia/Tokyo" if zone is TOKYO else None)

    page = client.get("/groups/").content.decode()

    assert shown(invitation.expires_at, zone) in page
    assert "Expires (UTC)" not in page


@pytest.mark.parametrize(("zone", "abbreviation"), [(TOKYO, "JST"), (ZoneInfo("UTC"), "UTC")])
def test_the_authentication_information_tab_shows_times_in_the_users_zone(cast, zone, abbreviation):
    credential, _ = make_api_key(cast.group, created_by=cast.owner)
    used = timezone.now() - timedelta(hours=2)
    credential.keys.filter(slot=Slot.PRIMARY).update(last_used_at=used, last_used_address="203.0.113.7")
    oauth, _ = make_oauth_client(cast.group)
    oauth.regenerate_secret(oauth.version, None, grace_seconds=3600)
    grace_until = oauth.old_secrets()[0].expires_at
    locked_until = timezone.now() + timedelta(minutes=30)
    Lockout.objects.create(
        client_key=Lockout.key_for(oauth.client_id),
        address="198.51.100.9",
        failures=5,
        last_failure_at=timezone.now(),
        locked_until=locked_until,
    )
    client = in_zone(cast.owner, "Asia/Tokyo" if zone is TOKYO else None)

    page = client.get("/groups/payments/").content.decode()

    assert f"Created {shown(credential.created_at, zone)} by olivia" in page
    assert f"Last used {shown(used, zone)} from 203.0.113.7" in page
    assert f"still works until {shown(grace_until, zone)}." in page
    assert f"198.51.100.9 after repeated wrong secrets, until {shown(locked_until, zone)}" in page
    assert f" {abbreviation}</time>" in page and " UTC by " not in page


def test_a_tokyo_users_days_of_the_activity_export_are_tokyo_days(cast):
    with timezone.override(TOKYO):
        form = ExportForm({"since": "2026-01-02", "until": "2026-01-02", "format": "csv"})
        assert form.is_valid(), form.errors
        assert form.filename("payments") == "activity-payments-2026-01-02-to-2026-01-02.csv"
    assert form.cleaned_data["since"] == datetime(2026, 1, 1, 15, tzinfo=UTC)
    assert form.cleaned_data["until"] == datetime(2026, 1, 2, 14, 59, 59, 999999, tzinfo=UTC)


def test_the_activity_export_reads_days_and_moments_in_the_users_zone(cast):
    for target, moment in [
        ("before", "2026-01-01 14:59:59"),
        ("in", "2026-01-01 15:00"),
        ("after", "2026-01-02 15:00"),
    ]:
        created_at = datetime.fromisoformat(moment).replace(tzinfo=UTC)
        Activity.objects.create(
            group=cast.group,
            group_slug="payments",
            action=Action.API_KEY_CREATED,
            target=target,
            created_at=created_at,
        )
    client = in_zone(cast.owner, "Asia/Tokyo")

    day = client.get(
        "/groups/payments/activity/export/", {"since": "2026-01-02", "until": "2026-01-02", "format": "jsonl"}
    )
    moment = client.get(
        "/groups/payments/activity/export/",
        {"since": "2026-01-02T00:00", "until": "2026-01-02T23:59:59", "format": "jsonl"},
    )

    for response in (day, moment):
        rows = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
        assert [(row["target"], row["time"]) for row in rows] == [("in", "2026-01-01T15:00:00Z")]


def test_the_export_command_keeps_reading_days_in_utc(cast):
    form = ExportForm({"since": "2026-01-02", "until": "2026-01-02T12:00", "format": "csv"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["since"] == datetime(2026, 1, 2, tzinfo=UTC)
    assert form.cleaned_data["until"] == datetime(2026, 1, 2, 12, tzinfo=UTC)


def test_messages_write_times_in_the_users_zone_and_the_invitation_mail_in_utc(cast):
    client = in_zone(cast.owner, "Asia/Tokyo")

    response = client.post(
        "/groups/payments/members/add/", {"username": "ines@example.com", "role": "admin"}, follow=True
    )

    expires = Invitation.objects.get().expires_at
    assert f"works once, until {expires.astimezone(TOKYO):%Y-%m-%d %H:%M} JST." in response.content.decode()
    assert f"until {expires.astimezone(UTC):%Y-%m-%d %H:%M} UTC (72 hours)" in mail.outbox[0].body
    changed_at = datetime(2026, 11, 29, 22, 41, 5, tzinfo=UTC)
    with timezone.override(TOKYO):
        assert "by adam at 2026-11-30 07:41:05 JST after" in EditConflict("vera", "adam", changed_at).message
