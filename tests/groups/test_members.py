import pytest
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from groups.models import Activity, Membership, Role
from tests.conftest import (
    changes,
    client_for,
    make_group,
    make_member,
    make_user,
    needs_postgresql,
    post_together,
)

MEMBERS = "/groups/payments/members/"


def roles(group):
    return dict(group.memberships.values_list("user__username", "role"))


def test_members_are_listed_with_their_roles(cast):
    response = client_for(cast.viewer).get(MEMBERS)

    assert response.status_code == 200
    assertContains(response, "<h2>Members</h2>", html=True)
    for username, role in [("olivia", "owner"), ("adam", "admin"), ("vera", "viewer")]:
        assertContains(response, f'<td class="strong">{username}</td>', html=True)
        assertContains(response, f'<span class="role role-{role}">{role}</span>', html=True)


def test_only_owners_see_the_add_form_and_role_controls(cast):
    owner_page = client_for(cast.owner).get(MEMBERS)
    admin_page = client_for(cast.admin).get(MEMBERS)

    assertContains(owner_page, "Invite a member")
    assertContains(owner_page, "Change role")
    assertNotContains(admin_page, "Invite a member")
    assertNotContains(admin_page, "Change role")
    assertNotContains(admin_page, "/members/vera/remove/")


def test_an_owner_invites_a_username_rather_than_adding_it(cast):
    response = client_for(cast.owner).post(
        f"{MEMBERS}add/", {"username": "oscar", "role": "admin"}, follow=True
    )

    assertRedirects(response, MEMBERS)
    assertContains(response, "Invitation made for the username oscar.")
    assert "oscar" not in roles(cast.group)
    assert cast.group.invitations.pending().get().role == Role.ADMIN


def test_staff_are_told_exactly_whom_they_added(cast):
    response = client_for(cast.staff).post(
        f"{MEMBERS}add/", {"username": "oscar", "role": "admin"}, follow=True
    )

    assertContains(response, "oscar added as admin.")
    assert roles(cast.group)["oscar"] == Role.ADMIN


def test_an_owner_gets_the_same_answer_whether_the_username_exists_or_not(cast):
    make_user("ivan", is_active=False)
    client = client_for(cast.owner)

    answers = [
        client.post(f"{MEMBERS}add/", {"username": name, "role": "viewer"}, follow=True)
        for name in ("oscar", "nobody", "ivan")
    ]

    assert {answer.status_code for answer in answers} == {200}
    for answer, name in zip(answers, ("oscar", "nobody", "ivan"), strict=True):
        assertContains(answer, f"Invitation made for the username {name}. If an account has that username")
        assertNotContains(answer, "There is no active user")
    assert {"oscar", "nobody", "ivan"}.isdisjoint(roles(cast.group))


def test_adding_a_member_is_recorded(cast):
    client_for(cast.staff).post(
        f"{MEMBERS}add/", {"username": "oscar", "role": "viewer"}, REMOTE_ADDR="192.0.2.1"
    )

    row = Activity.objects.get(group=cast.group)
    assert (row.action, row.target, row.actor, row.actor_name) == (
        "member.added",
        "oscar as viewer",
        cast.staff,
        "stella",
    )
    assert row.source_address == "192.0.2.1"


def test_new_member_sees_the_group(cast):
    client_for(cast.staff).post(f"{MEMBERS}add/", {"username": "oscar", "role": "viewer"})

    response = client_for(cast.outsider).get("/groups/payments/")

    assert response.status_code == 200
    assertContains(response, "Group Information")


def test_adding_an_unknown_user_is_a_form_error_for_staff(cast):
    response = client_for(cast.staff).post(f"{MEMBERS}add/", {"username": "nobody", "role": "viewer"})

    assert response.status_code == 400
    assertContains(response, "There is no active user with this username.", status_code=400)
    assert cast.group.memberships.count() == 3
    assert not changes().exists()


def test_adding_an_inactive_user_is_a_form_error_for_staff(cast):
    make_user("ivan", is_active=False)

    response = client_for(cast.staff).post(f"{MEMBERS}add/", {"username": "ivan", "role": "viewer"})

    assertContains(response, "There is no active user with this username.", status_code=400)
    assert "ivan" not in roles(cast.group)


def test_adding_an_existing_member_is_a_form_error_for_staff(cast):
    response = client_for(cast.staff).post(f"{MEMBERS}add/", {"username": "vera", "role": "owner"})

    assertContains(response, "vera is already a member of this group.", status_code=400)
    assert roles(cast.group)["vera"] == Role.VIEWER
    assert not changes().exists()


