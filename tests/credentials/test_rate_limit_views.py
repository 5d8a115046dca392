"""Setting a credential's rate limit from the Authentication Information tab: at Create, and
afterwards from its Rate limit page, as an owner, an admin, a viewer and an outsider."""

import pytest
from pytest_django.asserts import assertContains, assertRedirects

from credentials.models import ApiKeyCredential, OAuthClient
from groups.models import Action, Activity
from tests.conftest import client_for, make_api_key, make_oauth_client, versioned

TAB = "/groups/payments/"


@pytest.fixture
def api_key(cast):
    return make_api_key(cast.group)[0]


def limit_url(credential):
    kind = "api-keys" if isinstance(credential, ApiKeyCredential) else "oauth-clients"
    return f"/groups/payments/{kind}/{credential.public_id}/rate-limit/"


def test_create_sets_the_limit(cast):
    response = client_for(cast.owner).post(f"{TAB}api-keys/new/", {"name": "Orders", "rate_limit": "300"})

    assert response.status_code == 302
    assert ApiKeyCredential.objects.get(name="Orders").rate_limit == 300


def test_create_without_a_limit_sets_none(cast):
    client_for(cast.admin).post(f"{TAB}oauth-clients/new/", {"name": "Checkout", "rate_limit": ""})

    assert OAuthClient.objects.get(name="Checkout").rate_limit is None


def test_the_tab_shows_the_limit(cast, api_key):
    api_key.set_rate_limit(1200, api_key.version, cast.owner)
    make_oauth_client(cast.group)

    response = client_for(cast.viewer).get(TAB)

    assertContains(response, "Rate limit: 1200 requests per minute")
    assertContains(response, "No rate limit")
    assert limit_url(api_key) not in response.content.decode()  # a viewer cannot change it


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_writer_changes_the_limit(cast, api_key, role):
    user = getattr(cast, role)
    browser = client_for(user)

    response = browser.post(versioned(limit_url(api_key), api_key), {"rate_limit": "60"})

    assertRedirects(response, TAB, fetch_redirect_response=False)
    api_key.refresh_from_db()
    assert api_key.rate_limit == 60
    entry = Activity.objects.get(action=Action.RATE_LIMIT_CHANGED)
    assert (entry.actor, entry.target) == (user, f"{api_key.name} (60 requests per minute)")
    assertContains(browser.get(TAB), "Billing app may now make 60 requests per minute.")


def test_blank_removes_the_limit(cast):
    oauth_client = make_oauth_client(cast.group)[0]
    oauth_client.set_rate_limit(10, oauth_client.version, cast.owner)

    client_for(cast.owner).post(versioned(limit_url(oauth_client), oauth_client), {"rate_limit": ""})

    oauth_client.refresh_from_db()
    assert oauth_client.rate_limit is None


@pytest.mark.parametrize("value", ["0", "-5", "abc", "1000001"])
def test_invalid_limit_is_shown_again_with_an_error(cast, api_key, value):
    response = client_for(cast.owner).post(versioned(limit_url(api_key), api_key), {"rate_limit": value})

    assert response.status_code == 200
    assertContains(response, 'class="field-error"')
    api_key.refresh_from_db()
    assert api_key.rate_limit is None


def test_a_stale_version_is_a_conflict(cast, api_key):
    stale = versioned(limit_url(api_key), api_key)
    api_key.set_rate_limit(5, api_key.version, cast.admin)

    client_for(cast.owner).post(stale, {"rate_limit": "50"})

    api_key.refresh_from_db()
    assert api_key.rate_limit == 5


def test_the_page_shows_the_current_limit(cast, api_key):
    api_key.set_rate_limit(77, api_key.version, cast.owner)

    response = client_for(cast.admin).get(limit_url(api_key))

    assertContains(response, f"Rate limit of {api_key.name}")
    assertContains(response, 'value="77"')


def test_viewer_gets_403_and_nothing_changes(cast, api_key):
    response = client_for(cast.viewer).post(versioned(limit_url(api_key), api_key), {"rate_limit": "1"})

    assert response.status_code == 403
    api_key.refresh_from_db()
    assert api_key.rate_limit is None


def test_outsider_gets_404(cast, api_key):
    assert client_for(cast.outsider).get(limit_url(api_key)).status_code == 404
