import re

import pytest
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from credentials.models import Slot
from groups.models import Action, Activity
from tests.conftest import changes, client_for, make_api_key, make_group

SECRET_ELEMENT = re.compile(r'data-secret="([\w-]+)"[^>]*>([^<]*)<')


@pytest.fixture
def api_key(cast):
    """The cast's group with one API key credential: (credential, {slot: value})."""
    return make_api_key(cast.group)


def show_url(credential, slot):
    return f"/groups/{credential.group.slug}/api-keys/{credential.public_id}/{slot}/show/"


def revealed(response):
    """{slot: value} of every value shown in clear on the page."""
    return dict(SECRET_ELEMENT.findall(response.content.decode()))


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_writer_sees_the_value_of_one_slot(cast, api_key, role):
    credential, values = api_key

    response = client_for(getattr(cast, role)).post(show_url(credential, Slot.PRIMARY), follow=True)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert revealed(response) == {"primary": values[Slot.PRIMARY]}
    assertNotContains(response, values[Slot.SECONDARY])


def test_secondary_slot_is_shown_on_its_own(cast, api_key):
    credential, values = api_key

    response = client_for(cast.owner).post(show_url(credential, Slot.SECONDARY), follow=True)

    assert revealed(response) == {"secondary": values[Slot.SECONDARY]}


def test_json_caller_gets_the_value(cast, api_key):
    credential, values = api_key

    response = client_for(cast.admin).post(
        show_url(credential, Slot.SECONDARY), headers={"Accept": "application/json"}
    )

    assert response.status_code == 200
    assert response.json() == {"value": values[Slot.SECONDARY]}
    assert "no-store" in response["Cache-Control"]


def test_show_is_recorded_without_the_value(cast, api_key):
    credential, values = api_key

    client_for(cast.admin).post(show_url(credential, Slot.PRIMARY))

    activity = Activity.objects.get(action=Action.API_KEY_SHOWN)
    assert (activity.actor, activity.target) == (cast.admin, "Billing app primary key")
    assert values[Slot.PRIMARY] not in activity.target
    assertContains(client_for(cast.owner).get("/groups/payments/activity/"), "Billing app primary key")


def test_copy_is_recorded_as_copied_not_shown(cast, api_key):
    credential, _ = api_key

    client_for(cast.admin).post(show_url(credential, Slot.PRIMARY), headers={"Accept": "application/json"})

    activity = Activity.objects.get(action=Action.API_KEY_COPIED)
    assert activity.target == "Billing app primary key"
    assert not Activity.objects.filter(action=Action.API_KEY_SHOWN).exists()
    assertContains(client_for(cast.owner).get("/groups/payments/activity/"), "copied")


def test_each_show_and_copy_is_recorded(cast, api_key):
    credential, _ = api_key
    owner = client_for(cast.owner)

    owner.post(show_url(credential, Slot.PRIMARY))
    owner.post(show_url(credential, Slot.PRIMARY), headers={"Accept": "application/json"})
    owner.post(show_url(credential, Slot.PRIMARY), headers={"Accept": "application/json"})

    assert Activity.objects.filter(action=Action.API_KEY_SHOWN).count() == 1
    assert Activity.objects.filter(action=Action.API_KEY_COPIED).count() == 2


def test_tab_is_masked_again_after_a_show(cast, api_key):
    credential, values = api_key
    owner = client_for(cast.owner)
    owner.post(show_url(credential, Slot.PRIMARY))

    response = owner.get("/groups/payments/")

    assertNotContains(response, values[Slot.PRIMARY])
    assertNotContains(response, "data-secret")


def test_get_is_not_allowed(cast, api_key):
    credential, values = api_key

    response = client_for(cast.owner).get(show_url(credential, Slot.PRIMARY))

    assert response.status_code == 405
    assertNotContains(response, values[Slot.PRIMARY], status_code=405)
    assert not Activity.objects.filter(action=Action.API_KEY_SHOWN).exists()


def test_viewer_gets_403_and_no_value(cast, api_key):
    credential, values = api_key

    for accept in ["text/html", "application/json"]:
        response = client_for(cast.viewer).post(
            show_url(credential, Slot.PRIMARY), headers={"Accept": accept}
        )
        assert response.status_code == 403
        assertNotContains(response, values[Slot.PRIMARY], status_code=403)
    assert not Activity.objects.filter(action=Action.API_KEY_SHOWN).exists()


def test_outsider_gets_404(cast, api_key):
    credential, _ = api_key

    response = client_for(cast.outsider).post(show_url(credential, Slot.PRIMARY))

    assert response.status_code == 404
    assert not changes().filter(actor__isnull=False).exists()  # the fixtures' rows have no actor


def test_credential_of_another_group_is_404_through_this_groups_url(cast):
    other, _ = make_api_key(make_group("Logistics"))

    response = client_for(cast.owner).post(
        f"/groups/payments/api-keys/{other.public_id}/primary/show/", headers={"Accept": "application/json"}
    )

    assert response.status_code == 404
    assert not changes().filter(actor__isnull=False).exists()  # the fixtures' rows have no actor


def test_unknown_slot_is_404(cast, api_key):
    credential, _ = api_key

    response = client_for(cast.owner).post(show_url(credential, "tertiary"))

    assert response.status_code == 404


def test_show_turned_off_gives_403(cast, api_key, settings):
    settings.CREDENTIALS_SHOW = False
    credential, values = api_key

    response = client_for(cast.owner).post(show_url(credential, Slot.PRIMARY))

    assert response.status_code == 403
    assertNotContains(response, values[Slot.PRIMARY], status_code=403)
    assert not Activity.objects.filter(action=Action.API_KEY_SHOWN).exists()


def test_post_without_csrf_token_is_refused(cast, api_key):
    credential, values = api_key
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.owner)

    response = client.post(show_url(credential, Slot.PRIMARY), headers={"Accept": "application/json"})

    assert response.status_code == 403
    assertNotContains(response, values[Slot.PRIMARY], status_code=403)
    assert not changes().filter(actor__isnull=False).exists()  # the fixtures' rows have no actor
