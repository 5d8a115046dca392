"""Every portal page at a phone's width (390 px, and 360 px) and a desktop's (1280 px): nothing widens the
page past the viewport, the top bar's menu reaches every account link, dialogs fit the screen.
Screenshots of each page at both widths go to test-artifacts/responsive/."""

import pytest

from groups.models import Action, Activity, Membership, Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member, make_oauth_client
from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}
SHOTS = ARTIFACTS / "responsive"
LONG_NAME = "Nightly reconciliation of card settlements between the ledger and the acquirer eu-west-1-prod"
LONG_GROUP = "Partner_data_ingestion_pipeline_and_exports_for_the_settlement_team"


def overflow(page):
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def buttons_outside_their_card(page):
    """Labels of buttons and links whose box sticks out of the credential card holding them."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.credential .button')].filter((button) => {
            const card = button.closest('.credential').getBoundingClientRect();
            const box = button.getBoundingClientRect();
            return box.width && (box.left < card.left || box.right > card.right);
        }).map((button) => button.textContent.trim())"""
    )


def inside_viewport(page, locator):
    box, size = locator.bounding_box(), page.viewport_size
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    return box["x"] >= 0 and box["y"] >= 0 and right <= size["width"] and bottom <= size["height"]


def visit_all(page, pages, viewport, label):
    """Visit each page at `viewport`, screenshot it; returns the pages that scroll sideways."""
    page.set_viewport_size(viewport)
    too_wide = []
    for name, path in pages:
        page.goto(path)
        if overflow(page) > 0 or buttons_outside_their_card(page):
            too_wide.append((name, overflow(page), buttons_outside_their_card(page)))
        page.screenshot(path=SHOTS / f"{label}-{name}.png", full_page=True)
    return too_wide


def test_every_page_fits_a_phone_and_a_desktop(page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    group = make_group("Payments", description="Card payments, refunds and settlements for the shop")
    empty = make_group(LONG_GROUP, slug="partner-data")
    owner = make_member(group, Role.OWNER, "olivia")
    Membership.objects.create(user=owner, group=empty, role=Role.OWNER)
    make_member(group, Role.VIEWER, "victor-from-the-reconciliation-team")
    for name in ("Billing service", "Search indexer", "Mobile app"):
        make_api_key(group, name, created_by=owner)
    for name in ("Checkout", LONG_NAME, "Partner portal"):
        make_oauth_client(group, name, created_by=owner)
    for target in ("Billing service", LONG_NAME, "victor-from-the-reconciliation-team"):
        Activity.objects.record(group, Action.API_KEY_CREATED, target, actor=owner, address="203.0.113.7")

    sign_in(page, owner.username, PASSWORD)
    tab = f"/groups/{group.slug}/"
    page.goto(tab)
    first_key = page.locator(".credential").first
    long_client = page.locator(".credential", has_text=LONG_NAME)
    pages = [
        ("group-list", "/groups/"),
        ("auth-info", tab),
        ("members", f"/groups/{group.slug}/members/"),
        ("activity", f"/groups/{group.slug}/activity/"),
        ("new-api-key", f"{tab}api-keys/new/"),
        ("new-oauth-client", f"{tab}oauth-clients/new/"),
        ("regenerate-key", first_key.get_by_role("link", name="Regenerate").first.get_attribute("href")),
        ("delete-key", first_key.get_by_role("link", name="Delete").get_attribute("href")),
        ("regenerate-secret", long_client.get_by_role("link", name="Regenerate").get_attribute("href")),
        ("delete-client", long_client.get_by_role("link", name="Delete").get_attribute("href")),
        ("empty-auth-info", f"/groups/{empty.slug}/"),
        ("empty-members", f"/groups/{empty.slug}/members/"),
        ("empty-activity", f"/groups/{empty.slug}/activity/"),
        ("change-password", "/accounts/password_change/"),
    ]

    too_wide = visit_all(page, pages, DESKTOP, "desktop")
    too_wide += visit_all(page, pages, SMALL_PHONE, "phone-360")
    too_wide += visit_all(page, pages, PHONE, "phone")

    # On a phone the account links sit behind the top bar's menu, one tap away.
    page.goto("/groups/")
    menu = page.get_by_role("button", name="Menu")
    assert menu.is_visible()
    assert not page.get_by_role("link", name="Security").is_visible()
    menu.click()
    assert page.get_by_role("link", name="Security").is_visible()
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert inside_viewport(page, page.get_by_role("button", name="Sign out"))
    page.screenshot(path=SHOTS / "phone-menu-open.png")

    page.goto(tab)
    page.locator(".credential").first.get_by_role("button", name="Show").first.click()
    assert overflow(page) <= 0
    assert not buttons_outside_their_card(page)
    page.screenshot(path=SHOTS / "phone-auth-info-shown.png", full_page=True)

    page.locator(".credential").first.get_by_role("link", name="Regenerate").first.click()
    dialog = page.locator("dialog[open]")
    assert "Regenerate the primary key of Billing service?" in dialog.inner_text()
    assert inside_viewport(page, dialog)
    page.screenshot(path=SHOTS / "phone-regenerate-dialog.png")
    dialog.get_by_role("button", name="Cancel").click()

    page.locator(".credential", has_text=LONG_NAME).get_by_role("link", name="Regenerate").click()
    dialog = page.locator("dialog[open]")
    assert LONG_NAME in dialog.inner_text()
    assert inside_viewport(page, dialog)
    page.screenshot(path=SHOTS / "phone-regenerate-secret-dialog.png")
    dialog.get_by_role("button", name="Cancel").click()

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Sign out").click()
    signed_out = [("sign-in", "/accounts/login/")]
    too_wide += visit_all(page, signed_out, PHONE, "phone")
    too_wide += visit_all(page, signed_out, DESKTOP, "desktop")

    assert not too_wide, f"pages wider than the viewport (page, pixels, buttons out of card): {too_wide}"
