"""/metrics: only for the scrape token or the allowed networks, else the API's 404; never a secret."""

import ipaddress

import pytest
from django.test import Client

from tests.conftest import SECRET_SHAPE, issue_access_token, make_api_key, make_oauth_client
from tests.portal.test_api_pool import POOLS

TOKEN = "scrape-token-for-tests"


@pytest.fixture(params=list(POOLS))
def pool(request, settings):
    """Each test runs on both pools, whose URLconfs both serve /metrics."""
    for name, value in POOLS[request.param].items():
        setattr(settings, name, value)
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("10.1.0.0/16"),)


def scrape(authorization=None, address="127.0.0.1", method="get"):
    headers = {"Authorization": authorization} if authorization else {}
    return getattr(Client(REMOTE_ADDR=address), method)("/metrics", headers=headers)


def assert_not_found(response):
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "error_description": "There is no API at this address."}


def test_the_scrape_token_gets_the_metrics(db, pool):
    response = scrape(f"Bearer {TOKEN}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE portal_verifications_total counter" in response.content


def test_the_metrics_say_whether_the_server_is_ready(db, pool):
    text = scrape(f"Bearer {TOKEN}").content.decode()

    assert "portal_ready 1.0" in text
    assert 'portal_readiness_check{check="database"} 1.0' in text


def test_an_allowed_network_gets_the_metrics_without_a_token(db, pool):
    assert scrape(address="10.1.2.3").status_code == 200
    assert scrape(address="::ffff:10.1.2.3").status_code == 200


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer ünïcode"]
)
def test_anyone_else_gets_the_apis_404(db, pool, authorization):
    assert_not_found(scrape(authorization, address="192.0.2.1"))


def test_a_post_without_access_is_404_not_405(db, pool):
    assert_not_found(scrape(method="post", address="192.0.2.1"))
    assert scrape(f"Bearer {TOKEN}", method="post").status_code == 405


def test_without_a_token_configured_nothing_matches_an_empty_bearer(db, pool, settings):
    settings.METRICS_TOKEN = ""
    assert_not_found(scrape("Bearer ", address="192.0.2.1"))


def test_the_scraped_text_holds_no_credential_value_or_digest(cast, pool):
    group = cast.group
    credential, values = make_api_key(group)
    client, secret = make_oauth_client(group)
    _, token = issue_access_token(client)
    for value in (values["primary"], values["primary"][:-1] + "A", "garbage"):
        Client().get("/v1/verify", headers={"X-Api-Key": value})
    Client().get("/v1/whoami", headers={"X-Access-Token": token})

    text = scrape(f"Bearer {TOKEN}").content.decode()

    assert f'group="{group.slug}"' in text
    assert not SECRET_SHAPE.search(text)
    digests = [key.digest for key in credential.keys.all()] + [client.secrets.get().digest]
    assert not any(digest in text for digest in digests)
    assert secret not in text and token not in text
