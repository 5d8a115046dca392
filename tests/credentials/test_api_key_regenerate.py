import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from credentials import secrets
from credentials.models import Slot
from groups.models import Action, Activity
from tests.conftest import changes, client_for, make_api_key, make_group, versioned

SECRET_ELEMENT = re.compile(r'data-secret="([\w-]+)"[^>]*>([^<]*)<')
WARNING = "Applications may still depend on this key."
NEVER_USED = "The {} key has not been used since it was issued"


@pytest.fixture
def api_key(cast):
    """The cast's group with one API key credential: (credential, {slot: value})."""
    return make_api_key(cast.group)


def regenerate_url(credential, slot):
    return versioned(
        f"/groups/{credential.group.slug}/api-keys/{credential.public_id}/{slot}/regenerate/", credential
    )


def revealed(response):
    """{slot: value} of every value shown in clear on the page."""
    return dict(SECRET_ELEMENT.findall(response.content.decode()))


def use(client, value, address="203.0.113.7"):
    assert client.get("/v1/whoami", headers={"X-Api-Key": value}, REMOTE_ADDR=address).status_code == 200


def whoami_status(client, value):
    return client.get("/v1/whoami", headers={"X-Api-Key": value}).status_code


def whoami_slot(client, value):
    return client.get("/v1/whoami", headers={"X-Api-Key": value}).json()["auth"]["slot"]


def dialog(response, credential, slot):
    """What the in-page Regenerate dialog of one slot shows: the title its button carries and the
    warnings of its row, which the page's script copies into the shared dialog."""
    page = response.content.decode()
    url = f"/groups/payments/api-keys/{credential.public_id}/{slot}/regenerate/?version={credential.version}"
    start = page.index(f'href="{url}"')
    end = page.index("</div>", start)
    button, row = page[start : page.index(">", start)], page[start:end]
    warnings = row[row.index('<template class="warnings">') :] if '<template class="warnings">' in row else ""
    return button + (WARNING + warnings if warnings else "")


def test_confirmation_page_names_the_slot_and_changes_nothing(cast, api_key):
    credential, values = api_key

    response = client_for(cast.owner).get(regenerate_url(credential, Slot.PRIMARY))

    assert response.status_code == 200
    assertContains(response, "Regenerate the primary key of Billing app?")
    assertContains(response, "The secondary key is not changed.")
    assert credential.keys.get(slot=Slot.PRIMARY).digest == secrets.digest(values[Slot.PRIMARY])


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_writer_regenerates_one_slot_and_sees_the_new_value_once(cast, api_key, role):
    credential, values = api_key

    response = client_for(getattr(cast, role)).post(regenerate_url(credential, Slot.PRIMARY), follow=True)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assertContains(response, "Primary key of Billing app regenerated: the old one no longer works.")
    new = revealed(response)["primary"]
    assert set(revealed(response)) == {"primary"}
    assert new not in values.values()
    assert credential.keys.get(slot=Slot.PRIMARY).digest == secrets.digest(new)
    assert credential.keys.get(slot=Slot.SECONDARY).digest == secrets.digest(values[Slot.SECONDARY])


def test_old_primary_is_refused_while_secondary_and_new_primary_work(cast, api_key, client):
    credential, values = api_key

    new = revealed(client_for(cast.owner).post(regenerate_url(credential, Slot.PRIMARY), follow=True))[
        "primary"
    ]

    assert whoami_status(client, values[Slot.PRIMARY]) == 401
    assert whoami_slot(client, values[Slot.SECONDARY]) == "secondary"
    assert whoami_slot(client, new) == "primary"


def test_regenerating_secondary_leaves_primary_working(cast, api_key, client):
    credential, values = api_key

    new = revealed(client_for(cast.admin).post(regenerate_url(credential, Slot.SECONDARY), follow=True))[
        "secondary"
    ]

    assert whoami_status(client, values[Slot.SECONDARY]) == 401
    assert whoami_status(client, values[Slot.PRIMARY]) == 200
    assert whoami_status(client, new) == 200


def test_regeneration_is_recorded_without_the_values(cast, api_key):
    credential, values = api_key

    response = client_for(cast.admin).post(regenerate_url(credential, Slot.SECONDARY), follow=True)

    activity = Activity.objects.get(action=Action.API_KEY_REGENERATED)
    assert (activity.actor, activity.target) == (cast.admin, "Billing app secondary key")
    for value in [*values.values(), revealed(response)["secondary"]]:
        assert value not in activity.target


def test_new_value_is_revealed_once_even_when_show_is_off(cast, api_key, settings):
    settings.CREDENTIALS_SHOW = False
    credential, _ = api_key

    response = client_for(cast.owner).post(regenerate_url(credential, Slot.PRIMARY), follow=True)

    assert response.status_code == 200
    new = revealed(response)["primary"]
    assert credential.keys.get(slot=Slot.PRIMARY).digest == secrets.digest(new)


