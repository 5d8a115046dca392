"""The client lockout under concurrency: a burst of wrong secrets from one address, answered by
several gunicorn workers at once, on PostgreSQL and on SQLite."""

from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from credentials import secrets
from credentials.secrets import Kind
from tests.system.support import basic_auth, burst, call

LABEL = "lockout burst"
pytestmark = [pytest.mark.system(sqlite=True), pytest.mark.django_db(transaction=True)]
GRANT = "grant_type=client_credentials"
WRONG_SECRETS, PARALLEL = 96, 16
# More workers than cores: the more requests overlap around the threshold, the likelier a race shows.
WORKERS = 4


def test_parallel_wrong_secrets_lock_after_exactly_the_threshold(serve_client, traffic):
    portal, client_id, secret = serve_client(WORKERS)
    wrong = basic_auth(client_id, secrets.generate(Kind.CLIENT_SECRET))  # well-formed: it is looked up
    answers = burst(portal.port, "POST", "/v2/tokens", wrong, GRANT, WRONG_SECRETS, PARALLEL)
    right = call(portal.port, "POST", "/v2/tokens", basic_auth(client_id, secret), GRANT)

    statuses = Counter(answer.status if answer else "none" for answer in answers)
    as_promised = min(statuses[401], settings.LOCKOUT_THRESHOLD) + statuses[429] + (right.status == 429)
    traffic.sent += WRONG_SECRETS + 1
    traffic.failures += WRONG_SECRETS + 1 - as_promised
    answered = ", ".join(f"{status} ×{count}" for status, count in sorted(statuses.items(), key=str))
    traffic.figures.append(
        f"{connection.vendor}, {portal.workers} workers: {WRONG_SECRETS} wrong secrets, {PARALLEL} at a"
        f" time: {answered}; then the right secret: {right.status}"
    )
    assert statuses[401] <= settings.LOCKOUT_THRESHOLD, statuses
    assert statuses[401] + statuses[429] == WRONG_SECRETS, statuses  # no 5xx, none unanswered
    assert all(int(a.headers.get("retry-after", 0)) > 0 for a in answers if a and a.status == 429)
    assert right.status == 429
