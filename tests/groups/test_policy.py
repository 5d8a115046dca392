"""The group's Policy page: every member reads it; owners and staff change it."""

import pytest
from pytest_django.asserts import assertContains, assertRedirects

from groups.models import Action, Activity
from tests.conftest import client_for

POLICY = "/groups/payments/policy/"


@pytest.mark.parametrize("role", ["owner", "staff"])
def test_owners_and_staff_set_the_policy(cast, role):
    user = getattr(cast, role)
    browser = client_for(user)

    response = browser.post(POLICY, {"max_credential_age_days": "90", "max_age_enforced": "on"})

    assertRedirects(response, POLICY, fetch_redirect_response=False)
    cast.group.refresh_from_db()
    assert (cast.group.max_credential_age_days, cast.group.max_age_enforced) == (90, True)
    entry = Activity.objects.get(action=Action.POLICY_CHANGED)
    assert (entry.actor, entry.target) == (user, "Payments (maximum credential age 90 days, enforced)")
    assertContains(browser.get(POLICY), "Keys and client secrets older than 90 days are refused.")


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_admins_and_viewers_read_it_and_get_403_on_change(cast, role):
    browser = client_for(getattr(cast, role))

    assertContains(browser.get(POLICY), "No maximum credential age")
    assert browser.post(POLICY, {"max_credential_age_days": "90"}).status_code == 403
    cast.group.refresh_from_db()
    assert cast.group.max_credential_age_days is None


def test_an_outsider_gets_404(cast):
    browser = client_for(cast.outsider)

    assert browser.get(POLICY).status_code == 404
    assert browser.post(POLICY, {"max_credential_age_days": "90"}).status_code == 404


def test_saving_the_same_policy_again_records_nothing(cast):
    browser = client_for(cast.owner)
    browser.post(POLICY, {"max_credential_age_days": "30"})
    browser.post(POLICY, {"max_credential_age_days": "30"})

    assert Activity.objects.filter(action=Action.POLICY_CHANGED).count() == 1


def test_enforced_without_an_age_is_no_policy(cast):
    client_for(cast.owner).post(POLICY, {"max_credential_age_days": "", "max_age_enforced": "on"})

    cast.group.refresh_from_db()
    assert (cast.group.max_credential_age_days, cast.group.max_age_enforced) == (None, False)


def test_a_bad_age_is_a_form_error(cast):
    response = client_for(cast.owner).post(POLICY, {"max_credential_age_days": "0"})

    assert response.status_code == 400
    assertContains(response, "greater than or equal to 1", status_code=400)
