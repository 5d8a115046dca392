"""POST and PATCH /v1/tokens: the conventional method, with refresh token rotation (RFC 9700 4.14.2)."""

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credentials import secrets
from credentials.models import AccessToken, RefreshToken, TokenFamily
from credentials.secrets import Kind
from groups.models import Activity
from tests.conftest import make_oauth_client

PAIR_KEYS = {"accessToken", "refreshToken", "tokenType", "expiresIn", "refreshTokenExpiresIn"}


def send(method, body, content_type="application/json", path="/v1/tokens"):
    data = body if isinstance(body, str) else json.dumps(body)
    return getattr(Client(), method)(path, data, content_type=content_type, CONTENT_TYPE=content_type)


def issue(client, secret):
    return send("post", {"clientId": client.client_id, "clientSecret": secret})


def refresh(refresh_token):
    return send("patch", {"refreshToken": refresh_token})


def whoami(access_token):
    return Client().get("/v1/whoami", headers={"X-Access-Token": access_token})


def assert_invalid_grant(response):
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def leave_grace_window(settings):
    """Move every rotation back in time so that it lies outside REFRESH_GRACE_SECONDS."""
    past = timedelta(seconds=settings.REFRESH_GRACE_SECONDS + 1)
    RefreshToken.objects.filter(used_at__isnull=False).update(used_at=F("used_at") - past)


@pytest.fixture
def oauth(group):
    return make_oauth_client(group)


@pytest.fixture
def pair(oauth):
    """The body of a first issue: RT1 and AT1."""
    return issue(*oauth).json()


@pytest.fixture
def clock(monkeypatch):
    """timezone.now() under the test's control, starting at the real time."""
    state = SimpleNamespace(now=timezone.now())
    state.advance = lambda seconds: setattr(state, "now", state.now + timedelta(seconds=seconds))
    monkeypatch.setattr(timezone, "now", lambda: state.now)
    return state


def test_client_id_and_secret_issue_a_token_pair(oauth):
    response = issue(*oauth)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == PAIR_KEYS
    assert (body["tokenType"], body["expiresIn"], body["refreshTokenExpiresIn"]) == ("Bearer", 3600, 86400)
    assert body["accessToken"].startswith("gpa_") and body["refreshToken"].startswith("gpr_")
    assert TokenFamily.objects.get().client == oauth[0]


def test_issued_pair_is_json_and_never_cached(oauth):
    response = issue(*oauth)

    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_issued_access_token_authenticates_as_the_client(oauth, pair):
    response = whoami(pair["accessToken"])

    assert response.status_code == 200
    assert response.json()["auth"] == {"method": "access_token", "credential": "Checkout", "slot": None}


def test_unknown_client_id_is_invalid_client(oauth):
    _, secret = oauth

    response = send("post", {"clientId": secrets.generate_client_id(), "clientSecret": secret})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not TokenFamily.objects.exists()


def test_another_clients_secret_is_invalid_client_and_writes_nothing(group, oauth):
    client, _ = oauth
    _, other_secret = make_oauth_client(group, name="Refunds")

    response = send("post", {"clientId": client.client_id, "clientSecret": other_secret})

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not (TokenFamily.objects.exists() or AccessToken.objects.exists() or RefreshToken.objects.exists())


def test_wrong_secret_is_invalid_client(oauth):
    client, _ = oauth

    response = send(
        "post", {"clientId": client.client_id, "clientSecret": secrets.generate(Kind.CLIENT_SECRET)}
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert not TokenFamily.objects.exists()


def test_unknown_client_id_and_wrong_secret_answer_identically(oauth):
    client, secret = oauth
    wrong = secrets.generate(Kind.CLIENT_SECRET)

    unknown = send("post", {"clientId": secrets.generate_client_id(), "clientSecret": secret})
    wrong_secret = send("post", {"clientId": client.client_id, "clientSecret": wrong})

    assert (unknown.status_code, unknown.content) == (wrong_secret.status_code, wrong_secret.content)
    per_response = {"Date", "X-Request-ID"}
    headers = [{k: v for k, v in r.headers.items() if k not in per_response} for r in (unknown, wrong_secret)]
    assert headers[0] == headers[1]


@pytest.mark.parametrize(
    "body",
    ['{"clientId": "a", ', "not json", "", "[1, 2]", '"text"', "null", "42", "[]"],
    ids=["truncated", "not-json", "empty", "array", "string", "null", "number", "empty-array"],
)
def test_malformed_or_non_object_json_is_invalid_request(oauth, body):
    response = send("post", body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"clientId": "x"},
        {"clientSecret": "x"},
        {"clientId": "", "clientSecret": "x"},
        {"clientId": 1, "clientSecret": "x"},
        {"clientId": "x", "clientSecret": None},
        {"clientId": ["x"], "clientSecret": {"a": 1}},
    ],
    ids=["none", "no-secret", "no-id", "empty-id", "number-id", "null-secret", "list-and-object"],
)
def test_missing_empty_or_non_string_fields_are_invalid_request(oauth, fields):
    response = send("post", fields)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not TokenFamily.objects.exists()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", ""])
