"""Allowed source networks per credential: validation, and the refusals at /v1/verify, /v1/whoami,
the DRF class, the token endpoints and refresh, counted in memory and flushed per hour."""

import base64
import json
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from credentials import networks, usage
from credentials.models import AccessToken, AddressRefusal, Lockout, Slot
from credentials.verification import recently_verified
from tests.conftest import issue_access_token, make_api_key, make_oauth_client
from tests.credentials.test_authentication import GroupOrders

FORM = "application/x-www-form-urlencoded"
INSIDE, OUTSIDE, INSIDE_V6, OUTSIDE_V6 = "10.1.2.3", "203.0.113.9", "2001:db8::7", "2001:db9::7"


def get(path, value, address, header="X-Api-Key"):
    return Client().get(path, headers={header: value}, REMOTE_ADDR=address)


@pytest.fixture
def fenced_key(cast):
    """An API key credential allowed only from 10.0.0.0/8 and 2001:db8::/32: (credential, value)."""
    credential, values = make_api_key(cast.group)
    credential.set_allowed_networks("10.0.0.0/8 2001:db8::/32", credential.version, cast.owner)
    return credential, values[Slot.PRIMARY]


@pytest.fixture
def fenced_client(cast):
    """An OAuth client allowed only from 10.0.0.0/8: (client, secret)."""
    client, secret = make_oauth_client(cast.group)
    client.set_allowed_networks("10.0.0.0/8", client.version, cast.owner)
    return client, secret


def token_v2(client, secret, address):
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    body = urlencode({"grant_type": "client_credentials"})
    headers = {"Authorization": f"Basic {basic}"}
    return Client().post("/v2/tokens", body, content_type=FORM, headers=headers, REMOTE_ADDR=address)


def token_v1(client, secret, address):
    body = json.dumps({"clientId": client.client_id, "clientSecret": secret})
    return Client().post("/v1/tokens", body, content_type="application/json", REMOTE_ADDR=address)


def refresh(token, address):
    body = json.dumps({"refreshToken": token})
    return Client().patch("/v1/tokens", body, content_type="application/json", REMOTE_ADDR=address)


def test_ranges_are_normalised_and_deduplicated():
    assert networks.cleaned(" 10.1.2.3/8, 2001:DB8::/32\n10.0.0.0/8 ") == "10.0.0.0/8 2001:db8::/32"
    assert networks.cleaned("  ") is None


@pytest.mark.parametrize("text", ["10.0.0.0/33", "example.com", "fe80::/129"])
def test_a_bad_range_is_refused(text):
    with pytest.raises(ValidationError):
        networks.cleaned(text)


def test_at_most_twenty_ranges():
    with pytest.raises(ValidationError):
        networks.cleaned(" ".join(f"10.{n}.0.0/16" for n in range(21)))


def test_an_ipv4_mapped_address_is_its_ipv4_address():
    assert networks.allows(networks.parsed("10.0.0.0/8"), "::ffff:10.1.2.3")
    assert not networks.allows(networks.parsed("10.0.0.0/8"), None)


@pytest.mark.parametrize("address", [INSIDE, INSIDE_V6])
def test_verify_lets_an_allowed_address_through_uncached_by_the_gateway(fenced_key, address):
    response = get("/v1/verify", fenced_key[1], address)

    assert response.status_code == 204
    assert response["X-Auth-Networks"] == "restricted"  # gateway.conf stores no such answer


@pytest.mark.parametrize("address", [OUTSIDE, OUTSIDE_V6])
def test_verify_refuses_another_address_with_403_and_the_reason(fenced_key, address):
    response = get("/v1/verify", fenced_key[1], address)

    assert response.status_code == 403
    assert response["X-Auth-Refused"] == "address"


def test_whoami_refuses_another_address_in_the_api_error_shape(fenced_key):
    response = get("/v1/whoami", fenced_key[1], OUTSIDE)

    assert response.status_code == 403
    assert response.json()["error"] == "address_not_allowed"
    assert get("/v1/whoami", fenced_key[1], INSIDE).status_code == 200


