"""A group's policy through the management API: every member reads it, owners and staff set it with
Group.set_policy (as the Policy tab does), bad values a clear 400."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from credentials.models import ApiKey, Slot
from groups.models import Action, Activity, Group
from tests.conftest import make_api_key
from tests.manage.conftest import API, api_client, make_pat

POLICY = f"{API}/groups/payments/policy/"
ENFORCED_90 = {"max_credential_age_days": 90, "max_age_enforced": True}
# A second factor is not required unless a change says so (tests/accounts/test_two_factor_policy.py).
NOT_REQUIRED = {"two_factor_required": False}


def put(client, data):
    return client.put(POLICY, json.dumps(data), content_type="application/json")


def policy_of(group):
    return Group.objects.values_list("max_credential_age_days", "max_age_enforced").get(pk=group.pk)


@pytest.mark.parametrize("role", ["owner", "admin", "viewer", "staff"])
def test_every_member_reads_the_policy(cast, role):
    cast.group.set_policy(30, False, cast.owner)

    response = api_client(make_pat(getattr(cast, role))).get(POLICY)

    assert response.status_code == 200
    assert response.json() == {"max_credential_age_days": 30, "max_age_enforced": False, **NOT_REQUIRED}


@pytest.mark.parametrize("role", ["owner", "staff"])
def test_owners_and_staff_set_it_as_on_the_policy_tab(cast, role):
    user = getattr(cast, role)

    response = put(api_client(make_pat(user)), ENFORCED_90)

    assert response.status_code == 200
    assert response.json() == {**ENFORCED_90, **NOT_REQUIRED}
    assert policy_of(cast.group) == (90, True)
    entry = Activity.objects.get(action=Action.POLICY_CHANGED)
    assert (entry.actor, entry.target) == (user, "Payments (maximum credential age 90 days, enforced)")


def test_an_enforced_policy_refuses_old_keys(cast):
    credential, values = make_api_key(cast.group)
    ApiKey.objects.filter(credential=credential).update(created_at=timezone.now() - timedelta(days=91))

    put(api_client(make_pat(cast.owner)), ENFORCED_90)

    assert Client().get("/v1/whoami", headers={"X-Api-Key": values[Slot.PRIMARY]}).status_code == 401


@pytest.mark.parametrize(("role", "status"), [("admin", 403), ("viewer", 403), ("outsider", 404)])
def test_others_may_not_change_it(cast, role, status):
    response = put(api_client(make_pat(getattr(cast, role))), ENFORCED_90)

    assert response.status_code == status
    assert set(response.json()) == {"error", "error_description"}
    assert policy_of(cast.group) == (None, False)


def test_an_outsider_cannot_read_it(cast):
    response = api_client(make_pat(cast.outsider)).get(POLICY)

    assert response.status_code == 404
    assert "Payments" not in response.content.decode()


def test_an_admin_is_told_why(cast):
    response = put(api_client(make_pat(cast.admin)), ENFORCED_90)

    assert "Only the group's owners can change its policy" in response.json()["error_description"]


def test_a_read_only_token_only_reads(cast):
    client = api_client(make_pat(cast.owner, read_only=True))

    assert client.get(POLICY).status_code == 200
    assert put(client, ENFORCED_90).status_code == 403
    assert policy_of(cast.group) == (None, False)


def test_null_clears_the_policy_and_the_same_policy_records_nothing(cast):
    client = api_client(make_pat(cast.owner))
    put(client, ENFORCED_90)
    put(client, ENFORCED_90)

    cleared = put(client, {"max_credential_age_days": None, "max_age_enforced": True})

    assert cleared.json() == {"max_credential_age_days": None, "max_age_enforced": False, **NOT_REQUIRED}
    assert policy_of(cast.group) == (None, False)
    targets = Activity.objects.filter(action=Action.POLICY_CHANGED).values_list("target", flat=True)
    assert sorted(targets) == [
        "Payments (maximum credential age 90 days, enforced)",
        "Payments (no maximum credential age)",
    ]


def test_form_fields_are_taken_too(cast):
    response = Client().put(
        POLICY,
        "max_credential_age_days=30&max_age_enforced=false",
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Bearer {make_pat(cast.owner)}",
    )

    assert response.json() == {"max_credential_age_days": 30, "max_age_enforced": False, **NOT_REQUIRED}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "max_credential_age_days: This field is required (null for no maximum)."),
        ({"max_credential_age_days": 90}, "max_age_enforced: This field is required (false for warned"),
        ({"max_credential_age_days": 0, "max_age_enforced": False}, "greater than or equal to 1"),
        ({"max_credential_age_days": 3651, "max_age_enforced": False}, "less than or equal to 3650"),
        ({"max_credential_age_days": 10**30, "max_age_enforced": False}, "less than or equal to 3650"),
        ({"max_credential_age_days": "ninety", "max_age_enforced": False}, "Enter a whole number."),
        ({"max_credential_age_days": [90], "max_age_enforced": False}, "Enter a whole number."),
        ({"max_credential_age_days": True, "max_age_enforced": False}, "Enter a whole number."),
        ({"max_credential_age_days": 90, "max_age_enforced": "yes"}, "max_age_enforced: Send true or false."),
        ({"max_credential_age_days": 90, "max_age_enforced": 1}, "max_age_enforced: Send true or false."),
        ({"max_credential_age_days": 90, "max_age_enforced": None}, "max_age_enforced: Send true or false."),
    ],
)
def test_bad_values_are_a_clear_400(cast, body, says):
    response = put(api_client(make_pat(cast.owner)), body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert says in response.json()["error_description"]
    assert policy_of(cast.group) == (None, False)
    assert not Activity.objects.filter(action=Action.POLICY_CHANGED).exists()


def test_a_json_array_is_a_clear_400(cast):
    response = api_client(make_pat(cast.owner)).put(POLICY, "[90, true]", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
