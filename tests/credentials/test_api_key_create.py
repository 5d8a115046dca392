import re

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from credentials import secrets
from credentials.models import ApiKey, ApiKeyCredential
from groups.models import Action, Activity
from tests.conftest import client_for, make_api_key, make_group

NEW = "/groups/payments/api-keys/new/"
SECRET_ELEMENT = re.compile(r'data-secret="([\w-]+)"[^>]*>([^<]*)<')


def revealed(response):
    """{slot: value} of every value shown in clear on the page."""
    return dict(SECRET_ELEMENT.findall(response.content.decode()))


def test_form_asks_for_a_name(cast):
    response = client_for(cast.admin).get(NEW)

    assert response.status_code == 200
    assertContains(response, "Create an API key credential")
    assertContains(response, 'name="name"')


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_writer_creates_a_key_and_sees_both_values_once(cast, role):
    response = client_for(getattr(cast, role)).post(NEW, {"name": "Billing app"}, follow=True)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assertContains(response, "API key Billing app created. Copy its keys now.")
    values = revealed(response)
    assert set(values) == {"primary", "secondary"}
    credential = ApiKeyCredential.objects.get(group=cast.group, name="Billing app")
    assert credential.created_by == getattr(cast, role)
    for slot, value in values.items():
        assert credential.keys.get(slot=slot).digest == secrets.digest(value)


def test_created_values_are_well_formed_and_both_authenticate(cast, client):
    values = revealed(client_for(cast.owner).post(NEW, {"name": "Billing app"}))

    for slot, value in values.items():
        assert re.fullmatch(r"gpk_[0-9A-Za-z]{49}", value)
        response = client.get("/v1/whoami", headers={"X-Api-Key": value})
        assert response.json()["auth"] == {"method": "api_key", "credential": "Billing app", "slot": slot}


def test_tab_after_creation_shows_only_hints(cast):
    owner = client_for(cast.owner)
    values = revealed(owner.post(NEW, {"name": "Billing app"}))

    response = owner.get("/groups/payments/")

    for value in values.values():
        assertNotContains(response, value)
        assertContains(response, f"gpk_…{value[-4:]}")


def test_creation_is_recorded_without_the_values(cast):
    values = revealed(client_for(cast.admin).post(NEW, {"name": "Billing app"}))

    activity = Activity.objects.get(action=Action.API_KEY_CREATED)
    assert (activity.group, activity.actor, activity.target) == (cast.group, cast.admin, "Billing app")
    assert activity.source_address == "127.0.0.1"
    assert not any(value in activity.target for value in values.values())


def test_duplicate_name_is_refused(cast):
    make_api_key(cast.group, "Billing app")

    response = client_for(cast.owner).post(NEW, {"name": "Billing app"})

    assert response.status_code == 200
    assertContains(response, "This group already has a credential with this name.")
    assertNotContains(response, "data-secret")
    assert ApiKeyCredential.objects.count() == 1


def test_name_differing_only_by_surrounding_spaces_is_a_duplicate(cast):
    make_api_key(cast.group, "Billing app")

    response = client_for(cast.owner).post(NEW, {"name": "  Billing app  "})

    assertContains(response, "This group already has a credential with this name.")
    assert ApiKeyCredential.objects.count() == 1


@pytest.mark.parametrize("name", ["<b>app</b>", "billing/app", "-app", "app\r\nX-Evil: 1", "café", "a;b"])
def test_name_with_invalid_characters_is_refused(cast, name):
    response = client_for(cast.owner).post(NEW, {"name": name})

    assert response.status_code == 200
    assertContains(response, "Use letters, digits, spaces, dots, hyphens and underscores")
    assert not ApiKeyCredential.objects.exists()
    assert not Activity.objects.filter(action=Action.API_KEY_CREATED).exists()


def test_empty_name_is_refused(cast):
    response = client_for(cast.owner).post(NEW, {"name": ""})

    assertContains(response, "This field is required.")
    assert not ApiKeyCredential.objects.exists()


def test_same_name_in_another_group_is_allowed(cast):
    make_api_key(make_group("Logistics"), "Billing app")

    response = client_for(cast.owner).post(NEW, {"name": "Billing app"}, follow=True)

    assert set(revealed(response)) == {"primary", "secondary"}
    assert ApiKeyCredential.objects.filter(name="Billing app").count() == 2


def test_viewer_gets_403_and_nothing_is_created(cast):
    viewer = client_for(cast.viewer)

    assert viewer.get(NEW).status_code == 403
    response = viewer.post(NEW, {"name": "Billing app"})

    assert response.status_code == 403
    assertNotContains(response, "data-secret", status_code=403)
    assert not ApiKeyCredential.objects.exists()


def test_outsider_gets_404(cast):
    outsider = client_for(cast.outsider)

    assert outsider.get(NEW).status_code == 404
    assert outsider.post(NEW, {"name": "Billing app"}).status_code == 404
    assert not ApiKeyCredential.objects.exists()


def test_post_without_csrf_token_is_refused(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.owner)

    response = client.post(NEW, {"name": "Billing app"})

    assert response.status_code == 403
    assert not ApiKeyCredential.objects.exists()


def test_values_are_revealed_once_even_when_show_is_off(cast, settings):
    settings.CREDENTIALS_SHOW = False

    response = client_for(cast.owner).post(NEW, {"name": "Billing app"}, follow=True)

    values = revealed(response)
    assert set(values) == {"primary", "secondary"}
    assert ApiKey.objects.filter(digest=secrets.digest(values["primary"])).exists()
    assertNotContains(response, ">Show</button>")