def test_a_wrong_key_is_still_401_from_anywhere(fenced_key):
    assert get("/v1/verify", "gpk_nothing", OUTSIDE).status_code == 401


def test_the_drf_class_refuses_another_address(rf, fenced_key):
    def drf(address):
        return GroupOrders.as_view()(
            rf.get("/orders/", headers={"X-Api-Key": fenced_key[1]}, REMOTE_ADDR=address)
        )

    response = drf(OUTSIDE)

    assert drf(INSIDE).status_code == 200
    assert response.status_code == 403
    assert response.data["error"] == "address_not_allowed"
    assert response["X-Auth-Refused"] == "address"


def test_access_tokens_of_a_fenced_client_are_refused_elsewhere(fenced_client):
    _, token = issue_access_token(fenced_client[0])

    assert get("/v1/verify", token, INSIDE, "X-Access-Token").status_code == 204
    assert get("/v1/verify", token, OUTSIDE, "X-Access-Token").status_code == 403


def test_memory_hits_are_checked_too(settings, fenced_key):
    settings.VERIFY_CACHE_SECONDS = 60
    recently_verified.clear()
    try:
        assert get("/v1/verify", fenced_key[1], INSIDE).status_code == 204
        assert get("/v1/verify", fenced_key[1], OUTSIDE).status_code == 403
        assert len(recently_verified.entries) == 1  # the second answer came from memory
    finally:
        recently_verified.clear()


def test_a_change_applies_once_memory_is_past(fenced_key, cast):
    credential, value = fenced_key
    credential.set_allowed_networks("", credential.version, cast.owner)

    assert get("/v1/verify", value, OUTSIDE).status_code == 204


@pytest.mark.parametrize("issue", [token_v2, token_v1])
def test_token_issue_refuses_another_address_without_counting_a_failure(fenced_client, issue):
    response = issue(*fenced_client, OUTSIDE)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_description"].isascii()
    assert "address" in response.json()["error_description"]
    assert not Lockout.objects.exists()
    assert not AccessToken.objects.exists()  # nothing written, on PostgreSQL's one statement too
    assert issue(*fenced_client, INSIDE).status_code in (200, 201)


def test_a_refresh_from_another_address_is_refused_and_the_token_kept(fenced_client):
    pair = token_v1(*fenced_client, INSIDE).json()

    refused = refresh(pair["refreshToken"], OUTSIDE)

    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
    assert refresh(pair["refreshToken"], INSIDE).status_code == 200  # not used up by the refusal


def test_refusals_are_counted_in_memory_and_flushed(fenced_key, fenced_client):
    credential, value = fenced_key
    for _ in range(3):
        get("/v1/verify", value, OUTSIDE)
    token_v2(*fenced_client, "198.51.100.4")
    assert not AddressRefusal.objects.exists()  # no write per refusal

    usage.counter.flush()

    key_row = AddressRefusal.objects.get(api_key_credential=credential)
    assert (key_row.refused, key_row.last_refused_address) == (3, OUTSIDE)
    client_row = AddressRefusal.objects.get(oauth_client=fenced_client[0])
    assert (client_row.refused, client_row.last_refused_address) == (1, "198.51.100.4")


def test_refused_requests_are_not_counted_as_usage(fenced_key):
    get("/v1/verify", fenced_key[1], OUTSIDE)
    usage.counter.flush()

    assert not fenced_key[0].keys.filter(usage__isnull=False).exists()


def test_the_tab_shows_the_networks_and_the_refusals(cast, fenced_key):
    for _ in range(2):
        get("/v1/verify", fenced_key[1], OUTSIDE)
    usage.counter.flush()

    page = Client()
    page.force_login(cast.viewer)
    text = page.get("/groups/payments/").content.decode()

    assert "10.0.0.0/8 2001:db8::/32" in text
    assert f"2 requests refused from other addresses in 7 days (last from {OUTSIDE} at" in text
