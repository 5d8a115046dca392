"""Forms that act once, and values that cross the redirect once (finding 1 of the outside audit:
a reload after Regenerate regenerated again, after Create it answered "name already taken")."""

from datetime import timedelta

from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from credentials.models import ApiKeyCredential, Reveal
from groups.models import Action
from tests.conftest import changes, client_for, key_identity, make_api_key, versioned

NEW = "/groups/payments/api-keys/new/"
TAB = "/groups/payments/"


def values_on(response):
    """The values in clear on a page."""
    return [part.split("<", 1)[0] for part in response.content.decode().split('data-secret="')[1:]]


def test_regenerate_sent_twice_regenerates_once(cast):
    credential, _ = make_api_key(cast.group)
    owner = client_for(cast.owner)
    form = {"version": credential.version, "submission": "token-of-this-form"}
    path = f"/groups/payments/api-keys/{credential.public_id}/primary/regenerate/"

    first = owner.post(path, form)
    again = owner.post(path, form)  # a reload of the result, or back and submit again

    assert first.status_code == again.status_code == 302
    assert again["Location"] == first["Location"]
    assert first["Location"].startswith(f"{TAB}?reveal=")
    assert changes().filter(action=Action.API_KEY_REGENERATED).count() == 1
    (value,) = [v.split(">", 1)[1] for v in values_on(owner.get(first["Location"]))]
    assert key_identity(value) is not None


def test_create_sent_twice_creates_once_without_a_name_error(cast):
    owner = client_for(cast.owner)
    form = {"name": "Billing app", "submission": "token-of-this-form"}

    first, again = owner.post(NEW, form), owner.post(NEW, form)

    assert (first.status_code, again.status_code) == (302, 302)
    assert again["Location"] == first["Location"]
    assert ApiKeyCredential.objects.count() == 1


def test_the_same_form_with_other_fields_acts_again(cast):
    """Back to the form, another name typed in: a new credential, not the first one's page."""
    owner = client_for(cast.owner)

    owner.post(NEW, {"name": "Billing app", "submission": "token-of-this-form"})
    owner.post(NEW, {"name": "Search app", "submission": "token-of-this-form"})

    assert sorted(ApiKeyCredential.objects.values_list("name", flat=True)) == ["Billing app", "Search app"]


def test_a_form_with_errors_can_be_corrected_and_sent_with_its_token(cast):
    owner = client_for(cast.owner)

    refused = owner.post(NEW, {"name": "", "submission": "token-of-this-form"})
    corrected = owner.post(NEW, {"name": "Billing app", "submission": "token-of-this-form"})

    assert refused.status_code == 200
    assert corrected.status_code == 302
    assert ApiKeyCredential.objects.count() == 1


def test_tokens_are_per_user(cast):
    form = {"name": "Billing app", "submission": "the-same-token"}

    client_for(cast.owner).post(NEW, form)
    second = client_for(cast.admin).post(NEW, form)

    assert second.status_code == 200  # the admin's own submission: the name is taken
    assertContains(second, "already has a credential with this name")


def test_a_revealed_value_is_shown_once(cast):
    owner = client_for(cast.owner)
    location = owner.post(NEW, {"name": "Billing app"})["Location"]

    first, reload = owner.get(location), owner.get(location)

    assert len(values_on(first)) == 2
    assert "no-store" in first["Cache-Control"]
    assert values_on(reload) == []
    assertContains(reload, "That value was shown once already")
    assert not Reveal.objects.exists()


def test_a_reveal_is_for_its_user_only(cast):
    location = client_for(cast.owner).post(NEW, {"name": "Billing app"})["Location"]

    other = client_for(cast.admin).get(location)

    assert values_on(other) == []
    assert Reveal.objects.count() == 1  # still waiting for its user


def test_a_reveal_not_opened_in_time_is_gone(cast, settings):
    owner = client_for(cast.owner)
    location = owner.post(NEW, {"name": "Billing app"})["Location"]
    Reveal.objects.update(created_at=timezone.now() - timedelta(seconds=settings.REVEAL_SECONDS + 1))

    assert values_on(owner.get(location)) == []
    assert list(Reveal.objects.expired(timezone.now())) == list(Reveal.objects.all())


def test_show_with_javascript_answers_json_and_is_not_remembered(cast):
    credential, values = make_api_key(cast.group)
    owner = client_for(cast.owner)
    path = f"/groups/payments/api-keys/{credential.public_id}/primary/show/"
    form = {"submission": "token-of-the-show-form"}

    answers = [owner.post(path, form, HTTP_ACCEPT="application/json") for _ in range(2)]

    assert [a.json()["value"] for a in answers] == [values["primary"]] * 2
    assert changes().filter(action=Action.API_KEY_COPIED).count() == 2  # each Copy asks again


def test_a_delete_sent_twice_is_one_deletion_and_one_message(cast):
    credential, _ = make_api_key(cast.group)
    owner = client_for(cast.owner)
    path = versioned(f"/groups/payments/api-keys/{credential.public_id}/delete/", credential)

    first = owner.post(path, {"submission": "token-of-this-form"}, follow=True)
    again = owner.post(path, {"submission": "token-of-this-form"}, follow=True)

    assertContains(first, "deleted")
    assertNotContains(again, "was deleted after you opened this page")
    assert changes().filter(action=Action.API_KEY_DELETED).count() == 1
