"""The API key flow of the user guide, in a real browser: sign in, Group List, Group Information,
Authentication Information, Create, Copy, Show, use the key, Regenerate the primary key."""

import pytest

from groups.models import Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member, make_oauth_client
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def whoami(page, key):
    return page.request.get("/v1/whoami", headers={"X-Api-Key": key})


def key_row(page, slot):
    return page.locator(f'.key-row[data-slot="{slot}"]')


def test_admin_creates_uses_and_regenerates_an_api_key(page):
    group = make_group("Payments", description="Card payments team")
    make_group("Search", description="Site search")
    owner = make_member(group, Role.OWNER, "olivia")

    sign_in(page, owner.username, PASSWORD)
    assert page.get_by_role("heading", name="Group List").is_visible()
    assert page.get_by_role("link", name="Search").count() == 0
    shot(page, "group-list")

    page.get_by_role("link", name="Payments").click()
    assert page.get_by_role("heading", name="Group Information").is_visible()
    assert page.get_by_role("link", name="Authentication Information").get_attribute("aria-current") == "page"
    page.locator("section", has_text="API Key Information").get_by_role("link", name="Create").click()
    page.get_by_label("Name").fill("Billing service")
    page.get_by_role("button", name="Create").click()

    primary = page.locator('[data-secret="primary"]').inner_text()
    secondary = page.locator('[data-secret="secondary"]').inner_text()
    assert primary.startswith("gpk_") and secondary.startswith("gpk_") and primary != secondary

    key_row(page, "primary").get_by_role("button", name="Copy").click()
    page.get_by_text("copied to the clipboard").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == primary

    response = whoami(page, primary)
    assert response.status == 200
    assert response.json()["auth"] == {
        "method": "api_key",
        "credential": "Billing service",
        "slot": "primary",
    }
    assert whoami(page, secondary).json()["auth"]["slot"] == "secondary"

    page.get_by_role("link", name="Authentication Information").click()
    assert page.locator("[data-secret]").count() == 0
    key_row(page, "secondary").get_by_role("button", name="Show").click()
    assert page.locator('[data-secret="secondary"]').inner_text() == secondary

    page.get_by_role("link", name="Authentication Information").click()
    assert "Last used" in key_row(page, "primary").inner_text()
    shot(page, "auth-info-tab")

    key_row(page, "primary").get_by_role("link", name="Regenerate").click()
    dialog = page.locator("dialog[open]")
    assert "Regenerate the primary key of Billing service?" in dialog.inner_text()
    assert "was used" in dialog.inner_text()
    shot(page, "regenerate-confirmation")
    dialog.get_by_role("button", name="Regenerate").click()

    new_primary = page.locator('[data-secret="primary"]').inner_text()
    assert new_primary != primary
    assert page.get_by_text("regenerated: the old one no longer works").is_visible()
    assert whoami(page, primary).status == 401
    assert whoami(page, secondary).status == 200
    assert whoami(page, new_primary).json()["auth"]["slot"] == "primary"


def test_viewer_sees_masked_values_and_no_actions(page):
    group = make_group("Payments")
    viewer = make_member(group, Role.VIEWER, "vera")
    _, values = make_api_key(group, "Billing service")
    client, secret = make_oauth_client(group, "Checkout")

    sign_in(page, viewer.username, PASSWORD)
    page.get_by_role("link", name="Payments").click()

    content = page.content()
    assert "Billing service" in content and "Checkout" in content
    assert page.locator("[data-client-id]").inner_text() == client.client_id
    for value in (*values.values(), secret):
        assert value not in content
    assert page.locator("[data-secret]").count() == 0
    for name in ("Show", "Regenerate", "Delete", "Create", "Unlock"):
        assert page.get_by_role("button", name=name).count() == 0
        assert page.get_by_role("link", name=name).count() == 0
    # The only thing a viewer may copy is the public Client ID.
    copy = page.get_by_role("button", name="Copy")
    assert copy.count() == 1 and copy.get_attribute("data-copy").startswith("client-id-")
    shot(page, "viewer-auth-info")


def test_hide_takes_a_shown_key_out_of_the_page(page):
    group = make_group("Payments")
    owner = make_member(group, Role.OWNER, "olivia")
    _, values = make_api_key(group, "Billing service")
    secondary = values["secondary"]

    sign_in(page, owner.username, PASSWORD)
    page.get_by_role("link", name="Payments").click()
    page.get_by_role("button", name="Show secondary key of Billing service").click()
    assert page.locator('[data-secret="secondary"]').inner_text() == secondary

    hide = page.get_by_role("button", name="Hide secondary key of Billing service")
    hide.focus()
    page.keyboard.press("Enter")  # keyboard, as a screen reader user would

    page.get_by_text("Secondary key of Billing service hidden.").wait_for()
    assert page.locator("[data-secret]").count() == 0
    assert secondary not in page.content()
    assert secondary not in page.locator("body").inner_text()
    assert key_row(page, "secondary").locator("code.masked").inner_text() == f"gpk_…{secondary[-4:]}"
    assert hide.count() == 0
    # Show is back, and has the focus that Hide had.
    show = page.get_by_role("button", name="Show secondary key of Billing service")
    assert show.is_visible()
    assert show.evaluate("element => element === document.activeElement")
