"""Setting a credential's allowed networks: at Create, and from its networks page, as an owner,
an admin, a viewer and an outsider."""

import pytest
from pytest_django.asserts import assertContains, assertRedirects

from credentials.models import ApiKeyCredential, OAuthClient
from groups.models import Action, Activity
from tests.conftest import client_for, make_api_key, make_oauth_client, versioned

TAB = "/groups/payments/"


def networks_url(credential):
    kind = "api-keys" if isinstance(credential, ApiKeyCredential) else "oauth-clients"
    return f"/groups/payments/{kind}/{credential.public_id}/networks/"


def test_create_sets_the_networks(cast):
    client_for(cast.owner).post(f"{TAB}api-keys/new/", {"name": "Orders", "allowed_networks": "10.0.0.0/8"})

    assert ApiKeyCredential.objects.get(name="Orders").allowed_networks == "10.0.0.0/8"


def test_create_with_a_bad_range_shows_the_error(cast):
    response = client_for(cast.owner).post(
        f"{TAB}oauth-clients/new/", {"name": "Checkout", "allowed_networks": "10.0.0.0/40"}
    )

    assertContains(response, "is not an address range")
    assert not OAuthClient.objects.exists()


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_writers_change_the_networks(cast, role):
    user = getattr(cast, role)
    client, _ = make_oauth_client(cast.group)
    browser = client_for(user)

    response = browser.post(versioned(networks_url(client), client), {"allowed_networks": "192.0.2.0/24"})

    assertRedirects(response, TAB, fetch_redirect_response=False)
    client.refresh_from_db()
    assert client.allowed_networks == "192.0.2.0/24"
    entry = Activity.objects.get(action=Action.NETWORKS_CHANGED)
    assert (entry.actor, entry.target) == (user, "Checkout (192.0.2.0/24)")
    assertContains(browser.get(TAB), "Checkout may now be used only from 192.0.2.0/24.")


def test_blank_allows_any_address_again(cast):
    credential, _ = make_api_key(cast.group)
    credential.set_allowed_networks("10.0.0.0/8", credential.version, cast.owner)

    client_for(cast.owner).post(versioned(networks_url(credential), credential), {"allowed_networks": ""})

    credential.refresh_from_db()
    assert credential.allowed_networks is None


def test_viewer_gets_403_and_outsider_404(cast):
    credential, _ = make_api_key(cast.group)
    data = {"allowed_networks": "10.0.0.0/8"}

    assert (
        client_for(cast.viewer).post(versioned(networks_url(credential), credential), data).status_code == 403
    )
    assert (
        client_for(cast.outsider).post(versioned(networks_url(credential), credential), data).status_code
        == 404
    )
    credential.refresh_from_db()
    assert credential.allowed_networks is None


def test_a_stale_version_changes_nothing(cast):
    credential, _ = make_api_key(cast.group)
    url = versioned(networks_url(credential), credential)
    credential.set_rate_limit(10, credential.version, cast.admin)

    response = client_for(cast.owner).post(
        url, {"allowed_networks": "10.0.0.0/8"}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 409
    credential.refresh_from_db()
    assert credential.allowed_networks is None
