"""Two app servers (two gunicorn masters on two ports) sharing PostgreSQL and Redis."""

import time

import pytest
from django.conf import settings

from credentials.models import Lockout
from tests.system.conftest import MEMORY_SECONDS, seed
from tests.system.support import Poller, basic_auth, regenerate_key, sign_in

LABEL = "two servers"
pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
GRANT = "grant_type=client_credentials"


@pytest.fixture(scope="module")
def servers(start_portal):
    return start_portal("server-a"), start_portal("server-b")


def test_token_issued_by_a_works_on_b(servers, traffic):
    a, b = servers
    data = seed()
    headers = basic_auth(data.client.client_id, data.secret)
    issued = traffic.send(a.port, "POST", "/v2/tokens", headers, GRANT, expect=200)
    token = issued.json()["access_token"]

    verified = traffic.send(b.port, "GET", "/v1/verify", {"X-Access-Token": token}, expect=204)
    assert verified.headers["x-auth-group"] == data.group.slug
    assert verified.headers["x-auth-method"] == "access_token"
    whoami = traffic.send(b.port, "GET", "/v1/whoami", {"Authorization": f"Bearer {token}"}, expect=200)
    assert whoami.json()["auth"]["credential"] == "Checkout"


def test_key_regenerated_through_a_is_refused_by_b_within_one_second(servers, traffic):
    a, b = servers
    data = seed()
    browser = sign_in(a, data.owner.username, data.password)  # fresh: Regenerate asks for it
    application = Poller(traffic, b.port, "/v1/verify", {"X-Api-Key": data.keys["primary"]}, 204)
    application.start()  # uses the key on B all along; B's workers remember it (1 s)
    application.wait_until_in_use()

    new_value = regenerate_key(a, browser, data.group.slug, data.credential.public_id)
    changed_at = time.monotonic()
    traffic.send(b.port, "GET", "/v1/verify", {"X-Api-Key": new_value}, expect=204)  # at once
    refusal = application.refusal(changed_at)

    # The memory was filled before the commit, so nothing sent a second after the change passes
    # (and refusal() saw refusals after the last acceptance).
    assert refusal.last_accepted is None or refusal.last_accepted < MEMORY_SECONDS
    traffic.send(b.port, "GET", "/v1/verify", {"X-Api-Key": data.keys["secondary"]}, expect=204)
    still = "never" if refusal.last_accepted is None else f"until {refusal.last_accepted:.2f} s"
    traffic.figures.append(
        f"key regenerated through A refused by B after {refusal.refused_from:.2f} s"
        f" (accepted {still}, {refusal.polls} polls)"
    )


def test_lockout_counts_failures_on_both_servers(servers, traffic):
    a, b = servers
    data = seed()
    wrong = basic_auth(data.client.client_id, "not-the-secret")
    threshold = settings.LOCKOUT_THRESHOLD
    for attempt in range(threshold):  # A, B, A, B, A: neither server alone sees the threshold
        server = servers[attempt % 2]
        traffic.send(server.port, "POST", "/v2/tokens", wrong, GRANT, expect=401)

    right = basic_auth(data.client.client_id, data.secret)
    for server in (b, a):
        locked = traffic.send(server.port, "POST", "/v2/tokens", right, GRANT, expect=429)
        assert int(locked.headers["retry-after"]) > 0
    assert (
        Lockout.objects.filter(client_key=Lockout.key_for(data.client.client_id), address="127.0.0.1")
        .get()
        .failures
        == threshold
    )
    traffic.figures.append(f"locked after {threshold} failures spread over A and B")
