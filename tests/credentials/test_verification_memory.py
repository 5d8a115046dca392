"""Each worker remembers verified credentials for VERIFY_CACHE_SECONDS, and no longer."""

import pytest

from credentials.models import Slot
from credentials.verification import RecentlyVerified, recently_verified
from tests.conftest import make_api_key, make_group, make_oauth_client


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(settings, monkeypatch):
    settings.VERIFY_CACHE_SECONDS = 1
    fake = Clock()
    monkeypatch.setattr(recently_verified, "clock", fake)
    recently_verified.clear()
    yield fake
    recently_verified.clear()


def whoami(client, **headers):
    return client.get("/v1/whoami", headers=headers)


def test_a_remembered_key_costs_no_query(db, client, clock, django_assert_num_queries):
    _, values = make_api_key(make_group())
    assert whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]}).status_code == 200

    with django_assert_num_queries(0):
        response = whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]})

    assert response.json()["auth"]["slot"] == "primary"


def test_a_regenerated_key_is_refused_within_the_cache_lifetime(db, client, clock):
    credential, values = make_api_key(make_group())
    assert whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]}).status_code == 200

    credential.regenerate(Slot.PRIMARY)
    clock.now += 0.5
    still_remembered = whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]})
    clock.now += 0.5

    assert still_remembered.status_code == 200
    assert whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]}).status_code == 401


def test_a_revoked_token_is_refused_after_the_cache_lifetime(db, client, clock):
    oauth_client, _ = make_oauth_client(make_group())
    token, raw = oauth_client.issue_access_token()
    assert whoami(client, **{"X-Access-Token": raw}).status_code == 200

    token.revoke()
    clock.now += 1

    assert whoami(client, **{"X-Access-Token": raw}).status_code == 401


def test_a_deleted_credential_is_refused_after_the_cache_lifetime(db, client, clock):
    credential, values = make_api_key(make_group())
    assert whoami(client, **{"X-Api-Key": values[Slot.SECONDARY]}).status_code == 200

    credential.delete()
    clock.now += 1

    assert whoami(client, **{"X-Api-Key": values[Slot.SECONDARY]}).status_code == 401


def test_refusals_are_not_remembered(db, client, clock):
    assert whoami(client, **{"X-Api-Key": "gpk_" + "A" * 49}).status_code == 401

    assert not recently_verified.entries


def test_the_memory_is_bounded(settings):
    settings.VERIFY_CACHE_SECONDS = 1
    memory = RecentlyVerified(capacity=2, clock=Clock())
    for digest in ("a", "b", "c"):
        memory.put(digest, digest.upper())

    assert list(memory.entries) == ["b", "c"]
    assert memory.get("a") is None and memory.get("c") == "C"


def test_remembered_digests_not_values(db, client, clock):
    _, values = make_api_key(make_group())
    whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]})

    assert values[Slot.PRIMARY] not in recently_verified.entries
    assert all(len(digest) == 64 for digest in recently_verified.entries)
