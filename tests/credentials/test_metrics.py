"""What the hot path and the token endpoints count (portal.metrics), read from this process's registry."""

import json

import pytest
from django.test import Client
from prometheus_client import REGISTRY

from credentials.models import RefreshToken
from groups.models import Role
from tests.conftest import issue_access_token, make_api_key, make_member, make_oauth_client
from tests.credentials.test_token_v2 import basic, post


class Counts:
    """Each sample's value now, and how much it grew since the last snapshot."""

    def __init__(self):
        self.before = self.now()

    @staticmethod
    def now():
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for metric in REGISTRY.collect()
            if metric.name.startswith("portal_")
            for sample in metric.samples
        }

    def grew(self, name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return self.now().get(key, 0) - self.before.get(key, 0)


@pytest.fixture
def counts():
    return Counts()


def verify(headers, **extra):
    return Client().get("/v1/verify", headers=headers, **extra)


def test_an_accepted_key_is_counted_for_its_group(group, counts):
    _, values = make_api_key(group)

    assert verify({"X-Api-Key": values["primary"]}).status_code == 204

    assert counts.grew("portal_verifications_total", method="key", outcome="accepted", group=group.slug) == 1
    answered = {"endpoint": "verify", "method": "get", "status": "204"}
    assert counts.grew("portal_api_request_duration_seconds_count", **answered) == 1


def test_a_wrong_key_is_counted_without_a_group(group, counts):
    _, values = make_api_key(group)

    assert verify({"X-Api-Key": values["primary"][:-4] + "AAAA"}).status_code == 401
    assert verify({}).status_code == 401

    assert counts.grew("portal_verifications_total", method="key", outcome="refused", group="-") == 1
    assert counts.grew("portal_verifications_total", method="-", outcome="refused", group="-") == 1


def test_a_token_without_the_scope_is_counted_as_scope(group, counts):
    client, _ = make_oauth_client(group)
    _, token = issue_access_token(client)
    client.set_scopes(["billing"], client.version, None)

    assert verify({"X-Access-Token": token, "X-Required-Scope": "orders"}).status_code == 403

    assert counts.grew("portal_verifications_total", method="token", outcome="scope", group=group.slug) == 1


def test_a_key_from_outside_its_networks_is_counted_as_address(group, counts):
    credential, values = make_api_key(group)
    credential.set_allowed_networks("10.0.0.0/8", credential.version, None)

    assert verify({"X-Api-Key": values["primary"]}).status_code == 403

    assert counts.grew("portal_verifications_total", method="key", outcome="address", group=group.slug) == 1


def test_a_key_over_its_rate_limit_is_counted_as_rate_limited(group, counts):
    credential, values = make_api_key(group)
    credential.set_rate_limit(1, credential.version, None)

    verify({"X-Api-Key": values["primary"]})
    assert verify({"X-Api-Key": values["primary"]}).status_code == 403

    labels = {"method": "key", "outcome": "rate_limited", "group": group.slug}
    limited = counts.grew("portal_verifications_total", **labels)
    assert limited == 1


def test_the_verification_memory_counts_hits_and_misses(group, counts, settings):
    settings.VERIFY_CACHE_SECONDS = 60
    _, values = make_api_key(group)

    for _ in range(3):
        Client().get("/v1/whoami", headers={"X-Api-Key": values["primary"]})

    assert counts.grew("portal_verification_memory_lookups_total", result="miss") == 1
    assert counts.grew("portal_verification_memory_lookups_total", result="hit") == 2


def test_tokens_issued_rotated_reused_and_revoked_are_counted(group, counts):
    client, secret = make_oauth_client(group)
    body = {"clientId": client.client_id, "clientSecret": secret}
    pair = Client().post("/v1/tokens", json.dumps(body), content_type="application/json").json()
    refresh = json.dumps({"refreshToken": pair["refreshToken"]})
    assert Client().patch("/v1/tokens", refresh, content_type="application/json").status_code == 200
    assert post({}, basic(client.client_id, secret)).status_code == 200

    RefreshToken.objects.update(grace_used=True)  # past the one retry the grace allows
    assert Client().patch("/v1/tokens", refresh, content_type="application/json").status_code == 400
    _, token = issue_access_token(client)
    revoke = post({"token": token}, basic(client.client_id, secret), path="/v2/tokens/revoke")
    assert revoke.status_code == 200

    assert counts.grew("portal_tokens_issued_total", endpoint="v1/tokens") == 1
    assert counts.grew("portal_tokens_issued_total", endpoint="v2/tokens") == 1
    assert counts.grew("portal_refresh_rotations_total") == 1
    assert counts.grew("portal_refresh_token_reuse_total") == 1
    assert counts.grew("portal_token_revocations_total", kind="access_token") == 1
    rotated = {"endpoint": "tokens-v1", "method": "patch", "status": "200"}
    assert counts.grew("portal_api_request_duration_seconds_count", **rotated) == 1
    reused = {"endpoint": "tokens-v1", "method": "patch", "status": "400"}
    assert counts.grew("portal_api_request_duration_seconds_count", **reused) == 1


def test_a_client_lockout_and_its_failures_are_counted(group, counts, settings):
    settings.LOCKOUT_THRESHOLD = 2
    client, _ = make_oauth_client(group)

    for _ in range(3):
        post({}, basic(client.client_id, "gps_wrong"))

    assert counts.grew("portal_client_auth_failures_total") == 3
    assert counts.grew("portal_lockouts_total", kind="client") == 1


def test_sign_in_failures_and_lockouts_are_counted(group, counts, settings):
    make_member(group, Role.VIEWER, "vic")

    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/accounts/login/", {"username": "vic", "password": "wrong"})

    assert counts.grew("portal_sign_in_failures_total") == settings.AXES_FAILURE_LIMIT
    assert counts.grew("portal_lockouts_total", kind="sign_in") == 1
