"""Inviting a username (issue 15): an owner cannot tell whether the account exists; the account
finds the invitation on its Group List and joins or declines it there."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts.submissions import FIELD
from groups.models import Invitation, Role
from tests.conftest import changes, client_for, make_user

MEMBERS = "/groups/payments/members/"
GROUPS = "/groups/"
# What differs between two renderings of the same page: the forms' one-time tokens.
TOKENS = re.compile(r'name="(csrfmiddlewaretoken|submission)" value="[^"]*"')


def invite(user, username="oscar", role="admin", **extra):
    return client_for(user).post(f"{MEMBERS}add/", {"username": username, "role": role}, **extra)


def accept_url(invitation):
    return f"/groups/invitation/{invitation.public_id}/accept/"


def decline_url(invitation):
    return f"/groups/invitation/{invitation.public_id}/decline/"


def members_page_after_inviting(cast, username, expires_at):
    """The Members page the owner lands on after inviting `username`, with the username and the
    forms' tokens replaced. The invitation's expiry and id, random or taken from the clock, are set
    to the same values each time, so that a minute ticking between two runs changes nothing."""
    client = client_for(cast.owner)
    response = client.post(f"{MEMBERS}add/", {"username": username, "role": "admin"})
    assertRedirects(response, MEMBERS, fetch_redirect_response=False)
    Invitation.objects.filter(username=username).update(
        expires_at=expires_at, public_id="00000000-0000-4000-8000-000000000000"
    )
    page = client.get(response["Location"]).content.decode()
    return TOKENS.sub(r'name="\1" value="…"', page).replace(username, "USERNAME")


def test_an_owner_gets_byte_identical_pages_for_an_existing_and_a_missing_username(cast):
    expires_at = timezone.now() + timedelta(hours=72)

    existing = members_page_after_inviting(cast, "oscar", expires_at)
    Invitation.objects.filter(username="oscar").delete()  # as if this were another owner's first try
    missing = members_page_after_inviting(cast, "nobody", expires_at)

    assert "Invitation made for the username USERNAME." in existing
    assert '<span class="strong">USERNAME</span>' in existing
    assert existing == missing
    assert not cast.group.memberships.filter(user=cast.outsider).exists()


def test_an_inactive_account_gets_the_same_answer_too(cast):
    make_user("ivan", is_active=False)

    response = invite(cast.owner, "ivan", follow=True)

    assertContains(response, "Invitation made for the username ivan.")
    assert cast.group.invitations.pending().filter(username="ivan").exists()


def test_the_invitation_is_recorded_and_listed_as_pending_and_revocable(cast):
    invite(cast.owner, "oscar", "admin")

    row = changes().get()
    assert (row.action, row.target, row.actor) == ("member.invited", "oscar as admin", cast.owner)
    invitation = Invitation.objects.get()
    assert (invitation.username, invitation.email, invitation.digest) == ("oscar", "", None)
    page = client_for(cast.owner).get(MEMBERS)
    assertContains(page, '<td data-label="Invited by">olivia</td>', html=True)
    assertContains(page, f"{invitation.expires_at:%Y-%m-%d %H:%M}")
    assertContains(page, "Revoke the invitation of oscar")


def test_the_invited_account_sees_the_invitation_above_its_groups(cast):
    invite(cast.owner, "oscar", "admin")

    page = client_for(cast.outsider).get(GROUPS)

    html = page.content.decode()
    assert html.index("Invitations") < html.index("No groups yet")
    assertContains(page, '<td class="strong">Payments</td>', html=True)
    assertContains(page, '<span class="role role-admin">admin</span>', html=True)
    assertContains(page, '<td data-label="Invited by">olivia</td>', html=True)
    invitation = Invitation.objects.get()
    for url in (accept_url(invitation), decline_url(invitation)):
        assertContains(page, f'action="{url}"')
    assert html.count(f'name="{FIELD}"') >= 2
    assertNotContains(client_for(cast.viewer).get(GROUPS), "Invitations")


def test_joining_adds_the_member_with_the_invited_role_once(cast):
    invite(cast.owner, "oscar", "admin")
    invitation = Invitation.objects.get()
    client = client_for(cast.outsider)

    response = client.post(accept_url(invitation), {FIELD: "a-token"}, follow=True)
    again = client.post(accept_url(invitation), {FIELD: "a-token"})

    assertRedirects(response, "/groups/payments/")
    assertContains(response, "Welcome to Payments: you joined as admin.")
    assert again.status_code == 302 and again["Location"] == "/groups/payments/"
    assert cast.group.memberships.get(user=cast.outsider).role == Role.ADMIN
    invitation.refresh_from_db()
    assert (invitation.state, invitation.accepted_by) == ("accepted", cast.outsider)
    assert list(changes().order_by("id").values_list("action", "target", "actor__username")) == [
        ("member.invited", "oscar as admin", "olivia"),
        ("member.added", "oscar as admin", "oscar"),
        ("member.invitation_accepted", "oscar as admin", "oscar"),
    ]
    assertNotContains(client.get(GROUPS), "Invitations")
    assertNotContains(client_for(cast.owner).get(MEMBERS), "Revoke the invitation of oscar")


def test_a_member_already_keeps_their_role_and_the_invitation_is_used_up(cast):
    invite(cast.owner, "vera", "owner")
    invitation = Invitation.objects.get()

    response = client_for(cast.viewer).post(accept_url(invitation), follow=True)

    assertContains(response, "You were a member of Payments already, as viewer: that stays.")
    assert cast.group.memberships.get(user=cast.viewer).role == Role.VIEWER
    invitation.refresh_from_db()
    assert invitation.state == "accepted"


def test_declining_ends_the_invitation(cast):
    invite(cast.owner, "oscar", "admin")
    invitation = Invitation.objects.get()
    client = client_for(cast.outsider)

    response = client.post(decline_url(invitation), follow=True)

    assertRedirects(response, GROUPS)
    assertContains(response, "You declined the invitation to Payments.")
    assertNotContains(response, "Invitations")
    invitation.refresh_from_db()
    assert invitation.state == "declined"
    row = changes().latest("id")
    assert (row.action, row.target, row.actor) == (
        "member.invitation_declined",
        "oscar as admin",
        cast.outsider,
    )
    assertNotContains(client_for(cast.owner).get(MEMBERS), "Revoke the invitation of oscar")

    joined = client.post(accept_url(invitation), follow=True)

    assertContains(joined, "The invitation to Payments is declined: it no longer works.")
    assert not cast.group.memberships.filter(user=cast.outsider).exists()


def test_an_expired_invitation_is_not_shown_and_cannot_be_joined(cast):
    invite(cast.owner, "oscar", "admin")
    invitation = Invitation.objects.get()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    client = client_for(cast.outsider)

    assertNotContains(client.get(GROUPS), "Invitations")
    response = client.post(accept_url(invitation), follow=True)

    assertRedirects(response, GROUPS)
    assertContains(response, "The invitation to Payments is expired: it no longer works.")
    assert not cast.group.memberships.filter(user=cast.outsider).exists()
    assertNotContains(client_for(cast.owner).get(MEMBERS), "Revoke the invitation of oscar")


def test_a_revoked_invitation_is_not_shown_and_cannot_be_joined(cast):
    invite(cast.owner, "oscar", "admin")
    invitation = Invitation.objects.get()
    client_for(cast.owner).post(f"{MEMBERS}invitations/{invitation.public_id}/revoke/")

    client = client_for(cast.outsider)
    assertNotContains(client.get(GROUPS), "Invitations")
    client.post(accept_url(invitation))
    assert not cast.group.memberships.filter(user=cast.outsider).exists()


@pytest.mark.parametrize("url", [accept_url, decline_url])
def test_nobody_else_can_use_an_invitation(cast, url):
    invite(cast.owner, "oscar", "admin")
    invitation = Invitation.objects.get()

    for user in (cast.owner, cast.admin, cast.staff, make_user("Oscar")):
        assert client_for(user).post(url(invitation)).status_code == 404
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert not cast.group.memberships.filter(user__username="Oscar").exists()


def test_an_invitation_names_the_account_as_it_is_named_now(cast):
    invite(cast.owner, "ines", "viewer")
    invitation = Invitation.objects.get()
    ines = make_user("ines")
    ines.username = "ines.b"
    ines.save()

    assertNotContains(client_for(ines).get(GROUPS), "Invitations")
    assert client_for(ines).post(accept_url(invitation)).status_code == 404
    newcomer = make_user("ines")
    assertContains(client_for(newcomer).get(GROUPS), "Invitations")
    client_for(newcomer).post(accept_url(invitation))
    assert cast.group.memberships.get(user__username="ines").role == Role.VIEWER


def test_a_username_invited_already_is_a_form_error_either_way(cast):
    invite(cast.owner, "oscar")
    invite(cast.owner, "nobody")

    for name in ("oscar", "nobody"):
        response = invite(cast.owner, name)
        assertContains(response, f"{name} is invited already", status_code=400)
    assert Invitation.objects.count() == 2


def test_a_username_longer_than_any_is_a_form_error(cast):
    response = invite(cast.owner, "x" * 200)

    assertContains(response, "A username has at most 150 characters.", status_code=400)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_admins_and_viewers_cannot_invite_a_username(cast, role):
    response = invite(getattr(cast, role), "oscar")

    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_an_outsider_cannot_invite_a_username(cast):
    assert invite(cast.outsider, "ines").status_code == 404
    assert not Invitation.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(cast, client):
    invite(cast.owner, "oscar")
    invitation = Invitation.objects.get()

    response = client.post(accept_url(invitation))

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    invitation.refresh_from_db()
    assert invitation.state == "pending"
