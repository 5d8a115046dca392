"""Usage in a real browser: verifications over both slots of a key and token requests of a client,
counted by the live server's worker, flushed, and shown on the Authentication Information tab."""

import base64
import time

import pytest

from credentials.models import ClientUsage, KeyUsage
from groups.models import Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member, make_oauth_client
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def verify(page, value, times):
    for _ in range(times):
        assert page.request.get("/v1/verify", headers={"X-Api-Key": value}).status == 204


def tokens(page, client, secret, times):
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(times):
        assert (
            page.request.post("/v2/tokens", headers=headers, data="grant_type=client_credentials").status
            == 200
        )


def test_the_tab_shows_usage_per_slot_and_client(page, settings):
    # Verifications answered from the worker's memory count as well as those read from the database.
    settings.VERIFY_CACHE_SECONDS, settings.USAGE_FLUSH_SECONDS = 1, 1
    group = make_group("Payments")
    admin = make_member(group, Role.ADMIN, "adam")
    _, values = make_api_key(group)
    client, secret = make_oauth_client(group)

    verify(page, values["primary"], 69)
    verify(page, values["secondary"], 50)
    tokens(page, client, secret, 30)
    time.sleep(1.1)
    verify(page, values["primary"], 1)  # finds the last flush a second old: writes every count

    sign_in(page, admin.username, PASSWORD)
    page.get_by_role("link", name="Payments").click()

    card = page.locator("article", has_text="Billing app")
    assert card.locator('[data-requests="primary"]').inner_text() == "70"
    assert card.locator('[data-requests="secondary"]').inner_text() == "50"
    chart = card.locator("svg[role=img]")
    assert chart.locator("title").text_content() == (
        "Requests per hour, last 7 days: 120 in total (Primary key 70, Secondary key 50)"
    )
    hours = KeyUsage.objects.values_list("key__slot", "hour").distinct().count()  # 2, or 4 across an hour
    assert chart.locator("rect.bar-primary, rect.bar-secondary").count() == hours

    client_card = page.locator("article", has_text="Checkout")
    assert client_card.locator("[data-tokens]").inner_text() == "30"
    assert "Last token issued" in client_card.inner_text()
    client_hours = ClientUsage.objects.values_list("hour").distinct().count()
    assert client_card.locator("svg[role=img] rect.bar-client").count() == client_hours

    page.set_viewport_size({"width": 1280, "height": 800})
    shot(page, "usage-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "usage-phone")

    page.set_viewport_size({"width": 1280, "height": 800})
    client_card.get_by_role("link", name="Regenerate").click()
    warning = page.locator("dialog[open] [data-fill=warnings]")
    assert warning.is_visible()
    assert "A token was issued with this secret less than a minute ago from 127.0.0.1" in warning.inner_text()
    shot(page, "usage-regenerate-secret-warning")


def test_end_grace_now_asks_first_with_cancel_focused(page, settings):
    settings.USAGE_FLUSH_SECONDS = 0  # each token request writes its count
    group = make_group("Payments")
    admin = make_member(group, Role.ADMIN, "adam")
    client, old = make_oauth_client(group)

    sign_in(page, admin.username, PASSWORD)
    page.get_by_role("link", name="Payments").click()
    row = page.locator('.key-row[data-slot="client-secret"]')
    row.get_by_role("link", name="Regenerate").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("After 1 hour").check()
    dialog.get_by_role("button", name="Regenerate").click()
    tokens(page, client, old, 3)
    page.get_by_role("link", name="Authentication Information").click()

    assert "3 tokens since the secret was regenerated" in row.inner_text()
    assert page.locator("rect.bar-previous").count() == 1
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "usage-grace-phone")
    row.get_by_role("link", name="End grace now").click()
    dialog = page.locator("dialog[open]")
    assert "It was last used" in dialog.inner_text()
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Cancel"
    page.set_viewport_size({"width": 1280, "height": 800})
    shot(page, "usage-end-grace-dialog")
    dialog.get_by_role("button", name="End grace now").click()

    assert "Grace period of Checkout ended" in page.inner_text("body")
    assert client.secrets.count() == 1
    assert (
        page.request.post("/v1/tokens", data={"clientId": client.client_id, "clientSecret": old}).status
        == 401
    )
