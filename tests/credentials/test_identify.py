"""Identify a credential (/identify/): a pasted value or hint names its credential, within the groups
the user may see; anything else, another group's value included, is the same "not found"."""

import json
import re

import pytest
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from credentials import secrets
from credentials.models import AccessToken, ApiKey
from credentials.secrets import Kind
from credentials.views import identify_count_key
from groups.models import Role
from tests.conftest import (
    client_for,
    issue_access_token,
    make_api_key,
    make_group,
    make_member,
    make_oauth_client,
)

NOT_FOUND = "No credential in the groups you can see matches this value."
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    # The counter lives in the real cache, where other tests' users (the same ids) counted too.
    settings.IDENTIFY_PER_MINUTE = 1_000_000


@pytest.fixture
def world(cast):
    """The cast's group with a credential of each kind, and another group with its own key."""
    _, keys = make_api_key(cast.group, "Billing app")
    client, secret = make_oauth_client(cast.group, "Checkout")
    _, token = issue_access_token(client)
    pair = (
        Client()
        .post(
            "/v1/tokens",
            json.dumps({"clientId": client.client_id, "clientSecret": secret}),
            content_type="application/json",
        )
        .json()
    )
    other = make_group("Logistics")
    _, other_keys = make_api_key(other, "Fleet app")
    cast.values = {
        "primary": keys["primary"],
        "secondary": keys["secondary"],
        "secret": secret,
        "token": token,
        "refresh": pair["refreshToken"],
        "client_id": client.client_id,
        "other": other_keys["primary"],
    }
    return cast


def identify(user, value):
    return client_for(user).post("/identify/", {"value": value})


@pytest.mark.parametrize(
    ("name", "kind", "slot"),
    [
        ("primary", "API key", "Primary key"),
        ("secondary", "API key", "Secondary key"),
        ("secret", "Client Secret", "Current secret"),
        ("token", "access token", "—"),
        ("refresh", "refresh token", "—"),
        ("client_id", "Client ID", "—"),
    ],
)
def test_each_kind_is_found_by_a_member(world, name, kind, slot):
    response = identify(world.viewer, world.values[name])

    assert response.status_code == 200
    body = response.content.decode()
    assert "Payments" in body
    assert kind in body and slot in body
    assert "/groups/payments/" in body
    assert world.values[name] not in body


def test_the_api_key_shows_its_last_use_and_validity(world):
    key = ApiKey.objects.get(credential__group=world.group, slot="primary")
    ApiKey.objects.touch(key.pk, "203.0.113.9", key.created_at)

    response = identify(world.owner, world.values["primary"])

    assert "from 203.0.113.9" in response.content.decode()
    assert "Valid" in response.content.decode()


def test_a_revoked_token_is_found_as_no_longer_valid(world):
    AccessToken.objects.update(revoked_at="2026-01-01T00:00:00Z")

    response = identify(world.owner, world.values["token"])

    assert "No longer valid" in response.content.decode()


@pytest.mark.parametrize("hint_form", ["{p}_…{last4}", "{p}_...{last4}", "{p}_{last4}"])
def test_a_hint_finds_the_key(world, hint_form):
    value = world.values["secondary"]

    response = identify(world.admin, hint_form.format(p="gpk", last4=value[-4:]))

    assert "Secondary key" in response.content.decode()
    assert "Billing app" in response.content.decode()


def test_a_hint_lists_every_match(world):
    make_api_key(world.group, "Mobile app")
    ApiKey.objects.update(hint="gpk_…QjgX")

    body = identify(world.owner, "gpk_…QjgX").content.decode()

    assert body.count("<tr>") == 1 + 4  # the header, and both slots of both credentials


def test_a_client_secret_hint_finds_the_client(world):
    response = identify(world.owner, secrets.hint(world.values["secret"]))

    assert "Checkout" in response.content.decode()


def without_csrf(response):
    return CSRF.sub(b"", response.content)


@pytest.mark.parametrize("garbage", ["garbage", secrets.generate(Kind.API_KEY), "gpk_…zzzz"])
def test_another_groups_key_is_answered_exactly_as_garbage(world, garbage):
    theirs = identify(world.owner, world.values["other"])
    nothing = identify(world.owner, garbage)

    assert theirs.status_code == nothing.status_code == 200
    assert without_csrf(theirs) == without_csrf(nothing)
    assert NOT_FOUND in theirs.content.decode()
    assert "Logistics" not in theirs.content.decode()


def test_another_groups_hint_is_not_found(world):
    response = identify(world.owner, secrets.hint(world.values["other"]))

    assert NOT_FOUND in response.content.decode()


def test_staff_see_every_group(world):
    response = identify(world.staff, world.values["other"])

    assert "Logistics" in response.content.decode()


def test_a_malformed_value_costs_no_lookup(world):
    client = client_for(world.owner)
    bad = world.values["primary"][:-1] + ("A" if world.values["primary"][-1] != "A" else "B")

    with CaptureQueriesContext(connection) as queries:
        response = client.post("/identify/", {"value": bad})

    assert NOT_FOUND in response.content.decode()
    assert not [query for query in queries if "credentials_" in query["sql"]]


def test_the_value_is_not_echoed_logged_stored_or_kept(world, caplog):
    value = world.values["primary"]
    client = client_for(world.owner)

    with caplog.at_level("DEBUG"):
        response = client.post("/identify/", {"value": value})

    assert value not in response.content.decode()
    assert value not in caplog.text
    assert value not in json.dumps(dict(client.session))
    assert not database_contains(value)
    assert database_contains(secrets.hint(value))  # the search itself finds what is there


def database_contains(value):
    """Whether any column of any table holds `value`, read as text."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                sql = f"SELECT 1 FROM {quote(table)} WHERE CAST({quote(column.name)} AS TEXT) LIKE %s"  # noqa: S608
                try:
                    with transaction.atomic():  # a savepoint: PostgreSQL goes on after a refused cast
                        cursor.execute(sql, [f"%{value}%"])
                        if cursor.fetchone():
                            return True
                except DatabaseError:
                    continue
    return False


def test_the_form_is_a_post_with_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)

    response = client.post("/identify/", {"value": world.values["primary"]})

    assert response.status_code == 403


def test_signed_out_goes_to_sign_in(db):
    response = Client().post("/identify/", {"value": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_lookups_are_rate_limited(world, settings):
    settings.IDENTIFY_PER_MINUTE = 2
    cache.delete(identify_count_key(world.owner))
    client = client_for(world.owner)

    answers = [client.post("/identify/", {"value": "garbage"}).status_code for _ in range(3)]

    assert answers == [200, 200, 429]


def test_a_member_of_no_group_finds_nothing(world):
    loner = make_member(make_group("Solo"), Role.VIEWER, "solo")

    response = identify(loner, world.values["secret"])

    assert NOT_FOUND in response.content.decode()


def test_the_page_is_linked_from_the_top_bar(world):
    response = client_for(world.viewer).get("/groups/")

    assert 'href="/identify/"' in response.content.decode()