def test_an_owner_inviting_an_existing_member_is_told_nothing_more(cast):
    response = client_for(cast.owner).post(
        f"{MEMBERS}add/", {"username": "vera", "role": "owner"}, follow=True
    )

    assertContains(response, "Invitation made for the username vera.")
    assertNotContains(response, "already a member")
    assert roles(cast.group)["vera"] == Role.VIEWER


def test_adding_with_an_unknown_role_is_a_form_error(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}add/", {"username": "oscar", "role": "superuser"})

    assertContains(response, "Select a valid choice.", status_code=400)
    assert "oscar" not in roles(cast.group)


def test_owner_changes_a_role(cast):
    response = client_for(cast.owner).post(
        f"{MEMBERS}vera/role/", {"role": "admin", "version": 1}, follow=True
    )

    assertRedirects(response, MEMBERS)
    assertContains(response, "vera is now admin.")
    assert roles(cast.group)["vera"] == Role.ADMIN


def test_changing_a_role_is_recorded(cast):
    client_for(cast.owner).post(f"{MEMBERS}adam/role/", {"role": "owner", "version": 1})

    row = Activity.objects.get(group=cast.group)
    assert (row.action, row.target, row.actor_name) == ("member.role_changed", "adam to owner", "olivia")


def test_changing_the_role_of_a_non_member_is_404(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}oscar/role/", {"role": "owner", "version": 1})

    assert response.status_code == 404
    assert not Membership.objects.filter(user=cast.outsider).exists()


def test_owner_sees_a_confirmation_before_removing(cast):
    response = client_for(cast.owner).get(f"{MEMBERS}vera/remove/")

    assert response.status_code == 200
    assertContains(response, "<h2>Remove vera?</h2>", html=True)
    assert "vera" in roles(cast.group)


def test_owner_removes_a_member(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}vera/remove/", {"version": 1}, follow=True)

    assertRedirects(response, MEMBERS)
    assertContains(response, "vera removed from Payments.")
    assert "vera" not in roles(cast.group)
    assert client_for(cast.viewer).get("/groups/payments/").status_code == 404


def test_removing_a_member_is_recorded(cast):
    client_for(cast.owner).post(f"{MEMBERS}adam/remove/", {"version": 1})

    row = Activity.objects.get(group=cast.group)
    assert (row.action, row.target, row.actor_name) == ("member.removed", "adam", "olivia")


def test_removing_a_non_member_is_404(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}oscar/remove/", {"version": 1})

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "vera%00/remove/"),
        ("post", "vera%00/remove/"),
        ("post", "vera%00/role/"),
        ("post", "%00/role/"),
    ],
)
def test_a_nul_in_a_username_is_404(cast, method, path):
    # PostgreSQL refuses NUL in text: such a name must never reach a query.
    response = getattr(client_for(cast.owner), method)(f"{MEMBERS}{path}", {"role": "owner", "version": 1})

    assert response.status_code == 404
    assert roles(cast.group)["vera"] == "viewer"


@pytest.mark.parametrize("role", ["admin", "viewer"])
@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "add/", {"username": "oscar", "role": "owner"}),
        ("post", "vera/role/", {"role": "owner", "version": 1}),
        ("post", "adam/role/", {"role": "viewer", "version": 1}),
        ("get", "vera/remove/", {}),
        ("post", "vera/remove/", {"version": 1}),
        ("post", "olivia/remove/", {"version": 1}),
    ],
)
def test_admin_and_viewer_cannot_change_members(cast, role, method, path, data):
    client = client_for(getattr(cast, role))
    before = roles(cast.group)

    response = getattr(client, method)(f"{MEMBERS}{path}", data)

    assert response.status_code == 403
    assert roles(cast.group) == before
    assert not changes().exists()


def test_last_owner_cannot_be_demoted(cast):
    response = client_for(cast.owner).post(
        f"{MEMBERS}olivia/role/", {"role": "admin", "version": 1}, follow=True
    )

    assertRedirects(response, MEMBERS)
    assertContains(response, "A group needs at least one owner.")
    assert roles(cast.group)["olivia"] == Role.OWNER
    assert not changes().exists()


def test_last_owner_cannot_be_removed(cast):
    client = client_for(cast.owner)

    confirm = client.get(f"{MEMBERS}olivia/remove/", follow=True)
    response = client.post(f"{MEMBERS}olivia/remove/", {"version": 1}, follow=True)

    assertContains(confirm, "A group needs at least one owner: add another owner first.")
    assertNotContains(confirm, "<h2>Remove olivia?</h2>", html=True)
    assertContains(response, "A group needs at least one owner: add another owner first.")
    assert roles(cast.group)["olivia"] == Role.OWNER
    assert not changes().exists()


