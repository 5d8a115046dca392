"""R1: concurrent PATCH /v1/tokens with one refresh token, against a live server on PostgreSQL.

Each request runs in its own server thread with its own database connection, so only the row lock
in RefreshToken.objects.rotate keeps two of them from rotating the same token.
"""

import json
import threading
import urllib.request
from collections import Counter
from urllib.error import HTTPError, URLError

import pytest
from django.db import connection

from tests.conftest import make_group, make_oauth_client

THREADS, ROUNDS = 20, 5


def call(url, method, body=None, headers=None):
    """(status, parsed JSON body or raw bytes) of one HTTP request; (0, error) if it never got an answer."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **(headers or {})}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 (test server URL)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, content = response.status, response.read()
    except HTTPError as error:
        status, content = error.code, error.read()
    except (URLError, ConnectionError) as error:
        return 0, repr(error)
    try:
        return status, json.loads(content) if content else None
    except ValueError:
        return status, content


def race(url, refresh_token):
    """THREADS simultaneous refreshes with the same token, released together by a barrier."""
    barrier, answers = threading.Barrier(THREADS), [None] * THREADS

    def refresh(n):
        barrier.wait()
        answers[n] = call(f"{url}/v1/tokens", "PATCH", {"refreshToken": refresh_token})

    threads = [threading.Thread(target=refresh, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def assert_round(url, client, secret, number):
    status, pair = call(f"{url}/v1/tokens", "POST", {"clientId": client.client_id, "clientSecret": secret})
    assert status == 201, pair
    answers = race(url, pair["refreshToken"])
    statuses = Counter(status for status, _ in answers)
    print(f"round {number}: {dict(sorted(statuses.items()))}")

    assert not [status for status in statuses if status >= 500 or status == 0], answers
    assert statuses[200] <= 2
    assert all(body["error"] == "invalid_grant" for status, body in answers if status != 200), answers
    for body in [body for status, body in answers if status == 200]:
        assert call(f"{url}/v1/tokens", "PATCH", {"refreshToken": body["refreshToken"]})[0] == 400
        assert call(f"{url}/v1/whoami", "GET", headers={"X-Access-Token": body["accessToken"]})[0] == 401


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_rotate_it_at_most_once_plus_one_retry(live_server):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: run with DATABASE_URL=postgres://...")
    client, secret = make_oauth_client(make_group())

    for number in range(1, ROUNDS + 1):
        assert_round(live_server.url, client, secret, number)