def test_viewer_gets_403_and_the_key_is_unchanged(cast, api_key):
    credential, values = api_key
    viewer = client_for(cast.viewer)

    assert viewer.get(regenerate_url(credential, Slot.PRIMARY)).status_code == 403
    response = viewer.post(regenerate_url(credential, Slot.PRIMARY))

    assert response.status_code == 403
    assertNotContains(response, "data-secret", status_code=403)
    assert credential.keys.get(slot=Slot.PRIMARY).digest == secrets.digest(values[Slot.PRIMARY])
    assert not changes().filter(actor__isnull=False).exists()  # the fixtures' rows have no actor


def test_outsider_gets_404(cast, api_key):
    credential, values = api_key
    outsider = client_for(cast.outsider)

    assert outsider.get(regenerate_url(credential, Slot.PRIMARY)).status_code == 404
    assert outsider.post(regenerate_url(credential, Slot.PRIMARY)).status_code == 404
    assert credential.keys.get(slot=Slot.PRIMARY).digest == secrets.digest(values[Slot.PRIMARY])


def test_credential_of_another_group_is_404_through_this_groups_url(cast):
    other, values = make_api_key(make_group("Logistics"))

    response = client_for(cast.owner).post(f"/groups/payments/api-keys/{other.public_id}/primary/regenerate/")

    assert response.status_code == 404
    assert other.keys.get(slot=Slot.PRIMARY).digest == secrets.digest(values[Slot.PRIMARY])


def test_confirmation_warns_when_the_other_slot_was_never_used(cast, api_key):
    credential, _ = api_key

    response = client_for(cast.owner).get(regenerate_url(credential, Slot.PRIMARY))

    assertContains(response, WARNING)
    assertContains(response, NEVER_USED.format("secondary"))


def test_confirmation_warns_when_this_slot_was_used_in_the_last_ten_minutes(cast, api_key, client):
    credential, values = api_key
    use(client, values[Slot.PRIMARY], "203.0.113.7")
    use(client, values[Slot.SECONDARY])
    used = credential.keys.get(slot=Slot.PRIMARY).last_used_at

    response = client_for(cast.owner).get(regenerate_url(credential, Slot.PRIMARY))

    assertContains(response, WARNING)
    assertContains(response, f"The primary key was used {used:%Y-%m-%d %H:%M} UTC from 203.0.113.7")
    assertNotContains(response, NEVER_USED.format("secondary"))


def test_no_warning_when_the_other_slot_is_used_and_this_one_not_recently(cast, api_key, client, settings):
    credential, values = api_key
    use(client, values[Slot.SECONDARY])
    long_ago = timezone.now() - timedelta(seconds=settings.RECENT_USE_WARNING + 60)
    credential.keys.filter(slot=Slot.PRIMARY).update(last_used_at=long_ago, last_used_address="203.0.113.7")

    response = client_for(cast.owner).get(regenerate_url(credential, Slot.PRIMARY))

    assert response.status_code == 200
    assertNotContains(response, WARNING)


def test_regenerated_slot_counts_as_not_used_since_it_was_issued(cast, api_key, client):
    credential, values = api_key
    use(client, values[Slot.PRIMARY])
    use(client, values[Slot.SECONDARY])
    owner = client_for(cast.owner)
    owner.post(regenerate_url(credential, Slot.SECONDARY))

    response = owner.get(regenerate_url(credential, Slot.PRIMARY))

    assertContains(response, NEVER_USED.format("secondary"))


def test_in_page_dialog_carries_the_same_warnings(cast, api_key, client):
    credential, values = api_key
    use(client, values[Slot.PRIMARY], "203.0.113.7")

    response = client_for(cast.owner).get("/groups/payments/")

    primary, secondary = dialog(response, credential, "primary"), dialog(response, credential, "secondary")
    assert "The primary key was used" in primary
    assert "from 203.0.113.7" in primary
    assert NEVER_USED.format("secondary") in primary
    assert WARNING not in secondary


def test_in_page_dialog_has_no_warning_when_rotation_is_safe(cast, api_key, client, settings):
    credential, values = api_key
    use(client, values[Slot.SECONDARY])
    long_ago = timezone.now() - timedelta(seconds=settings.RECENT_USE_WARNING + 60)
    credential.keys.filter(slot=Slot.PRIMARY).update(last_used_at=long_ago)

    response = client_for(cast.owner).get("/groups/payments/")

    assert "Regenerate the primary key of Billing app?" in dialog(response, credential, "primary")
    assert WARNING not in dialog(response, credential, "primary")


def test_post_without_csrf_token_is_refused(cast, api_key):
    credential, values = api_key
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.owner)

    response = client.post(regenerate_url(credential, Slot.PRIMARY))

    assert response.status_code == 403
    assert credential.keys.get(slot=Slot.PRIMARY).digest == secrets.digest(values[Slot.PRIMARY])
