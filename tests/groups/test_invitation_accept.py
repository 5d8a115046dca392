"""Opening an invitation's link and accepting it: with a new account, or with an existing one."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from groups.models import Invitation, Role
from tests.conftest import PASSWORD, changes, client_for, make_group, make_member, make_user, needs_postgresql

PAGE = "/groups/invitation/"
NEW_ACCOUNT = {"username": "ines", "password1": PASSWORD, "password2": PASSWORD}


@pytest.fixture
def pending(cast):
    return Invitation.objects.invite(cast.group, "ines@example.com", Role.ADMIN, cast.owner)


def open_link(client, token):
    return client.get(PAGE, {"token": token}, follow=True)


def test_the_link_moves_its_token_out_of_the_address(cast, pending, client):
    response = open_link(client, pending[1])

    assertRedirects(response, PAGE)
    assertContains(response, "Join Payments")
    assertContains(response, "olivia invited <strong>ines@example.com</strong>", html=False)
    assertNotContains(response, pending[1])
    assert pending[1] not in str(dict(client.session))
    assert client.session["invitation"] == pending[0].digest


def test_a_new_person_chooses_a_username_and_password_and_lands_in_the_group(cast, pending, client):
    open_link(client, pending[1])

    response = client.post(f"{PAGE}account/", NEW_ACCOUNT, follow=True)

    assertRedirects(response, "/groups/payments/")
    assertContains(response, "Welcome to Payments: you joined as admin.")
    assertContains(response, '<span class="account-name">ines</span>', html=True)
    ines = get_user_model().objects.get(username="ines")
    assert (ines.email, ines.check_password(PASSWORD)) == ("ines@example.com", True)
    assert cast.group.memberships.get(user=ines).role == Role.ADMIN


def test_the_username_is_suggested_from_the_address(cast, pending, client):
    response = open_link(client, pending[1])

    assertContains(response, 'value="ines"')


def test_accepting_is_recorded_by_the_new_member(cast, pending, client):
    open_link(client, pending[1])
    client.post(f"{PAGE}account/", NEW_ACCOUNT)

    rows = {row.action: row for row in changes().filter(group=cast.group)}
    assert set(rows) == {"member.invited", "member.added", "member.invitation_accepted"}
    assert (rows["member.added"].target, rows["member.added"].actor_name) == ("ines as admin", "ines")
    accepted = rows["member.invitation_accepted"]
    assert (accepted.target, accepted.actor_name) == ("ines@example.com as admin", "ines")


def test_the_password_validators_apply(cast, pending, client):
    open_link(client, pending[1])

    response = client.post(f"{PAGE}account/", {**NEW_ACCOUNT, "password1": "ines", "password2": "ines"})

    assertContains(response, "This password is too short.", status_code=400)
    assertContains(response, "The password is too similar to the", status_code=400)
    assert not get_user_model().objects.filter(username="ines").exists()
    assert Invitation.objects.get().state == "pending"


def test_a_taken_username_is_a_form_error(cast, pending, client):
    open_link(client, pending[1])

    response = client.post(f"{PAGE}account/", {**NEW_ACCOUNT, "username": "vera"})

    assertContains(response, "A user with that username already exists.", status_code=400)
    assert Invitation.objects.get().state == "pending"


def test_a_second_use_of_the_link_fails_with_a_clear_page(cast, pending, client):
    open_link(client, pending[1])
    client.post(f"{PAGE}account/", NEW_ACCOUNT)

    again = open_link(Client(), pending[1])

    assertContains(again, "This invitation was already used", status_code=410)
    assert get_user_model().objects.filter(email="ines@example.com").count() == 1


def test_a_second_account_cannot_be_made_from_one_link(cast, pending):
    first, second = Client(), Client()
    open_link(first, pending[1])
    open_link(second, pending[1])
    first.post(f"{PAGE}account/", NEW_ACCOUNT)

    response = second.post(f"{PAGE}account/", {**NEW_ACCOUNT, "username": "ines2"})

    assertContains(response, "This invitation was already used", status_code=410)
    assert not get_user_model().objects.filter(username="ines2").exists()


def test_the_new_member_opening_their_link_again_reaches_the_group(cast, pending, client):
    open_link(client, pending[1])
    client.post(f"{PAGE}account/", NEW_ACCOUNT)

    response = open_link(client, pending[1])

    assertRedirects(response, "/groups/payments/")


def test_an_expired_link_fails_with_a_clear_page(cast, pending, client):
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = open_link(client, pending[1])
    posted = client.post(f"{PAGE}account/", NEW_ACCOUNT)

    assertContains(response, "This invitation has expired", status_code=410)
    assertContains(posted, "This invitation has expired", status_code=410)
    assert not get_user_model().objects.filter(username="ines").exists()


def test_invitation_hours_sets_the_lifetime(cast, settings):
    settings.INVITATION_HOURS = 1

    invitation, _ = Invitation.objects.invite(cast.group, "ivo@example.com", Role.VIEWER, cast.owner)

    assert timedelta(minutes=59) < invitation.expires_at - timezone.now() <= timedelta(hours=1)


@pytest.mark.parametrize("token", ["", "gpi_short", "gpi_" + "A" * 43, "x" * 5000, "gpi_\x00" + "A" * 42])
def test_a_made_up_link_is_not_valid(cast, pending, client, token):
    response = open_link(client, token)

    assertContains(response, "This invitation link is not valid", status_code=404)


def test_a_made_up_link_costs_no_lookup(cast, client):
    with CaptureQueriesContext(connection) as queries:
        client.get(PAGE, {"token": "not-an-invitation"})

    assert not [query for query in queries if "groups_invitation" in query["sql"]]


def test_accepting_without_opening_a_link_is_404(cast, client):
    assertContains(client.post(f"{PAGE}account/", NEW_ACCOUNT), "not valid", status_code=404)
    assertContains(client_for(cast.outsider).post(f"{PAGE}join/"), "not valid", status_code=404)


def test_an_address_with_an_account_is_asked_to_sign_in_not_to_make_another(cast, pending, client):
    cast.outsider.email = "Ines@example.com"
    cast.outsider.save()

    page = open_link(client, pending[1])
    posted = client.post(f"{PAGE}account/", NEW_ACCOUNT)

    assertContains(page, "An account on this portal already uses this address: sign in with it to join.")
    assertNotContains(page, "password1")
    assertRedirects(posted, PAGE, fetch_redirect_response=False)
    assert not get_user_model().objects.filter(username="ines").exists()


def test_a_signed_in_person_joins_with_their_account(cast, pending, client):
    open_link(client, pending[1])
    client.force_login(cast.outsider)  # signing in keeps the session's invitation

    page = client.get(PAGE)
    response = client.post(f"{PAGE}join/", follow=True)

    assertContains(page, "Join as oscar")
    assertRedirects(response, "/groups/payments/")
    assertContains(response, "Welcome to Payments: you joined as admin.")
    assert cast.group.memberships.get(user=cast.outsider).role == Role.ADMIN
    assert Invitation.objects.get().accepted_by == cast.outsider


def test_a_member_opening_the_link_leaves_it_for_its_addressee(cast, pending, client):
    open_link(client, pending[1])
    client.force_login(cast.owner)

    page = client.get(PAGE)
    response = client.post(f"{PAGE}join/")

    assertContains(page, "are a member of Payments already, so the link is left unused")
    assertNotContains(page, "Join as olivia")
    assertRedirects(response, PAGE, fetch_redirect_response=False)
    assert Invitation.objects.get().state == "pending"
    assert cast.group.memberships.get(user=cast.owner).role == Role.OWNER


def test_a_member_who_joins_at_the_same_time_keeps_their_role(cast, pending):
    membership, joined = pending[0].accept(cast.viewer)

    assert (membership.role, joined) == (Role.VIEWER, False)
    assert Invitation.objects.get().state == "accepted"


def test_joining_is_a_post(cast, pending, client):
    open_link(client, pending[1])
    client.force_login(cast.outsider)

    assert client.get(f"{PAGE}join/").status_code == 405
    assert client.get(f"{PAGE}account/").status_code == 405
    assert Invitation.objects.get().state == "pending"


def test_the_new_password_is_not_logged(cast, pending, client, caplog):
    open_link(client, pending[1])

    client.post(f"{PAGE}account/", {**NEW_ACCOUNT, "password2": "mismatch " + PASSWORD})

    assert PASSWORD not in caplog.text


def test_two_accepts_at_once_make_one_member(transactional_db):
    needs_postgresql()
    group = make_group("Payments")
    owner = make_member(group, Role.OWNER, "olivia")
    _, token = Invitation.objects.invite(group, "ines@example.com", Role.ADMIN, owner)
    users = [make_user("ivo"), make_user("ida")]
    clients = [client_for(user) for user in users]
    for client in clients:
        open_link(client, token)

    def join(client):
        try:
            return client.post(f"{PAGE}join/").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(join, clients))

    assert statuses == [302, 410]
    assert group.memberships.filter(user__in=users).count() == 1
