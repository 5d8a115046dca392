"""The portal's side of scopes: the Services tab (owners add and remove services), the services a
credential may use chosen at Create and changed from the Authentication Information tab."""

import pytest
from django.urls import reverse

from credentials.models import ApiKeyCredential, OAuthClient
from groups.models import Action, Activity, Service
from tests.conftest import client_for, make_api_key, make_oauth_client, versioned


@pytest.fixture
def services(cast):
    for name in ("orders:read", "orders:write"):
        Service.objects.create(group=cast.group, name=name)
    return cast


def services_url(cast, action="services", *service):
    return reverse(f"groups:{action}", args=[cast.group.slug, *service])


def test_every_member_sees_the_services(services):
    response = client_for(services.viewer).get(services_url(services))

    assert response.status_code == 200
    assert b"orders:write" in response.content
    assert b"Add a service" not in response.content


def test_an_owner_adds_a_service(cast):
    response = client_for(cast.owner).post(
        services_url(cast, "service-add"), {"service": "refunds"}, follow=True
    )

    assert b"Service refunds added." in response.content
    assert Service.objects.filter(group=cast.group, name="refunds").exists()
    assert Activity.objects.filter(action=Action.SERVICE_ADDED, target="refunds").exists()


def test_a_malformed_service_name_is_refused_with_400(cast):
    response = client_for(cast.owner).post(services_url(cast, "service-add"), {"service": "Orders Read"})

    assert response.status_code == 400
    assert not Service.objects.exists()


def test_an_owner_removes_a_service_from_every_credential(services):
    credential, _ = ApiKeyCredential.create_with_keys(services.group, "Writer", None, scopes=["orders:write"])

    response = client_for(services.owner).post(services_url(services, "service-remove", "orders:write"))

    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.scopes == ""
    assert not Service.objects.filter(name="orders:write").exists()


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_only_owners_change_services(services, role):
    browser = client_for(getattr(services, role))

    assert browser.post(services_url(services, "service-add"), {"service": "x"}).status_code == 403
    assert browser.post(services_url(services, "service-remove", "orders:read")).status_code == 403
    assert Service.objects.count() == 2


def test_outsiders_get_404_on_the_services(services):
    browser = client_for(services.outsider)

    assert browser.get(services_url(services)).status_code == 404
    assert browser.post(services_url(services, "service-add"), {"service": "x"}).status_code == 404


def test_create_an_api_key_limited_to_some_services(services):
    url = reverse("credentials:create-api-key", args=[services.group.slug])

    client_for(services.admin).post(url, {"name": "Reader", "expires": "never", "services": ["orders:read"]})

    assert ApiKeyCredential.objects.get(name="Reader").scopes == "orders:read"


def test_create_keeps_all_services_by_default(services):
    url = reverse("credentials:create-oauth-client", args=[services.group.slug])
    form = client_for(services.admin).get(url)

    client_for(services.admin).post(
        url, {"name": "Everything", "all_services": "on", "services": ["orders:read"]}
    )

    assert b"All services" in form.content
    assert OAuthClient.objects.get(name="Everything").scopes is None


def test_create_refuses_a_service_the_group_lacks(services):
    url = reverse("credentials:create-api-key", args=[services.group.slug])

    response = client_for(services.admin).post(url, {"name": "Odd", "services": ["shipping"]})

    assert response.status_code == 200
    assert not ApiKeyCredential.objects.filter(name="Odd").exists()


def test_change_the_services_of_a_client_from_the_tab(services):
    client, _ = make_oauth_client(services.group)
    url = reverse("credentials:oauth-client-scopes", args=[services.group.slug, client.public_id])

    response = client_for(services.admin).post(
        versioned(url, client), {"services": ["orders:read"], "version": client.version}, follow=True
    )

    assert b"Checkout may use these services now: orders:read." in response.content
    client.refresh_from_db()
    assert client.scopes == "orders:read"
    assert Activity.objects.filter(action=Action.SCOPES_CHANGED, target="Checkout (orders:read)").exists()


def test_the_tab_shows_each_credentials_services(services):
    ApiKeyCredential.create_with_keys(services.group, "Reader", None, scopes=["orders:read"])

    response = client_for(services.viewer).get(reverse("credentials:auth-info", args=[services.group.slug]))

    assert b"<code>orders:read</code>" in response.content
    assert b"Change services" not in response.content


def test_a_stale_services_form_changes_nothing(services):
    credential, _ = make_api_key(services.group)
    credential.set_scopes(["orders:write"], credential.version, services.owner)
    url = reverse("credentials:api-key-scopes", args=[services.group.slug, credential.public_id])

    client_for(services.admin).post(url, {"all_services": "on", "version": 1})

    credential.refresh_from_db()
    assert credential.scopes == "orders:write"


def test_viewers_may_not_change_services_of_a_credential(services):
    credential, _ = make_api_key(services.group)
    url = reverse("credentials:api-key-scopes", args=[services.group.slug, credential.public_id])

    assert client_for(services.viewer).post(url, {"all_services": "on", "version": 1}).status_code == 403
    assert client_for(services.outsider).get(url).status_code == 404
