"""OAuth clients in a real browser: create, use the secret for tokens, regenerate with a grace
period, regenerate at once revoking tokens, and unlock a locked address."""

import base64

import pytest

from groups.models import Role
from tests.conftest import PASSWORD, make_group, make_member
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def token_v2(page, client_id, secret):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return page.request.post(
        "/v2/tokens",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        data="grant_type=client_credentials",
    )


def whoami(page, token):
    return page.request.get("/v1/whoami", headers={"X-Access-Token": token})


def secret_row(page):
    return page.locator('.key-row[data-slot="client-secret"]')


def test_admin_creates_rotates_and_unlocks_an_oauth_client(page):
    group = make_group("Payments")
    admin = make_member(group, Role.ADMIN, "adam")

    sign_in(page, admin.username, PASSWORD)
    page.get_by_role("link", name="Payments").click()
    page.locator("section", has_text="OAuth Information").get_by_role("link", name="Create").click()
    page.get_by_label("Name").fill("Checkout")
    page.get_by_role("button", name="Create").click()

    client_id = page.locator("[data-client-id]").inner_text()
    secret = page.locator('[data-secret="client-secret"]').inner_text()
    first = token_v2(page, client_id, secret)
    assert first.status == 200
    token = first.json()["access_token"]
    assert whoami(page, token).json()["auth"] == {
        "method": "access_token",
        "credential": "Checkout",
        "slot": None,
    }

    page.get_by_role("link", name="Authentication Information").click()
    secret_row(page).get_by_role("link", name="Regenerate").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("After 1 hour").check()
    dialog.get_by_label("Revoke every token issued with this client so far").uncheck()
    shot(page, "regenerate-secret-dialog")
    dialog.get_by_role("button", name="Regenerate").click()

    new_secret = page.locator('[data-secret="client-secret"]').inner_text()
    assert new_secret != secret
    assert "Previous secret" in secret_row(page).inner_text()
    assert token_v2(page, client_id, secret).status == 200
    assert token_v2(page, client_id, new_secret).status == 200
    assert whoami(page, token).status == 200

    page.get_by_role("link", name="Authentication Information").click()
    secret_row(page).get_by_role("link", name="Regenerate").click()
    page.locator("dialog[open]").get_by_role("button", name="Regenerate").click()
    latest = page.locator('[data-secret="client-secret"]').inner_text()
    assert "Previous secret" not in secret_row(page).inner_text()
    assert token_v2(page, client_id, secret).status == 401
    assert token_v2(page, client_id, new_secret).status == 401
    assert whoami(page, token).status == 401

    for _ in range(3):  # the two refused old secrets above were the first of five failures
        assert token_v2(page, client_id, "gps_wrong").status == 401
    assert token_v2(page, client_id, latest).status == 429
    page.get_by_role("link", name="Authentication Information").click()
    assert "Locked" in page.locator(".lockouts").inner_text()
    shot(page, "oauth-client-locked")
    page.locator(".lockouts").get_by_role("button", name="Unlock").click()
    assert page.get_by_text("unlocked for 127.0.0.1").is_visible()
    assert token_v2(page, client_id, latest).status == 200
