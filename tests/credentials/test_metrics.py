"""What the hot path and the token endpoints count (portal.metrics), read from this process's registry."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from credentials.models import AccessToken, ApiKey, RefreshToken
from groups.models import Group, Role
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

    def verified(self, method, outcome, group):
        """How many verifications were counted with these labels since the snapshot."""
        return self.grew("portal_verifications_total", method=method, outcome=outcome, group=group)


@pytest.fixture
def counts():
    return Counts()


def verify(headers, **extra):
    return Client().get("/v1/verify", headers=headers, **extra)


def test_an_accepted_key_is_counted_for_its_group(group, counts):
    _, values = make_api_key(group)

    assert verify({"X-Api-Key": values["primary"]}).status_code == 204

    assert counts.verified("key", "accepted", group.slug) == 1
    answered = {"endpoint": "verify", "method": "get", "status": "204"}
    assert counts.grew("portal_api_request_duration_seconds_count", **answered) == 1


def test_a_wrong_key_is_counted_without_a_group(group, counts):
    _, values = make_api_key(group)

    assert verify({"X-Api-Key": values["primary"][:-4] + "AAAA"}).status_code == 401
    assert verify({}).status_code == 401

    assert counts.verified("key", "wrong", "-") == 1
    assert counts.verified("-", "wrong", "-") == 1


def test_keys_refused_for_expiry_age_or_suspension_are_counted_apart_for_their_group(group, counts):
    expired, expired_values = make_api_key(group, "Expired app")
    expired.set_expiry(timezone.now() - timedelta(minutes=1), expired.version, None)
    old_group = Group.objects.create(name="Old keys", slug="old-keys")
    _, old_values = make_api_key(old_group)
    ApiKey.objects.filter(credential__group=old_group).update(created_at=timezone.now() - timedelta(days=40))
    old_group.set_policy(30, True, None)
    suspended_group = Group.objects.create(name="Suspended", slug="suspended")
    _, suspended_values = make_api_key(suspended_group)
    suspended_group.suspend(None)

    answers = [
        verify({"X-Api-Key": values["primary"]}) for values in (expired_values, old_values, suspended_values)
    ]

    # The caller learns no more than from a wrong key.
    wrong = verify({"X-Api-Key": expired_values["primary"][:-4] + "AAAA"})
    assert {(answer.status_code, answer.content) for answer in answers} == {(401, wrong.content)}
    assert counts.verified("key", "expired", group.slug) == 1
    assert counts.verified("key", "expired", "old-keys") == 1
    assert counts.verified("key", "suspended", "suspended") == 1
    assert counts.verified("key", "wrong", "-") == 1


def test_tokens_refused_as_revoked_or_expired_are_counted_apart_for_their_group(group, counts):
    client, _ = make_oauth_client(group)
    revoked, revoked_token = issue_access_token(client)
    expired, expired_token = issue_access_token(client)
    AccessToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    AccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert verify({"X-Access-Token": revoked_token}).status_code == 401
    assert Client().get("/v1/whoami", headers={"Authorization": f"Bearer {expired_token}"}).status_code == 401
    group.suspend(None)
    _, suspended_token = issue_access_token(client)
    assert verify({"X-Access-Token": suspended_token}).status_code == 401

    assert counts.verified("token", "revoked", group.slug) == 1
    assert counts.verified("token", "expired", group.slug) == 1
    assert counts.verified("token", "suspended", group.slug) == 1


def test_a_token_without_the_scope_is_counted_as_scope(group, counts):
    client, _ = make_oauth_client(group)
    _, token = issue_access_token(client)
    client.set_scopes(["billing"], client.version, None)

    assert verify({"X-Access-Token": token, "X-Required-Scope": "orders"}).status_code == 403

    assert counts.verified("token", "scope", group.slug) == 1


def test_a_key_from_outside_its_networks_is_counted_as_address(group, counts):
    credential, values = make_api_key(group)
    credential.set_allowed_networks("10.0.0.0/8", credential.version, None)

    assert verify({"X-Api-Key": values["primary"]}).status_code == 403

    assert counts.verified("key", "address", group.slug) == 1


def test_a_key_over_its_rate_limit_is_counted_as_rate_limited(group, counts):
    credential, values = make_api_key(group)
    credential.set_rate_limit(1, credential.version, None)

    verify({"X-Api-Key": values["primary"]})
    assert verify({"X-Api-Key": values["primary"]}).status_code == 403

    assert counts.verified("key", "rate_limited", group.slug) == 1


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
