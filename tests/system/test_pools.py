"""The two pools behind the shipped portal.conf (docs/deploy.md, "Two pools"): nginx sends the API to
the API pool and everything else to the portal pool, so the API answers even with the portal pool
down. Which pool answered a request is read from each gunicorn's access log, by its request id.
"""

from types import SimpleNamespace

import pytest

from tests.system.conftest import nginx_path, seed
from tests.system.support import (
    GRANT,
    Nginx,
    basic_auth,
    free_port,
    self_signed_certificate,
    shipped_front,
    wait_for,
)

LABEL = "two pools"
pytestmark = [pytest.mark.system("nginx"), pytest.mark.django_db(transaction=True)]
PAGES = ("/accounts/login/", "/admin/login/", "/api/docs/", "/api/schema/", "/static/portal/portal.css")
# What the portal pool answers each: the admin site's sign-in leads to the portal's.
STATUS = {"/admin/login/": 302}
# Calling an app server directly, this stands in for nginx (docs/deploy.md, "Check it").
DIRECT = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def front(start_portal):
    """One server of each pool as in production (HTTPS behind nginx, which they trust), and nginx
    running the shipped portal.conf in front of them."""
    production = {"HTTPS": "true", "TRUSTED_PROXIES": "127.0.0.1"}
    api = start_portal("pools-api", POOL="api", **production)
    portal = start_portal("pools-portal", POOL="portal", **production)
    nginx, port = Nginx(nginx_path()), free_port()
    tls = self_signed_certificate(nginx.dir)
    shipped_front(nginx.dir, [portal, portal], port, api=[api, api])
    try:
        nginx.start("portal.conf", port)
        yield SimpleNamespace(api=api, portal=portal, port=port, tls=tls)
    finally:
        leaks = nginx.stop()
        assert not leaks, f"secret-shaped values in nginx's logs: {leaks}"


def answered_by(server, answer):
    """Whether `server`'s access log holds the request of `answer`, by the id nginx gave it."""
    request_id = answer.headers["x-request-id"]
    return server.access_log.exists() and request_id in server.access_log.read_text()


def only_answered_by(server, other, answer):
    """Whether `server`, and not `other`, answered: gunicorn writes a request's access log line
    once it has answered, so wait for the line first."""
    wait_for(lambda: answered_by(server, answer) or answered_by(other, answer), 5, "the access log line")
    return answered_by(server, answer) and not answered_by(other, answer)


def test_the_api_goes_to_the_api_pool(front, traffic):
    data = seed()
    key = {"X-Api-Key": data.keys["primary"]}
    verified = traffic.send(front.port, "GET", "/v1/verify", key, expect=204, tls=front.tls)
    client = basic_auth(data.client.client_id, data.secret)
    issued = traffic.send(front.port, "POST", "/v2/tokens", client, GRANT, expect=200, tls=front.tls)
    token = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    whoami = traffic.send(front.port, "GET", "/v1/whoami", token, expect=200, tls=front.tls)
    health = traffic.send(front.port, "GET", "/healthz", expect=200, tls=front.tls)

    assert verified.headers["x-auth-group"] == data.group.slug
    for answer in (verified, issued, whoami, health):
        assert only_answered_by(front.api, front.portal, answer)


def test_everything_else_goes_to_the_portal_pool(front, traffic):
    answers = [
        traffic.send(front.port, "GET", path, expect=STATUS.get(path, 200), tls=front.tls) for path in PAGES
    ]

    assert b'name="password"' in answers[0].body
    for answer in answers:
        assert only_answered_by(front.portal, front.api, answer)


def test_the_api_pool_serves_no_page_and_the_portal_pool_serves_the_api_too(front, traffic):
    for path in PAGES:
        traffic.send(front.api.port, "GET", path, DIRECT, expect=404)
    # Swagger UI's "Try it out" calls the API where the page came from.
    key = {**DIRECT, "X-Api-Key": seed().keys["primary"]}
    traffic.send(front.portal.port, "GET", "/v1/verify", key, expect=204)


def test_with_the_portal_pool_down_the_api_still_answers(front, traffic):
    data = seed()
    front.portal.stop()  # the last test of the module: nothing after it needs the portal pool

    page = traffic.send(front.port, "GET", "/accounts/login/", expect=502, tls=front.tls)
    assert "x-request-id" not in page.headers  # nginx's own answer: no app server wrote it
    key = {"X-Api-Key": data.keys["primary"]}
    traffic.send(front.port, "GET", "/v1/verify", key, expect=204, tls=front.tls)
    client = basic_auth(data.client.client_id, data.secret)
    traffic.send(front.port, "POST", "/v2/tokens", client, GRANT, expect=200, tls=front.tls)
    traffic.figures.append("portal pool down: pages 502 from nginx, /v1/verify and /v2/tokens answered")
