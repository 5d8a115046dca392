"""A credential's allowed networks through the management API: read by members, set by owners and
admins with the portal's method (its version check and Activity), bad ranges a clear 400."""

import json

import pytest
from django.test import Client

from credentials.models import ApiKeyCredential, OAuthClient, Slot
from groups.models import Action, Activity
from tests.conftest import make_api_key, make_group, make_oauth_client
from tests.manage.conftest import API, api_client, make_pat

G = f"{API}/groups/payments"


def send(client, method, url, data=None, **headers):
    body = json.dumps(data) if data is not None else ""
    return client.generic(method, url, body, content_type="application/json", **headers)


def networks_url(credential):
    kind = "api-keys" if isinstance(credential, ApiKeyCredential) else "oauth-clients"
    return f"{G}/{kind}/{credential.public_id}/networks/"


@pytest.fixture
def owner(cast):
    return api_client(make_pat(cast.owner))


@pytest.fixture(params=["api key", "oauth client"])
def credential(request, cast):
    make = make_api_key if request.param == "api key" else make_oauth_client
    return make(cast.group)[0]


def test_a_new_credential_may_be_used_from_any_address(cast, owner, credential):
    response = send(owner, "GET", networks_url(credential))

    assert response.status_code == 200
    assert response.json() == {"allowed_networks": [], "version": 1}


def test_ranges_are_set_normalised_and_recorded(cast, owner, credential):
    body = {"allowed_networks": ["10.1.2.3/8", "2001:DB8::/32", "10.0.0.0/8"], "version": 1}

    response = send(owner, "PUT", networks_url(credential), body)

    assert response.status_code == 200
    assert response.json() == {"allowed_networks": ["10.0.0.0/8", "2001:db8::/32"], "version": 2}
    credential.refresh_from_db()
    assert credential.allowed_networks == "10.0.0.0/8 2001:db8::/32"
    entry = Activity.objects.get(action=Action.NETWORKS_CHANGED)
    assert (entry.actor, entry.target) == (cast.owner, f"{credential.name} (10.0.0.0/8 2001:db8::/32)")
    assert send(owner, "GET", networks_url(credential)).json()["allowed_networks"] == [
        "10.0.0.0/8",
        "2001:db8::/32",
    ]


def test_an_empty_list_allows_any_address_again(cast, owner, credential):
    credential.set_allowed_networks("10.0.0.0/8", credential.version, cast.owner)

    response = send(owner, "PUT", networks_url(credential), {"allowed_networks": []})

    assert response.json() == {"allowed_networks": [], "version": 3}
    credential.refresh_from_db()
    assert credential.allowed_networks is None
    assert Activity.objects.filter(target=f"{credential.name} (any address)").exists()


def test_the_set_ranges_are_enforced_at_verification(cast, owner):
    credential, values = make_api_key(cast.group)
    send(owner, "PUT", networks_url(credential), {"allowed_networks": ["192.0.2.0/24"]})

    def whoami(address):
        return Client().get("/v1/whoami", headers={"X-Api-Key": values[Slot.PRIMARY]}, REMOTE_ADDR=address)

    assert whoami("192.0.2.10").status_code == 200
    assert whoami("198.51.100.1").status_code == 403


def test_credential_reads_carry_the_ranges(cast, owner):
    response = send(
        owner, "POST", f"{G}/oauth-clients/", {"name": "Partner", "allowed_networks": ["192.0.2.0/24"]}
    )

    assert response.status_code == 201
    assert response.json()["allowed_networks"] == ["192.0.2.0/24"]
    assert OAuthClient.objects.get(name="Partner").allowed_networks == "192.0.2.0/24"
    listed = send(owner, "GET", f"{G}/oauth-clients/").json()
    assert [client["allowed_networks"] for client in listed] == [["192.0.2.0/24"]]
    assert send(owner, "GET", f"{G}/api-keys/").json() == []


def test_form_fields_take_the_portals_text(cast, credential):
    token = make_pat(cast.admin)

    response = Client().put(
        networks_url(credential),
        "allowed_networks=192.0.2.0/24+198.51.100.0/24",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )

    assert response.status_code == 200
    assert response.json()["allowed_networks"] == ["192.0.2.0/24", "198.51.100.0/24"]


def test_a_stale_version_changes_nothing(cast, owner, credential):
    credential.set_allowed_networks("10.0.0.0/8", credential.version, cast.admin)

    response = send(owner, "PUT", networks_url(credential), {"allowed_networks": []}, HTTP_IF_MATCH='"1"')

    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert "adam" in response.json()["error_description"]
    credential.refresh_from_db()
    assert (credential.allowed_networks, credential.version) == ("10.0.0.0/8", 2)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "allowed_networks: This field is required ([] for any address)."),
        ({"allowed_networks": None}, "Send a list of address ranges"),
        ({"allowed_networks": "10.0.0.0/8"}, "Send a list of address ranges"),
        ({"allowed_networks": {"10.0.0.0/8": True}}, "Send a list of address ranges"),
        ({"allowed_networks": [10]}, "Send a list of address ranges"),
        ({"allowed_networks": [["10.0.0.0/8"]]}, "Send a list of address ranges"),
        ({"allowed_networks": [""]}, "Send a list of address ranges"),
        ({"allowed_networks": ["10.0.0.0/8", "  "]}, "Send a list of address ranges"),
        ({"allowed_networks": ["10.0.0.0/33"]}, "10.0.0.0/33 is not an address range"),
        ({"allowed_networks": ["example.com"]}, "example.com is not an address range"),
        ({"allowed_networks": ["fe80::/129"]}, "is not an address range"),
        ({"allowed_networks": ["10.0.0.0/8\u00e9"]}, "is not an address range"),
        ({"allowed_networks": ["10.0.0.0/8\x00"]}, "Null characters are not allowed."),
        ({"allowed_networks": [f"10.{n}.0.0/16" for n in range(21)]}, "List at most 20 ranges."),
        ({"allowed_networks": ["10.0.0.0/8"] * 100_000}, "at most 2000 characters"),
        ({"allowed_networks": ["1" * 5000]}, "at most 2000 characters"),
        ({"allowed_networks": ["10.0.0.0/8"], "version": "x"}, "version: Send the version"),
    ],
)
def test_bad_ranges_are_a_clear_400(cast, owner, credential, body, says):
    response = send(owner, "PUT", networks_url(credential), body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert says in response.json()["error_description"]
    credential.refresh_from_db()
    assert (credential.allowed_networks, credential.version) == (None, 1)
    assert not Activity.objects.filter(action=Action.NETWORKS_CHANGED).exists()


def test_a_bad_range_at_create_creates_nothing(cast, owner):
    response = send(owner, "POST", f"{G}/api-keys/", {"name": "X", "allowed_networks": ["10.0.0.0/40"]})

    assert response.status_code == 400
    assert "is not an address range" in response.json()["error_description"]
    assert not ApiKeyCredential.objects.filter(name="X").exists()


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_another_groups_credential_is_not_found(cast, owner, method):
    elsewhere, _ = make_api_key(make_group("Logistics"), "Fleet app")

    response = send(owner, method, networks_url(elsewhere), {"allowed_networks": []})

    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.version == 1
