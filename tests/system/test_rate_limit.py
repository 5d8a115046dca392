"""A credential's rate limit counted by two app servers (two gunicorn masters) sharing Redis."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.system.conftest import seed
from tests.system.support import call

LABEL = "rate limit"
pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
LIMIT, REQUESTS, PARALLEL = 300, 1000, 16


@pytest.fixture(scope="module")
def servers(start_portal):
    return start_portal("limit-a", POOL="api"), start_portal("limit-b", POOL="api")


def test_two_servers_let_the_limit_through_within_five_percent(servers, traffic):
    data = seed()
    data.credential.set_rate_limit(LIMIT, data.credential.version, data.owner)
    headers = {"X-Api-Key": data.keys["primary"]}

    def one(n):  # alternately on A and B, and on both slots' behalf of one credential
        traffic.count()
        return call(servers[n % 2].port, "GET", "/v1/whoami", headers).status

    with ThreadPoolExecutor(PARALLEL) as pool:
        statuses = list(pool.map(one, range(REQUESTS)))

    passed, limited = statuses.count(200), statuses.count(429)
    assert passed + limited == REQUESTS, f"other answers: {set(statuses) - {200, 429}}"
    assert abs(passed - LIMIT) <= LIMIT * 0.05
    traffic.figures.append(f"{passed} of {REQUESTS} requests passed a limit of {LIMIT}/min on 2 servers")
    print(f"rate limit: {passed} of {REQUESTS} passed against {LIMIT} per minute, 2 servers sharing Redis")


def test_verify_refuses_with_a_reason_on_either_server(servers, traffic):
    data = seed("Limited")
    data.credential.set_rate_limit(2, data.credential.version, data.owner)
    headers = {"X-Api-Key": data.keys["secondary"]}
    for server in servers:
        passed = traffic.send(server.port, "GET", "/v1/verify", headers, expect=204)
        assert passed.headers["ratelimit-limit"] == "2"

    for server in servers:
        refused = traffic.send(server.port, "GET", "/v1/verify", headers, expect=403)
        assert refused.headers["x-auth-refused"] == "rate-limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
