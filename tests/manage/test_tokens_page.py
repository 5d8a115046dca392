"""The API tokens page: create (with a fresh password), shown once, listed, revoked."""

import re
from datetime import timedelta

from django.utils import timezone

from automation.models import PersonalAccessToken
from credentials import secrets
from groups.models import Action, Activity
from tests.conftest import client_for
from tests.manage.conftest import make_pat

TOKEN = re.compile(r"gpu_[0-9A-Za-z]{49}")


def create(client, **fields):
    form = {"name": "deploy job", "lifetime": "30", "access": "read", **fields}
    return client.post("/accounts/tokens/new/", form, follow=True)


def test_a_new_token_is_shown_once_and_stored_as_a_digest(cast):
    client = client_for(cast.owner)

    page = create(client)

    (value,) = TOKEN.findall(page.content.decode())
    assert "Copy it now" in page.content.decode()
    token = PersonalAccessToken.objects.get()
    assert token.digest == secrets.digest(value) and token.read_only
    assert value not in repr(PersonalAccessToken.objects.values_list())
    assert not TOKEN.search(client.get("/accounts/tokens/").content.decode())  # never again


def test_the_list_shows_scope_expiry_and_last_use(cast):
    make_pat(cast.owner, read_only=False, name="nightly")
    PersonalAccessToken.objects.update(last_used_at=timezone.now(), last_used_address="203.0.113.9")

    page = client_for(cast.owner).get("/accounts/tokens/")

    assert page.status_code == 200
    for text in ("nightly", "Read and write", "203.0.113.9", "Expires"):
        assert text in page.content.decode()


def test_an_expiry_is_required_and_at_most_a_year(cast):
    client = client_for(cast.owner)
    too_late = (timezone.now() + timedelta(days=400)).date().isoformat()

    assert create(client, lifetime="0").status_code == 200
    assert (
        "A token can live at most one year."
        in create(client, lifetime="0", expires_on=too_late).content.decode()
    )
    assert create(client, lifetime="1000").status_code == 200
    assert not PersonalAccessToken.objects.exists()


def test_a_date_expiry_starts_that_day(cast):
    day = (timezone.now() + timedelta(days=10)).date()

    create(client_for(cast.owner), lifetime="0", expires_on=day.isoformat())

    assert PersonalAccessToken.objects.get().expires_at.date() == day


def test_creating_needs_a_fresh_password(cast, settings):
    settings.REAUTHENTICATE_AFTER = -1

    response = client_for(cast.owner).post(
        "/accounts/tokens/new/", {"name": "x", "lifetime": "7", "access": "read"}
    )

    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")
    assert not PersonalAccessToken.objects.exists()


def test_revoking_asks_then_ends_the_token(cast):
    make_pat(cast.owner)
    token = PersonalAccessToken.objects.get()
    client = client_for(cast.owner)
    url = f"/accounts/tokens/{token.public_id}/revoke/"

    assert "Revoke script?" in client.get(url).content.decode()
    response = client.post(url, follow=True)

    assert "Token script revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_creating_and_revoking_are_recorded_outside_any_group(cast):
    value = make_pat(cast.owner)
    token = PersonalAccessToken.objects.get()

    client_for(cast.owner).post(f"/accounts/tokens/{token.public_id}/revoke/")

    rows = Activity.objects.filter(actor=cast.owner, action__startswith="account.token").order_by("id")
    assert [(row.action, row.group, row.target) for row in rows] == [
        (Action.TOKEN_CREATED, None, f"script ({token.hint})"),
        (Action.TOKEN_REVOKED_BY_USER, None, f"script ({token.hint})"),
    ]
    assert all(value not in row.target and value[4:] not in row.target for row in rows)


def test_another_users_token_is_not_found(cast):
    make_pat(cast.owner)
    token = PersonalAccessToken.objects.get()

    response = client_for(cast.admin).post(f"/accounts/tokens/{token.public_id}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_staff_are_told_their_tokens_have_staff_powers(cast):
    assert "staff powers" in client_for(cast.staff).get("/accounts/tokens/").content.decode()
    assert "staff powers" not in client_for(cast.owner).get("/accounts/tokens/").content.decode()


def test_the_top_bar_links_to_the_page(cast):
    assert 'href="/accounts/tokens/"' in client_for(cast.viewer).get("/groups/").content.decode()
