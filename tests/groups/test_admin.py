"""The admin site shows one "Groups": the portal's. django.contrib.auth's is unregistered."""

from django.contrib import admin
from django.contrib.auth.models import Group as PermissionGroup
from pytest_django.asserts import assertContains, assertNotContains

from groups.models import Group
from tests.conftest import client_for, make_user


def test_only_the_portals_groups_are_in_the_admin(db):
    assert admin.site.is_registered(Group)
    assert not admin.site.is_registered(PermissionGroup)


def test_the_admin_index_lists_groups_once(db):
    response = client_for(make_user("root", is_staff=True, is_superuser=True)).get("/admin/")

    assertContains(response, '<a href="/admin/groups/group/">Groups</a>', html=True)
    assertNotContains(response, "/admin/auth/group/")


def test_the_portal_does_not_link_to_the_admin(cast):
    for path in ("/groups/", "/groups/payments/members/"):
        assertNotContains(client_for(cast.staff).get(path), "/admin/")
