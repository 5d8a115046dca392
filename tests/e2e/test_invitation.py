"""Invitations in a real browser, through a real SMTP server: the owner invites an address, the
invitee opens the link from the mail, chooses a username and password and lands in the group with
the invited role; the link then fails, as an expired one does. Remove asks in a dialog."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from groups.models import Invitation, Role
from tests.conftest import PASSWORD, make_group, make_member, make_user
from tests.e2e.conftest import ARTIFACTS, shot, sign_in
from tests.groups.mailserver import body_of, smtp_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"http://\S+/groups/invitation/\?token=gpi_[A-Za-z0-9_-]{43}")


@pytest.fixture
def inbox(settings):
    with smtp_server(settings) as inbox:
        yield inbox


@pytest.fixture
def fresh_page(browser, live_server):
    """Pages in browser contexts of their own (another person's browser), closed after the test."""
    contexts = []

    def new_page():
        contexts.append(browser.new_context(base_url=live_server.url, viewport=DESKTOP, locale="en-US"))
        return contexts[-1].new_page()

    yield new_page
    for context in contexts:
        context.close()


def invite(page, email, role):
    page.get_by_label("Username or email address").fill(email)
    page.get_by_label("Role", exact=True).select_option(label=role)
    page.get_by_role("button", name="Invite", exact=True).click()
    page.get_by_text(f"Invitation sent to {email}.").wait_for()


def test_an_invitee_joins_through_the_mailed_link(page, fresh_page, live_server, inbox):
    group = make_group("Payments", description="Card payments team")
    owner = make_member(group, Role.OWNER, "olivia")
    make_member(group, Role.VIEWER, "vera")

    sign_in(page, owner.username, PASSWORD)
    page.goto("/groups/payments/members/")
    invite(page, "ines@example.com", "Admin")
    invite(page, "ivo.from.the.reconciliation.team@example.com", "Viewer")

    invitations = page.locator("table.invitations")
    assert invitations.get_by_role("cell", name="ines@example.com", exact=True).is_visible()
    assert (
        invitations.get_by_role("row", name=re.compile("ines@example.com")).get_by_text("olivia").is_visible()
    )
    page.set_viewport_size(DESKTOP)
    shot(page, "members-pending-invitations-desktop")
    page.set_viewport_size(PHONE)
    shot(page, "members-pending-invitations-phone")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    (recipients, message), _ = inbox.messages
    assert recipients == ["ines@example.com"]
    body = body_of(message)
    assert "olivia invites you to the group Payments" in body and "as admin" in body
    link = LINK.search(body)[0]

    invitee = fresh_page()
    invitee.goto(link)
    assert "token" not in invitee.url
    assert invitee.get_by_role("heading", name="Join Payments").is_visible()
    assert invitee.get_by_label("Username").input_value() == "ines"
    invitee.get_by_label("Password", exact=True).fill(PASSWORD)
    invitee.get_by_label("Password confirmation").fill(PASSWORD)
    shot(invitee, "invitation-account")
    invitee.get_by_role("button", name="Create account and join").click()

    invitee.get_by_text("Welcome to Payments: you joined as admin.").wait_for()
    assert invitee.url == f"{live_server.url}/groups/payments/"
    assert invitee.locator(".group-name .role").inner_text().lower() == "admin"
    assert group.memberships.get(user__username="ines").role == Role.ADMIN
    shot(invitee, "invitation-joined")

    again = fresh_page()
    response = again.goto(link)
    assert response.status == 410
    assert again.get_by_role("heading", name="This invitation was already used").is_visible()
    shot(again, "invitation-used")

    page.set_viewport_size(DESKTOP)
    page.reload()
    assert page.locator("table.invitations").get_by_text("ines@example.com").count() == 0
    assert page.get_by_role("cell", name="ines", exact=True).is_visible()


def test_an_expired_link_fails_with_a_clear_page(page, live_server):
    group = make_group("Payments")
    owner = make_member(group, Role.OWNER, "olivia")
    _, token = Invitation.objects.invite(group, "ines@example.com", Role.VIEWER, owner)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = page.goto(f"/groups/invitation/?token={token}")

    assert response.status == 410
    assert page.get_by_role("heading", name="This invitation has expired").is_visible()
    assert "token" not in page.url
    shot(page, "invitation-expired")


def test_remove_asks_in_a_dialog_that_focuses_cancel(page):
    group = make_group("Payments")
    owner = make_member(group, Role.OWNER, "olivia")
    make_member(group, Role.VIEWER, "vera")

    sign_in(page, owner.username, PASSWORD)
    page.goto("/groups/payments/members/")
    page.get_by_role("link", name="Remove vera").click()

    dialog = page.locator("dialog#confirm-dialog")
    assert dialog.get_by_role("heading", name="Remove vera?").is_visible()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Cancel"
    ARTIFACTS.mkdir(exist_ok=True)
    shot(page, "members-remove-dialog")
    page.keyboard.press("Enter")  # Enter on the focused Cancel keeps vera
    assert not dialog.is_visible()
    assert group.memberships.filter(user__username="vera").exists()

    page.get_by_role("link", name="Remove vera").click()
    dialog.get_by_role("button", name="Remove member").click()
    page.get_by_text("vera removed from Payments.").wait_for()
    assert not group.memberships.filter(user__username="vera").exists()


def test_staff_show_as_staff_on_the_members_page(page):
    group = make_group("Payments")
    make_member(group, Role.OWNER, "olivia")
    stella = make_user("stella", is_staff=True)

    sign_in(page, stella.username, PASSWORD)
    page.goto("/groups/payments/members/")

    assert page.locator(".group-name .role").inner_text().lower() == "staff"
    assert page.get_by_role("cell", name="olivia", exact=True).is_visible()
    assert page.get_by_text("no members yet").count() == 0
    shot(page, "members-as-staff")


def test_an_account_joins_from_its_group_list(page, fresh_page, live_server):
    group = make_group("Payments", description="Card payments team")
    owner = make_member(group, Role.OWNER, "olivia")
    make_member(make_group("Logistics", description="Warehouses and shipping"), Role.VIEWER, "ines")

    sign_in(page, owner.username, PASSWORD)
    page.goto("/groups/payments/members/")
    page.get_by_label("Username or email address").fill("ines")
    page.get_by_label("Role", exact=True).select_option(label="Admin")
    page.get_by_role("button", name="Invite", exact=True).click()
    page.get_by_text("Invitation made for the username ines.").wait_for()
    pending = page.locator("table.invitations").get_by_role("row", name=re.compile("ines"))
    assert pending.get_by_text("olivia").is_visible()
    assert not group.memberships.filter(user__username="ines").exists()
    shot(page, "members-username-invitation-desktop")

    invitee = fresh_page()
    sign_in(invitee, "ines", PASSWORD)
    invitee.goto("/groups/")
    assert invitee.get_by_role("heading", name="Invitations").is_visible()
    invitation = invitee.locator("table.invitations").get_by_role("row", name=re.compile("Payments"))
    assert invitation.get_by_text("olivia").is_visible()
    assert invitation.locator(".role").inner_text().lower() == "admin"
    shot(invitee, "group-list-invitation-desktop")
    invitee.set_viewport_size(PHONE)
    shot(invitee, "group-list-invitation-phone")
    assert invitee.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    invitee.set_viewport_size(DESKTOP)

    invitee.get_by_role("button", name="Join Payments").click()

    invitee.get_by_text("Welcome to Payments: you joined as admin.").wait_for()
    assert invitee.url == f"{live_server.url}/groups/payments/"
    assert invitee.locator(".group-name .role").inner_text().lower() == "admin"
    assert group.memberships.get(user__username="ines").role == Role.ADMIN
    invitee.goto("/groups/")
    assert invitee.get_by_role("heading", name="Invitations").count() == 0
