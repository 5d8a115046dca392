"""Revoking a pending invitation from the Members page."""

import pytest
from pytest_django.asserts import assertContains, assertRedirects

from groups.models import Invitation, Role
from tests.conftest import changes, client_for

MEMBERS = "/groups/payments/members/"


@pytest.fixture
def pending(cast):
    invitation, token = Invitation.objects.invite(cast.group, "ines@example.com", Role.ADMIN, cast.owner)
    return invitation, token


def revoke_url(invitation):
    return f"{MEMBERS}invitations/{invitation.public_id}/revoke/"


def test_owner_revokes_an_invitation(cast, pending):
    invitation, _ = pending

    response = client_for(cast.owner).post(revoke_url(invitation), follow=True)

    assertRedirects(response, MEMBERS)
    assertContains(response, "The invitation of ines@example.com is revoked: its link no longer works.")
    assertContains(response, "No invitations are waiting.")
    invitation.refresh_from_db()
    assert invitation.state == "revoked"


def test_revoking_is_recorded(cast, pending):
    client_for(cast.owner).post(revoke_url(pending[0]), REMOTE_ADDR="192.0.2.7")

    row = changes().filter(action="member.invitation_revoked").get()
    assert (row.target, row.actor, row.source_address) == (
        "ines@example.com as admin",
        cast.owner,
        "192.0.2.7",
    )


def test_a_revoked_link_gives_a_clear_page(cast, pending, client):
    invitation, token = pending
    invitation.revoke()

    response = client.get(f"/groups/invitation/?token={token}", follow=True)

    assertContains(response, "This invitation was withdrawn", status_code=410)


def test_revoking_twice_does_nothing_more(cast, pending):
    client = client_for(cast.owner)
    client.post(revoke_url(pending[0]))

    response = client.post(revoke_url(pending[0]), follow=True)

    assertContains(response, "The invitation of ines@example.com was already revoked.")
    assert changes().filter(action="member.invitation_revoked").count() == 1


def test_staff_revoke_in_any_group(cast, pending):
    response = client_for(cast.staff).post(revoke_url(pending[0]))

    assert response.status_code == 302
    assert Invitation.objects.get().state == "revoked"


@pytest.mark.parametrize(("role", "status"), [("admin", 403), ("viewer", 403), ("outsider", 404)])
def test_only_owners_revoke(cast, pending, role, status):
    response = client_for(getattr(cast, role)).post(revoke_url(pending[0]))

    assert response.status_code == status
    assert Invitation.objects.get().state == "pending"


def test_revoke_is_a_post(cast, pending):
    assert client_for(cast.owner).get(revoke_url(pending[0])).status_code == 405
    assert Invitation.objects.get().state == "pending"