def test_wrong_content_type_is_invalid_request(oauth, content_type):
    client, secret = oauth

    response = send("post", {"clientId": client.client_id, "clientSecret": secret}, content_type)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert not TokenFamily.objects.exists()


def test_credentials_in_the_query_string_are_not_read(oauth):
    client, secret = oauth

    response = send("post", {}, path=f"/v1/tokens?clientId={client.client_id}&clientSecret={secret}")

    assert response.status_code == 400
    assert not TokenFamily.objects.exists()


def test_body_larger_than_the_limit_is_413(oauth, settings):
    client, secret = oauth
    body = {
        "clientId": client.client_id,
        "clientSecret": secret,
        "pad": "x" * settings.TOKEN_REQUEST_MAX_BYTES,
    }

    response = send("post", body)

    assert response.status_code == 413
    assert not TokenFamily.objects.exists()


def test_refresh_returns_a_new_pair_of_the_same_shape(pair):
    response = refresh(pair["refreshToken"])

    assert response.status_code == 200
    body = response.json()
    assert set(body) == PAIR_KEYS
    assert (body["tokenType"], body["expiresIn"]) == ("Bearer", 3600)
    assert body["accessToken"] != pair["accessToken"]
    assert body["refreshToken"] != pair["refreshToken"]
    assert whoami(body["accessToken"]).json()["auth"]["credential"] == "Checkout"


def statements(queries):
    """The SQL statements sent, without the transaction control around them."""
    control = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "BEGIN", "COMMIT")
    return [query["sql"] for query in queries if not query["sql"].upper().startswith(control)]


def test_rotation_locks_the_family_then_marks_the_token_used(pair):
    """In one statement on PostgreSQL (data-modifying WITH queries), in four elsewhere."""
    with CaptureQueriesContext(connection) as queries:
        assert refresh(pair["refreshToken"]).status_code == 200

    sent = statements(queries.captured_queries)
    if connection.vendor == "postgresql":
        (statement,) = sent
        family, use, *inserts = statement.split("), ")
        assert TokenFamily._meta.db_table in family and family.endswith(" FOR UPDATE OF f")
        assert RefreshToken._meta.db_table in use and "SET used_at" in use and "used_at IS NULL" in use
        tables = [insert.split()[4] for insert in inserts]
        assert tables == [AccessToken._meta.db_table, RefreshToken._meta.db_table]
        return
    lookup, use, *inserts = sent
    assert lookup.startswith("SELECT") and RefreshToken._meta.db_table in lookup
    assert TokenFamily._meta.db_table in lookup  # SQLite: its write transaction is the lock
    assert use.startswith(f"UPDATE {RefreshToken._meta.db_table}") and "used_at IS NULL" in use
    tables = [insert.split()[2] for insert in inserts]
    assert tables == [AccessToken._meta.db_table, RefreshToken._meta.db_table]


def test_refresh_is_json_and_never_cached(pair):
    response = refresh(pair["refreshToken"])

    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


def test_used_refresh_token_stops_working(settings, pair):
    assert refresh(pair["refreshToken"]).status_code == 200
    leave_grace_window(settings)

    assert_invalid_grant(refresh(pair["refreshToken"]))


