"""The client lockout under concurrency: bursts of wrong secrets from one address, answered by
several gunicorn workers at once, on PostgreSQL and on SQLite."""

import pytest
from django.conf import settings
from django.db import connection

from credentials import secrets
from tests.system.support import (
    GRANT,
    basic_auth,
    call,
    described,
    kept_lockout,
    spread_of_401s,
    wrong_secrets,
)

LABEL = "lockout burst"
pytestmark = [pytest.mark.system(sqlite=True), pytest.mark.django_db(transaction=True)]
THRESHOLD = settings.LOCKOUT_THRESHOLD
WRONG_SECRETS, PARALLEL = 96, 16
# Many short bursts, each for a fresh client ID: a race around the threshold shows in some of them.
ROUNDS, ROUND = 30, 12
# More workers than cores: the more requests overlap around the threshold, the likelier a race shows.
WORKERS = 4


def test_parallel_wrong_secrets_lock_after_exactly_the_threshold(serve_client, traffic):
    portal, client_id, secret = serve_client(WORKERS)
    statuses = wrong_secrets(portal.port, client_id, WRONG_SECRETS, PARALLEL)
    right = call(portal.port, "POST", "/v2/tokens", basic_auth(client_id, secret), GRANT)

    traffic.sent += WRONG_SECRETS + 1
    traffic.failures += WRONG_SECRETS + 1 - kept_lockout(statuses, THRESHOLD) - (right.status == 429)
    traffic.figures.append(
        f"{connection.vendor}, {WORKERS} workers: {WRONG_SECRETS} wrong secrets, {PARALLEL} at a time:"
        f" {described(statuses)}; then the right secret: {right.status}"
    )
    assert kept_lockout(statuses, THRESHOLD) == WRONG_SECRETS, statuses  # ≤ THRESHOLD 401s, then 429s
    assert right.status == 429


def test_every_fresh_client_id_locks_after_exactly_the_threshold(serve_client, traffic):
    """An unknown client ID is counted and locked exactly like a known one (README, "Lockout")."""
    portal, _, _ = serve_client(WORKERS)
    rounds = [wrong_secrets(portal.port, secrets.generate_client_id(), ROUND, ROUND) for _ in range(ROUNDS)]

    traffic.sent += ROUNDS * ROUND
    traffic.failures += sum(ROUND - kept_lockout(statuses, THRESHOLD) for statuses in rounds)
    traffic.figures.append(
        f"{connection.vendor}, {WORKERS} workers: {ROUNDS} rounds of {ROUND} wrong secrets at once, each"
        f" for a fresh client ID: {spread_of_401s(rounds, THRESHOLD)}"
    )
    broken = [described(statuses) for statuses in rounds if kept_lockout(statuses, THRESHOLD) != ROUND]
    assert not broken, f"rounds answered other than ≤ {THRESHOLD} × 401, then 429: {broken}"
