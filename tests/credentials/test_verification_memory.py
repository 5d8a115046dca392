"""Each worker remembers verified credentials for VERIFY_CACHE_SECONDS, and no longer."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from credentials.models import AccessToken, Identity, Slot
from credentials.verification import RecentlyVerified, recently_verified
from tests.conftest import issue_access_token, make_api_key, make_group, make_oauth_client


def identity(name, expires_at=None):
    return Identity(name, name.upper(), "access_token", f"client {name}", None, expires_at)


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

    credential.regenerate(Slot.PRIMARY, credential.version, None)
    clock.now += 0.5
    still_remembered = whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]})
    clock.now += 0.5

    assert still_remembered.status_code == 200
    assert whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]}).status_code == 401


def test_a_revoked_token_is_refused_after_the_cache_lifetime(db, client, clock):
    oauth_client, _ = make_oauth_client(make_group())
    token, raw = issue_access_token(oauth_client)
    assert whoami(client, **{"X-Access-Token": raw}).status_code == 200

    AccessToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
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
    identities = {digest: identity(digest) for digest in ("a", "b", "c")}
    for digest, remembered in identities.items():
        memory.put(digest, remembered)

    assert list(memory.entries) == ["b", "c"]
    assert memory.get("a") is None and memory.get("c") == identities["c"]


def test_remembered_digests_not_values(db, client, clock):
    _, values = make_api_key(make_group())
    whoami(client, **{"X-Api-Key": values[Slot.PRIMARY]})

    assert values[Slot.PRIMARY] not in recently_verified.entries
    assert all(len(digest) == 64 for digest in recently_verified.entries)


def test_a_token_is_never_remembered_past_its_expiry(settings):
    settings.VERIFY_CACHE_SECONDS = 60
    clock = Clock()
    memory = RecentlyVerified(clock=clock)
    memory.put("a", identity("a", expires_at=timezone.now() + timedelta(seconds=0.5)))
    memory.put("b", identity("b", expires_at=timezone.now() - timedelta(seconds=1)))

    clock.now += 0.5

    assert memory.get("a") is None and memory.get("b") is None


def test_threads_sharing_the_memory_never_fail(settings):
    settings.VERIFY_CACHE_SECONDS = 0.001
    memory, failures = RecentlyVerified(capacity=8), []

    def hammer():
        try:
            for n in range(3000):
                digest = str(n % 16)
                memory.put(digest, identity(digest))
                memory.get(str((n + 5) % 16))
        except Exception as error:
            failures.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []


def test_the_time_counts_from_before_the_database_was_read(clock):
    """A slow read (a busy worker) does not stretch the bound: a change committed while the
    answer was on its way is refused VERIFY_CACHE_SECONDS after the read began."""
    from credentials.verification import _remembered

    def slow_lookup():
        clock.now += 0.4  # the database answered 0.4 s after the read began
        return identity("slow")

    assert _remembered("digest-slow", slow_lookup) == identity("slow")
    clock.now += 0.5  # 0.9 s after the read began: still remembered
    assert recently_verified.get("digest-slow") == identity("slow")
    clock.now += 0.1  # 1 s after the read began, 0.6 s after it was remembered
    assert recently_verified.get("digest-slow") is None