def test_an_owner_can_step_down_when_another_owner_remains(cast):
    client_for(cast.owner).post(f"{MEMBERS}adam/role/", {"role": "owner", "version": 1})

    response = client_for(cast.owner).post(f"{MEMBERS}olivia/role/", {"role": "viewer", "version": 1})

    assert response.status_code == 302
    assert roles(cast.group) == {"olivia": Role.VIEWER, "adam": Role.OWNER, "vera": Role.VIEWER}


def test_an_owner_can_be_removed_when_another_owner_remains(cast):
    make_member(cast.group, Role.OWNER, "otto")

    response = client_for(cast.owner).post(f"{MEMBERS}otto/remove/", {"version": 1})

    assert response.status_code == 302
    assert "otto" not in roles(cast.group)


def test_staff_manage_members_of_any_group(cast):
    logistics = make_group("Logistics")
    client = client_for(cast.staff)

    assert client.get("/groups/logistics/members/").status_code == 200
    assert (
        client.post("/groups/logistics/members/add/", {"username": "oscar", "role": "owner"}).status_code
        == 302
    )
    assert (
        client.post("/groups/logistics/members/add/", {"username": "vera", "role": "viewer"}).status_code
        == 302
    )
    assert (
        client.post("/groups/logistics/members/vera/role/", {"role": "admin", "version": 1}).status_code
        == 302
    )
    assert roles(logistics) == {"oscar": Role.OWNER, "vera": Role.ADMIN}
    assert client.post("/groups/logistics/members/vera/remove/", {"version": 2}).status_code == 302
    assert roles(logistics) == {"oscar": Role.OWNER}
    assert set(logistics.activities.values_list("actor_name", flat=True)) == {"stella"}


def test_outsider_gets_404(cast):
    client = client_for(cast.outsider)

    assert client.get(MEMBERS).status_code == 404
    assert client.post(f"{MEMBERS}add/", {"username": "oscar", "role": "owner"}).status_code == 404
    assert "oscar" not in roles(cast.group)


def test_membership_of_another_group_gives_no_rights_here(cast):
    logistics = make_group("Logistics")
    make_member(logistics, Role.OWNER, "lars")

    response = client_for(logistics.memberships.get().user).post(f"{MEMBERS}vera/remove/", {"version": 1})

    assert response.status_code == 404
    assert "vera" in roles(cast.group)


def test_owner_who_removes_themselves_lands_on_a_page_they_can_see(cast):
    make_member(cast.group, Role.OWNER, "otto")

    response = client_for(cast.owner).post(f"{MEMBERS}olivia/remove/", {"version": 1}, follow=True)

    assert response.status_code == 200
    assertContains(response, "olivia removed from Payments.")
    assert "olivia" not in roles(cast.group)


def test_the_role_forms_and_the_confirmation_carry_the_version_the_owner_sees(cast):
    client = client_for(cast.owner)
    client.post(f"{MEMBERS}vera/role/", {"role": "admin", "version": 1})

    page = client.get(MEMBERS)
    confirm = client.get(f"{MEMBERS}vera/remove/")

    assertContains(page, '<input type="hidden" name="version" value="2">', html=True)
    assertContains(page, '<input type="hidden" name="version" value="1">', count=2, html=True)
    assertContains(confirm, "vera (admin) will no longer see Payments")
    assertContains(confirm, '<input type="hidden" name="version" value="2">', html=True)


def test_a_role_change_bumps_the_version_and_says_who_made_it(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}vera/role/", {"role": "admin", "version": 1})

    assert response.status_code == 302
    membership = cast.group.memberships.get(user=cast.viewer)
    assert (membership.role, membership.version, membership.changed_by) == (Role.ADMIN, 2, cast.owner)
    assert membership.changed_at is not None


def changed_by_otto(group, username="vera", role=Role.ADMIN):
    """Another owner, otto, changes the member's role first; returns the conflict message's time."""
    client_for(make_member(group, Role.OWNER, "otto")).post(
        f"{MEMBERS}{username}/role/", {"role": role, "version": 1}
    )
    return f"{group.memberships.get(user__username=username).changed_at:%Y-%m-%d %H:%M:%S}"


def test_a_role_change_from_a_stale_page_changes_nothing_and_says_who_changed_it(cast):
    when = changed_by_otto(cast.group)

    response = client_for(cast.owner).post(
        f"{MEMBERS}vera/role/", {"role": "owner", "version": 1}, follow=True
    )

    assertRedirects(response, MEMBERS)
    assertContains(response, f"vera in Payments (admin) was changed by otto at {when} UTC after you opened")
    assertContains(response, "Nothing was done: check it and try again.")
    assert roles(cast.group)["vera"] == Role.ADMIN
    assert list(changes().values_list("actor_name", "target")) == [("otto", "vera to admin")]


