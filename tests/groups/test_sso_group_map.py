"""OIDC_GROUP_MAP: identity-provider groups to portal groups and roles (groups/sso.py)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from groups.models import Activity, Membership, Role
from groups.sso import apply, claimed_groups, group_map, wanted_roles
from tests.conftest import make_group, make_member, make_user

MAP = (
    "payments-owners=payments:owner payments-devs=payments:admin,auditors=payments:viewer ops=logistics:admin"
)


def test_the_map_is_read_and_a_mistake_is_named():
    assert group_map(MAP)[0] == ("payments-owners", "payments", Role.OWNER)
    assert len(group_map(MAP)) == 4
    assert group_map("") == []
    for wrong in ("devs", "devs=payments", "devs=payments:boss", "=payments:admin", "devs=:admin"):
        with pytest.raises(ImproperlyConfigured, match="OIDC_GROUP_MAP"):
            group_map(wrong)


def test_the_highest_role_wins_and_unnamed_groups_are_not_managed():
    wanted = wanted_roles(group_map(MAP), {"auditors", "payments-devs", "marketing"})
    assert wanted == {"payments": Role.ADMIN, "logistics": None}


def test_claims_come_from_the_id_token_and_userinfo_and_odd_values_are_ignored(settings):
    settings.OIDC_GROUPS_CLAIM = "groups"
    extra = {"id_token": {"groups": ["a", 7, None]}, "userinfo": {"groups": "b"}}
    assert claimed_groups(extra) == {"a", "b"}
    assert claimed_groups({}) == set()


def test_memberships_follow_the_claims_and_never_leave_a_group_without_an_owner(db, settings):
    settings.OIDC_GROUP_MAP = MAP
    payments, logistics, other = make_group("Payments"), make_group("Logistics"), make_group("Other")
    hana = make_user("hana")
    make_member(other, Role.OWNER, "olga")
    other.memberships.create(user=hana, role=Role.VIEWER)  # not in the map: left alone

    apply(hana, {"payments-devs", "ops"})
    assert Membership.objects.get(user=hana, group=payments).role == Role.ADMIN
    assert Membership.objects.get(user=hana, group=logistics).role == Role.ADMIN
    apply(hana, {"payments-owners"})
    assert Membership.objects.get(user=hana, group=payments).role == Role.OWNER
    assert not Membership.objects.filter(user=hana, group=logistics).exists()
    assert Activity.objects.filter(group=logistics, action="member.removed").exists()

    apply(hana, set())  # the last owner of Payments stays
    assert Membership.objects.get(user=hana, group=payments).role == Role.OWNER
    assert Membership.objects.get(user=hana, group=other).role == Role.VIEWER
