from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from groups.models import Role
from tests.conftest import client_for, make_group, make_member, make_user


def test_heading_is_group_list(cast):
    response = client_for(cast.viewer).get("/groups/")

    assert response.status_code == 200
    assertContains(response, "<h1>Group List</h1>", html=True)


def test_member_sees_their_groups_as_links_labelled_with_the_name(cast):
    response = client_for(cast.owner).get("/groups/")

    assertContains(response, '<a class="strong" href="/groups/payments/">Payments</a>', html=True)


def test_member_does_not_see_other_groups(cast):
    make_group("Logistics")

    response = client_for(cast.owner).get("/groups/")

    assert response.status_code == 200
    assertContains(response, "Payments")
    assertNotContains(response, "Logistics")
    assertNotContains(response, "/groups/logistics/")


def test_member_of_two_groups_sees_both(cast):
    logistics = make_group("Logistics")
    make_group("Marketing")
    make_member(logistics, Role.VIEWER, "vera-2")
    both = make_user("bob")
    for group in (cast.group, logistics):
        group.memberships.create(user=both, role=Role.ADMIN)

    response = client_for(both).get("/groups/")

    assertContains(response, '<a class="strong" href="/groups/payments/">Payments</a>', html=True)
    assertContains(response, '<a class="strong" href="/groups/logistics/">Logistics</a>', html=True)
    assertNotContains(response, "Marketing")


def test_staff_see_every_group(cast):
    make_group("Logistics")

    response = client_for(cast.staff).get("/groups/")

    assertContains(response, '<a class="strong" href="/groups/payments/">Payments</a>', html=True)
    assertContains(response, '<a class="strong" href="/groups/logistics/">Logistics</a>', html=True)


def test_staff_see_new_group_button(cast):
    response = client_for(cast.staff).get("/groups/")

    assertContains(response, '<a class="button primary" href="/groups/new/">New group</a>', html=True)


def test_non_staff_see_no_new_group_button(cast):
    for user in (cast.owner, cast.outsider):
        response = client_for(user).get("/groups/")

        assert response.status_code == 200
        assertNotContains(response, "New group")
        assertNotContains(response, "/groups/new/")


def test_anonymous_user_is_redirected_to_login(client):
    response = client.get("/groups/")

    assertRedirects(response, "/accounts/login/?next=/groups/", fetch_redirect_response=False)


def test_user_without_groups_sees_empty_state(cast):
    response = client_for(cast.outsider).get("/groups/")

    assert response.status_code == 200
    assertContains(response, "No groups yet")
    assertContains(response, "You are not a member of any group.")
    assertNotContains(response, "Payments")


def test_staff_without_groups_are_invited_to_create_one(db):
    response = client_for(make_user("stella", is_staff=True)).get("/groups/")

    assert response.status_code == 200
    assertContains(response, "No groups yet")
    assertContains(response, "Create a group, then add its owners")


def test_list_shows_own_role(cast):
    response = client_for(cast.admin).get("/groups/")

    assertContains(response, '<span class="role role-admin">admin</span>', html=True)


def test_staff_see_the_number_of_members(cast):
    response = client_for(cast.staff).get("/groups/")

    assertContains(response, '<td data-label="Members">3</td>', html=True)


def test_member_sees_the_number_of_all_members_not_only_themselves(cast):
    response = client_for(cast.admin).get("/groups/")

    assert cast.group.memberships.count() == 3
    assertContains(response, '<td data-label="Members">3</td>', html=True)