def test_a_script_with_a_stale_version_gets_409(cast):
    when = changed_by_otto(cast.group)

    response = client_for(cast.owner).post(
        f"{MEMBERS}vera/role/", {"role": "owner", "version": 1}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "error_description": f"vera in Payments (admin) was changed by otto at {when} UTC after you"
        " opened this page. Nothing was done: check it and try again.",
    }
    assert roles(cast.group)["vera"] == Role.ADMIN


@pytest.mark.parametrize(
    "data", [{}, {"version": ""}, {"version": "abc"}, {"version": "0"}, {"version": "2"}]
)
def test_a_role_change_without_the_current_version_changes_nothing(cast, data):
    response = client_for(cast.owner).post(f"{MEMBERS}vera/role/", {"role": "owner", **data}, follow=True)

    assertRedirects(response, MEMBERS)
    assertContains(response, "Nothing was done")
    assertNotContains(response, "vera is now owner.")
    membership = cast.group.memberships.get(user=cast.viewer)
    assert (membership.role, membership.version) == (Role.VIEWER, 1)
    assert not changes().exists()


def test_a_refused_demotion_of_the_last_owner_leaves_the_version_alone(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}olivia/role/", {"role": "admin", "version": 1})

    assert response.status_code == 302
    assert cast.group.memberships.get(user=cast.owner).version == 1


def test_a_removal_confirmed_on_a_stale_page_is_refused(cast):
    client = client_for(cast.owner)
    assertContains(client.get(f"{MEMBERS}vera/remove/"), "vera (viewer) will no longer see")
    when = changed_by_otto(cast.group)

    response = client.post(f"{MEMBERS}vera/remove/", {"version": 1}, follow=True)

    assertRedirects(response, MEMBERS)
    assertContains(response, f"vera in Payments (admin) was changed by otto at {when} UTC after you opened")
    assertNotContains(response, "vera removed from Payments.")
    assert roles(cast.group)["vera"] == Role.ADMIN
    assert list(changes().values_list("action", flat=True)) == ["member.role_changed"]


def test_a_script_removing_with_a_stale_version_gets_409(cast):
    changed_by_otto(cast.group)

    response = client_for(cast.owner).post(
        f"{MEMBERS}vera/remove/", {"version": 1}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "vera" in roles(cast.group)


def test_a_removal_without_a_version_is_refused(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}vera/remove/", follow=True)

    assertContains(response, "Nothing was done")
    assert "vera" in roles(cast.group)
    assert not changes().exists()


def test_two_owners_changing_one_role_at_once_apply_exactly_one(transactional_db):
    needs_postgresql()
    group = make_group()
    olivia, otto = make_member(group, Role.OWNER, "olivia"), make_member(group, Role.OWNER, "otto")
    make_member(group, Role.VIEWER, "vera")

    answers = post_together(
        (olivia, f"{MEMBERS}vera/role/", {"role": "admin", "version": 1}),
        (otto, f"{MEMBERS}vera/role/", {"role": "owner", "version": 1}),
    )

    statuses = [getattr(answer, "status_code", answer) for answer in answers]
    assert sorted(statuses, key=str) == [302, 409], answers
    assert answers[statuses.index(409)].json()["error"] == "conflict"
    winner = "admin" if statuses[0] == 302 else "owner"
    assert roles(group)["vera"] == winner
    assert list(changes().values_list("action", "target")) == [("member.role_changed", f"vera to {winner}")]


def test_two_owners_demoting_each_other_at_once_leave_one_owner(transactional_db):
    needs_postgresql()
    group = make_group()
    olivia, otto = make_member(group, Role.OWNER, "olivia"), make_member(group, Role.OWNER, "otto")

    answers = post_together(
        (olivia, f"{MEMBERS}otto/role/", {"role": "admin", "version": 1}),
        (otto, f"{MEMBERS}olivia/role/", {"role": "admin", "version": 1}),
    )

    # The loser is refused by the last-owner check (302 with the message), or, when the winner's
    # change committed before its access check, as a member who is no longer an owner (403).
    statuses = sorted(getattr(answer, "status_code", answer) for answer in answers)
    assert statuses in ([302, 302], [302, 403]), answers
    assert sorted(roles(group).values()) == [Role.ADMIN, Role.OWNER]
    assert changes().count() == 1
