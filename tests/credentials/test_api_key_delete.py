import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertRedirects

from credentials.models import ApiKey, ApiKeyCredential
from groups.models import Action, Activity
from tests.conftest import changes, client_for, make_api_key, make_group, versioned


@pytest.fixture
def api_key(cast):
    """The cast's group with one API key credential: (credential, {slot: value})."""
    return make_api_key(cast.group)


def delete_url(credential):
    return versioned(f"/groups/{credential.group.slug}/api-keys/{credential.public_id}/delete/", credential)


def test_confirmation_page_asks_before_deleting(cast, api_key):
    credential, _ = api_key

    response = client_for(cast.owner).get(delete_url(credential))

    assert response.status_code == 200
    assertContains(response, "Delete API key Billing app?")
    assertContains(response, "both of its keys stop working at once.")
    assert ApiKeyCredential.objects.filter(pk=credential.pk).exists()


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_writer_deletes_the_credential_and_both_keys(cast, api_key, role):
    credential, _ = api_key

    response = client_for(getattr(cast, role)).post(delete_url(credential), follow=True)

    assertRedirects(response, "/groups/payments/")
    assertContains(response, "API key Billing app deleted: both of its keys stop working at once.")
    assertContains(response, "No API keys yet")
    assert not ApiKeyCredential.objects.exists()
    assert not ApiKey.objects.exists()


def test_both_deleted_keys_are_refused_everywhere(cast, api_key, client):
    credential, values = api_key

    client_for(cast.owner).post(delete_url(credential))

    for value in values.values():
        assert client.get("/v1/whoami", headers={"X-Api-Key": value}).status_code == 401
        assert client.get("/v1/verify", headers={"X-Api-Key": value}).status_code == 401


def test_deletion_is_recorded_without_the_values(cast, api_key):
    credential, values = api_key

    client_for(cast.admin).post(delete_url(credential))

    activity = Activity.objects.get(action=Action.API_KEY_DELETED)
    assert (activity.group, activity.actor, activity.target) == (cast.group, cast.admin, "Billing app")
    assert not any(value in activity.target for value in values.values())


def test_viewer_gets_403_and_the_keys_keep_working(cast, api_key, client):
    credential, values = api_key
    viewer = client_for(cast.viewer)

    assert viewer.get(delete_url(credential)).status_code == 403
    assert viewer.post(delete_url(credential)).status_code == 403

    assert ApiKey.objects.filter(credential=credential).count() == 2
    assert client.get("/v1/whoami", headers={"X-Api-Key": values["primary"]}).status_code == 200
    assert not changes().filter(actor__isnull=False).exists()  # the fixtures' rows have no actor


def test_outsider_gets_404(cast, api_key):
    credential, _ = api_key
    outsider = client_for(cast.outsider)

    assert outsider.get(delete_url(credential)).status_code == 404
    assert outsider.post(delete_url(credential)).status_code == 404
    assert ApiKeyCredential.objects.filter(pk=credential.pk).exists()


def test_credential_of_another_group_is_404_through_this_groups_url(cast):
    other, _ = make_api_key(make_group("Logistics"))

    response = client_for(cast.owner).post(f"/groups/payments/api-keys/{other.public_id}/delete/")

    assert response.status_code == 404
    assert ApiKeyCredential.objects.filter(pk=other.pk).exists()


def test_deleting_twice_is_404(cast, api_key):
    credential, _ = api_key
    owner, url = client_for(cast.owner), delete_url(credential)
    owner.post(url)

    response = owner.post(url)

    assert response.status_code == 404
    assert Activity.objects.filter(action=Action.API_KEY_DELETED).count() == 1


def test_post_without_csrf_token_is_refused(cast, api_key):
    credential, _ = api_key
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.owner)

    response = client.post(delete_url(credential))

    assert response.status_code == 403
    assert ApiKey.objects.filter(credential=credential).count() == 2