def test_rotation_keeps_the_first_issues_absolute_expiry(clock, oauth):
    first = issue(*oauth).json()
    clock.advance(600)
    second = refresh(first["refreshToken"]).json()
    clock.advance(600)
    third = refresh(second["refreshToken"]).json()

    assert [b["refreshTokenExpiresIn"] for b in (first, second, third)] == [86400, 85800, 85200]
    assert TokenFamily.objects.get().expires_at == clock.now - timedelta(seconds=1200) + timedelta(days=1)


@pytest.mark.parametrize(
    "token",
    [secrets.generate(Kind.REFRESH_TOKEN), "garbage", "gpr_" + "A" * 49, secrets.generate(Kind.ACCESS_TOKEN)],
    ids=["unknown", "garbage", "bad-checksum", "an-access-token"],
)
def test_unknown_or_garbage_refresh_token_is_invalid_grant(pair, token):
    response = refresh(token)

    assert_invalid_grant(response)
    assert response["Cache-Control"] == "no-store"
    assert refresh(pair["refreshToken"]).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"refreshToken": ""}, {"refreshToken": 5}, "[]", "{"],
    ids=["none", "empty", "number", "array", "bad"],
)
def test_malformed_refresh_request_is_invalid_request(pair, body):
    response = send("patch", body)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_refresh_with_a_form_body_is_invalid_request(pair):
    response = send("patch", f"refreshToken={pair['refreshToken']}", "application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_reuse_of_a_rotated_refresh_token_revokes_the_whole_family(settings, pair):
    second = refresh(pair["refreshToken"]).json()
    third = refresh(second["refreshToken"]).json()
    leave_grace_window(settings)

    assert_invalid_grant(refresh(pair["refreshToken"]))
    assert_invalid_grant(refresh(third["refreshToken"]))
    assert whoami(third["accessToken"]).status_code == 401
    assert TokenFamily.objects.get().revoked_at is not None


def test_reuse_is_recorded_in_activity(settings, group, pair):
    refresh(pair["refreshToken"])
    leave_grace_window(settings)

    refresh(pair["refreshToken"])

    activity = Activity.objects.get(group=group, action="oauth_client.refresh_reuse")
    assert activity.target == "Checkout"
    assert "gpr_" not in activity.target


def test_previous_token_inside_the_grace_window_gets_a_fresh_pair(pair):
    lost = refresh(pair["refreshToken"]).json()

    retry = refresh(pair["refreshToken"])

    assert retry.status_code == 200
    fresh = retry.json()
    assert fresh["refreshToken"] not in (lost["refreshToken"], pair["refreshToken"])
    assert whoami(fresh["accessToken"]).status_code == 200
    assert refresh(fresh["refreshToken"]).status_code == 200


def test_grace_retry_revokes_the_pair_of_the_lost_response(pair):
    lost = refresh(pair["refreshToken"]).json()

    fresh = refresh(pair["refreshToken"]).json()

    assert whoami(lost["accessToken"]).status_code == 401
    assert whoami(fresh["accessToken"]).status_code == 200
    assert_invalid_grant(refresh(lost["refreshToken"]))


def test_previous_token_a_third_time_revokes_the_family(pair):
    refresh(pair["refreshToken"])
    fresh = refresh(pair["refreshToken"]).json()

    assert_invalid_grant(refresh(pair["refreshToken"]))
    assert_invalid_grant(refresh(fresh["refreshToken"]))
    assert whoami(fresh["accessToken"]).status_code == 401


def test_previous_token_after_the_grace_window_revokes_the_family(settings, pair):
    second = refresh(pair["refreshToken"]).json()
    leave_grace_window(settings)

    assert_invalid_grant(refresh(pair["refreshToken"]))
    assert whoami(second["accessToken"]).status_code == 401
    assert_invalid_grant(refresh(second["refreshToken"]))


def test_token_two_generations_back_inside_the_grace_window_revokes_the_family(pair):
    """django-oauth-toolkit #1617: the grace window must not revive older generations."""
    second = refresh(pair["refreshToken"]).json()
    third = refresh(second["refreshToken"]).json()

    assert_invalid_grant(refresh(pair["refreshToken"]))
    assert_invalid_grant(refresh(third["refreshToken"]))
    assert whoami(third["accessToken"]).status_code == 401
