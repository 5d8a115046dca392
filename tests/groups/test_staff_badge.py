"""Staff show as staff wherever a role is shown, with what that means; they act as owners."""

import pytest
from pytest_django.asserts import assertContains, assertNotContains

from groups.models import Membership, Role
from tests.conftest import client_for

STAFF_BADGE = '<span class="role role-staff"'


@pytest.mark.parametrize(
    "path", ["/groups/payments/", "/groups/payments/members/", "/groups/payments/activity/"]
)
def test_the_group_header_calls_staff_staff(cast, path):
    response = client_for(cast.staff).get(path)

    assertContains(response, STAFF_BADGE)
    assertNotContains(response, '<span class="role role-owner">owner</span>', html=True)


def test_staff_who_are_also_owners_are_still_staff(cast):
    Membership.objects.create(user=cast.staff, group=cast.group, role=Role.OWNER)
    client = client_for(cast.staff)

    header = client.get("/groups/payments/")
    listing = client.get("/groups/")

    assertContains(header, STAFF_BADGE)
    assertContains(listing, '<span class="role role-staff">staff</span>', html=True)
    assertNotContains(listing, '<span class="role role-owner">owner</span>', html=True)


def test_the_group_list_says_what_staff_means(cast):
    response = client_for(cast.staff).get("/groups/")

    assertContains(response, '<span class="role role-staff">staff</span>', html=True)
    assertContains(response, "you see and manage every group without being one of its members")


def test_members_lists_the_real_members_to_staff(cast):
    response = client_for(cast.staff).get("/groups/payments/members/")

    for username in ("olivia", "adam", "vera"):
        assertContains(response, f'<td class="strong">{username}</td>', html=True)
    assertNotContains(response, "no members yet")
    assertContains(response, "a platform administrator: you see and manage every group without being one")
    assertContains(response, "<dt>Staff</dt>", html=True)


def test_members_of_others_keep_their_own_roles(cast):
    response = client_for(cast.owner).get("/groups/payments/members/")

    assertContains(response, '<span class="role role-owner">owner</span>', html=True)
    assertNotContains(response, "You are <span")
