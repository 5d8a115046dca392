from pytest_django.asserts import assertContains, assertRedirects

from groups.models import Activity, Group, Membership, Role
from tests.conftest import changes, client_for, make_user


def test_staff_see_the_form(cast):
    response = client_for(cast.staff).get("/groups/new/")

    assert response.status_code == 200
    assertContains(response, "<h1>New group</h1>", html=True)
    assertContains(response, "Create group")


def test_staff_create_a_group(cast):
    data = {"name": "Logistics", "slug": "logi", "description": "Trucks and parcels"}

    response = client_for(cast.staff).post("/groups/new/", data, follow=True)

    assertRedirects(response, "/groups/logi/")
    assertContains(response, "Group Logistics created.")
    group = Group.objects.get(slug="logi")
    assert (group.name, group.description) == ("Logistics", "Trucks and parcels")
    assert not group.memberships.exists()


def test_slug_is_derived_from_the_name_when_empty(cast):
    response = client_for(cast.staff).post("/groups/new/", {"name": "Fraud Detection Team", "slug": ""})

    assertRedirects(response, "/groups/fraud-detection-team/", fetch_redirect_response=False)
    assert Group.objects.filter(name="Fraud Detection Team", slug="fraud-detection-team").exists()


def test_owner_username_makes_that_user_owner(cast):
    data = {"name": "Logistics", "owner": "oscar"}

    response = client_for(cast.staff).post("/groups/new/", data)

    assert response.status_code == 302
    membership = Membership.objects.get(group__slug="logistics")
    assert (membership.user, membership.role) == (cast.outsider, Role.OWNER)


def test_creation_is_recorded_in_activity(cast):
    client_for(cast.staff).post(
        "/groups/new/", {"name": "Logistics", "owner": "oscar"}, REMOTE_ADDR="192.0.2.9"
    )

    rows = Activity.objects.filter(group__slug="logistics").order_by("id")
    assert [(row.action, row.target) for row in rows] == [
        ("group.created", "Logistics"),
        ("member.added", "oscar as owner"),
    ]
    assert {(row.actor, row.actor_name, row.source_address) for row in rows} == {
        (cast.staff, "stella", "192.0.2.9")
    }


def test_non_staff_get_403(cast):
    for user in (cast.owner, cast.outsider):
        client = client_for(user)

        assert client.get("/groups/new/").status_code == 403
        assert client.post("/groups/new/", {"name": "Logistics"}).status_code == 403
    assert not Group.objects.filter(name="Logistics").exists()


def test_anonymous_user_is_redirected_to_login(client, db):
    response = client.post("/groups/new/", {"name": "Logistics"})

    assertRedirects(response, "/accounts/login/?next=/groups/new/", fetch_redirect_response=False)
    assert not Group.objects.filter(name="Logistics").exists()


def test_duplicate_name_is_a_form_error(cast):
    response = client_for(cast.staff).post("/groups/new/", {"name": "Payments", "slug": "payments-2"})

    assert response.status_code == 200
    assertContains(response, "Group with this Name already exists.")
    assert Group.objects.count() == 1
    assert not changes().exists()


def test_duplicate_slug_is_a_form_error(cast):
    response = client_for(cast.staff).post("/groups/new/", {"name": "Payments Two", "slug": "payments"})

    assert response.status_code == 200
    assertContains(response, "Group with this Slug already exists.")
    assert list(Group.objects.values_list("name", flat=True)) == ["Payments"]


def test_duplicate_derived_slug_is_a_form_error(cast):
    response = client_for(cast.staff).post("/groups/new/", {"name": "PAYMENTS!", "slug": ""})

    assert response.status_code == 200
    assertContains(response, "A group with this web address already exists.")
    assert list(Group.objects.values_list("name", flat=True)) == ["Payments"]


def test_name_without_letters_or_digits_needs_a_slug(cast):
    response = client_for(cast.staff).post("/groups/new/", {"name": "!!!", "slug": ""})

    assert response.status_code == 200
    assertContains(response, "Choose a web address made of letters, digits and hyphens.")
    assert not Group.objects.filter(name="!!!").exists()


def test_invalid_slug_is_a_form_error(cast):
    response = client_for(cast.staff).post("/groups/new/", {"name": "Logistics", "slug": "no spaces/here"})

    assert response.status_code == 200
    assertContains(response, "Enter a valid “slug”")
    assert not Group.objects.filter(name="Logistics").exists()


def test_unknown_owner_username_is_a_form_error(cast):
    response = client_for(cast.staff).post("/groups/new/", {"name": "Logistics", "owner": "nobody"})

    assert response.status_code == 200
    assertContains(response, "There is no active user with this username.")
    assert not Group.objects.filter(name="Logistics").exists()
    assert not Membership.objects.filter(group__name="Logistics").exists()


def test_inactive_owner_username_is_a_form_error(cast):
    make_user("gone", is_active=False)

    response = client_for(cast.staff).post("/groups/new/", {"name": "Logistics", "owner": "gone"})

    assert response.status_code == 200
    assertContains(response, "There is no active user with this username.")
    assert not Group.objects.filter(name="Logistics").exists()


def test_new_owner_sees_the_group_in_their_list(cast):
    newcomer = make_user("nina")
    client_for(cast.staff).post("/groups/new/", {"name": "Logistics", "owner": "nina"})

    response = client_for(newcomer).get("/groups/")

    assertContains(response, '<a class="strong" href="/groups/logistics/">Logistics</a>', html=True)


def test_slug_that_collides_with_the_new_group_page_is_refused(cast):
    # /groups/new/ is this form, so a group with the slug "new" could never open its own page.
    response = client_for(cast.staff).post("/groups/new/", {"name": "New", "owner": "oscar"})

    assert response.status_code == 200
    assert "slug" in response.context["form"].errors
    assert not Group.objects.filter(slug="new").exists()
