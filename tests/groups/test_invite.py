"""Inviting an email address from the Members page (groups:member-add with an address)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from groups.models import Activity, Invitation, Role
from tests.conftest import changes, client_for
from tests.groups.mailserver import body_of, free_port, smtp_server

MEMBERS = "/groups/payments/members/"
LINK = re.compile(r"http://testserver/groups/invitation/\?token=(gpi_[A-Za-z0-9_-]{43})")


def invite(user, email="ines@example.com", role="admin", **extra):
    return client_for(user).post(f"{MEMBERS}add/", {"username": email, "role": role}, follow=True, **extra)


def test_owner_invites_an_address(cast):
    response = invite(cast.owner)

    assertRedirects(response, MEMBERS)
    assertContains(response, "Invitation sent to ines@example.com.")
    invitation = Invitation.objects.get()
    assert (invitation.group, invitation.email, invitation.role, invitation.invited_by) == (
        cast.group,
        "ines@example.com",
        Role.ADMIN,
        cast.owner,
    )
    assert timedelta(hours=71, minutes=59) < invitation.expires_at - timezone.now() <= timedelta(hours=72)


def test_the_mail_names_the_group_role_inviter_link_and_expiry(cast):
    invite(cast.owner)

    (message,) = mail.outbox
    assert message.to == ["ines@example.com"]
    assert "Payments" in message.subject
    assert (
        "olivia invites you to the group Payments on the API Authentication Portal, as admin." in message.body
    )
    assert LINK.search(message.body)
    expires = Invitation.objects.get().expires_at
    assert f"until {expires:%Y-%m-%d %H:%M} UTC (72 hours)" in message.body


def test_pending_invitations_are_listed_with_who_invited_and_when_they_expire(cast):
    invite(cast.owner, "ines@example.com", "admin")
    invite(cast.staff, "ivo@example.com", "viewer")

    page = client_for(cast.owner).get(MEMBERS)

    assertContains(page, "Pending invitations")
    assertContains(page, '<td class="strong">ines@example.com</td>', html=True)
    assertContains(page, '<td data-label="Invited by">olivia</td>', html=True)
    assertContains(page, '<td data-label="Invited by">stella</td>', html=True)
    expires = Invitation.objects.get(email="ivo@example.com").expires_at
    assertContains(page, f"{expires:%Y-%m-%d %H:%M}")
    assertContains(page, "Revoke the invitation of ivo@example.com")


def test_only_the_digest_of_the_link_is_stored_and_recorded_nowhere_else(cast):
    invite(cast.owner)

    token = LINK.search(mail.outbox[0].body)[1]
    invitation = Invitation.objects.get()
    assert invitation.digest == Invitation.digest_of(token)
    assert token not in repr(list(Invitation.objects.values()))
    assert token not in str(invitation)
    row = changes().get()
    assert (row.action, row.target, row.actor) == ("member.invited", "ines@example.com as admin", cast.owner)
    assert not Activity.objects.filter(target__contains="gpi_").exists()


def test_the_link_carries_256_random_bits(cast):
    invite(cast.owner, "a@example.com")
    invite(cast.owner, "b@example.com")

    first, second = (LINK.search(message.body)[1] for message in mail.outbox)
    assert first != second
    assert len(first.removeprefix("gpi_")) == 43  # base64 of 32 bytes


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_admins_and_viewers_cannot_invite(cast, role):
    response = client_for(getattr(cast, role)).post(
        f"{MEMBERS}add/", {"username": "ines@example.com", "role": "viewer"}
    )

    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_an_outsider_gets_404(cast):
    response = client_for(cast.outsider).post(
        f"{MEMBERS}add/", {"username": "ines@example.com", "role": "viewer"}
    )

    assert response.status_code == 404
    assert not Invitation.objects.exists()


def test_viewers_do_not_see_pending_invitations(cast):
    invite(cast.owner)

    page = client_for(cast.viewer).get(MEMBERS)

    assertNotContains(page, "ines@example.com")
    assertNotContains(page, "Pending invitations")


def test_an_address_invited_already_is_a_form_error(cast):
    invite(cast.owner, "ines@example.com")

    response = client_for(cast.owner).post(
        f"{MEMBERS}add/", {"username": "Ines@Example.com", "role": "owner"}
    )

    assertContains(response, "invited already: revoke that invitation to send a new one", status_code=400)
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_malformed_address_is_a_form_error(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}add/", {"username": "ines@", "role": "viewer"})

    assertContains(response, "Enter a valid email address.", status_code=400)
    assert not Invitation.objects.exists()


def test_an_address_of_an_existing_account_gets_the_same_answer_as_any_other(cast):
    cast.outsider.email = "oscar@example.com"
    cast.outsider.save()

    known = invite(cast.owner, "oscar@example.com")
    unknown = invite(cast.owner, "nobody@example.com")

    assertContains(known, "Invitation sent to oscar@example.com.")
    assertContains(unknown, "Invitation sent to nobody@example.com.")
    assert "oscar" not in known.content.decode().replace("oscar@example.com", "")
    assert not cast.group.memberships.filter(user=cast.outsider).exists()


def test_the_invitation_travels_through_a_real_smtp_server(cast, settings):
    with smtp_server(settings) as inbox:
        invite(cast.owner)

    ((recipients, message),) = inbox.messages
    assert recipients == ["ines@example.com"]
    assert message["To"] == "ines@example.com"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert "Payments" in message["Subject"]
    assert LINK.search(body_of(message))


def test_when_the_mail_server_is_down_no_invitation_is_left(cast, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    response = invite(cast.owner)

    assertRedirects(response, MEMBERS)
    assertContains(response, "The invitation could not be mailed to ines@example.com, so none was made.")
    assert not Invitation.objects.exists()
    assert not changes().exists()
