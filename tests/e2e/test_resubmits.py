"""Reload, back and forward after each action, and a double click, in a real browser: each
action happens once (one Activity row), and a value copied before the reload still works.

Finding 1 of the outside audit: a reload after Regenerate regenerated again, and a reload after
Create answered "already has a credential with this name"."""

import pytest

from credentials.models import ApiKeyCredential
from groups.models import Action, Activity, Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ALREADY_SHOWN = "That value was shown once already"


@pytest.fixture
def owner(page):
    group = make_group("Payments", description="Card payments team")
    owner = make_member(group, Role.OWNER, "olivia")
    sign_in(page, owner.username, PASSWORD)
    return owner


def works(page, key):
    return page.request.get("/v1/whoami", headers={"X-Api-Key": key}).status == 200


def shown(page, slot):
    return page.locator(f'[data-secret="{slot}"]').inner_text()


def copied(page, slot):
    """The value as the administrator copies it: the row's Copy button, then the clipboard."""
    key_row(page, slot).get_by_role("button", name="Copy").click()
    page.get_by_text("copied to the clipboard").wait_for()
    return page.evaluate("navigator.clipboard.readText()")


def reload_back_forward(page):
    """What an administrator may do next: reload the result, go back, come forward again."""
    page.reload()
    assert page.get_by_text(ALREADY_SHOWN).is_visible()
    assert page.locator("[data-secret]").count() == 0
    page.go_back()
    page.go_forward()
    assert page.locator("[data-secret]").count() == 0


def happened(action):
    return Activity.objects.filter(action=action).count()


def key_row(page, slot):
    return page.locator(f'.key-row[data-slot="{slot}"]')


def test_create_then_reload_back_forward_and_submit_again(page, owner):
    page.goto("/groups/payments/api-keys/new/")
    page.get_by_label("Name").fill("Billing service")
    page.get_by_role("button", name="Create").click()
    primary, secondary = copied(page, "primary"), shown(page, "secondary")
    assert primary.startswith("gpk_")
    assert page.url.endswith("/groups/payments/?reveal=" + page.url.rpartition("=")[2])

    reload_back_forward(page)
    page.go_back()  # to the form, as it was sent, and send it again
    if page.get_by_label("Name").input_value() == "Billing service":
        page.get_by_role("button", name="Create").click()
    shot(page, "resubmit-create")

    assert happened(Action.API_KEY_CREATED) == 1
    assert ApiKeyCredential.objects.count() == 1
    assert works(page, primary) and works(page, secondary)


def test_show_then_reload_back_forward(page, owner):
    make_api_key(owner.memberships.get().group, "Billing service")
    page.goto("/groups/payments/")
    key_row(page, "secondary").get_by_role("button", name="Show").click()
    secondary = shown(page, "secondary")

    reload_back_forward(page)

    assert happened(Action.API_KEY_SHOWN) == 1
    assert works(page, secondary)


def test_regenerate_then_reload_back_forward(page, owner):
    make_api_key(owner.memberships.get().group, "Billing service")
    page.goto("/groups/payments/")
    key_row(page, "primary").get_by_role("link", name="Regenerate").click()
    page.locator("dialog[open]").get_by_role("button", name="Regenerate").click()
    primary = copied(page, "primary")
    assert primary.startswith("gpk_")

    reload_back_forward(page)
    shot(page, "resubmit-regenerate")

    assert happened(Action.API_KEY_REGENERATED) == 1
    assert works(page, primary)


def test_a_double_click_on_regenerate_regenerates_once_and_shows_the_value(page, owner):
    make_api_key(owner.memberships.get().group, "Billing service")
    page.goto("/groups/payments/")
    key_row(page, "primary").get_by_role("link", name="Regenerate").click()
    page.locator("dialog[open]").get_by_role("button", name="Regenerate").dblclick()
    page.wait_for_url("**/groups/payments/?reveal=*")

    primary = shown(page, "primary")

    assert happened(Action.API_KEY_REGENERATED) == 1
    assert works(page, primary)


def test_delete_then_reload_back_forward(page, owner):
    group = owner.memberships.get().group
    make_api_key(group, "Billing service")
    _, kept = make_api_key(group, "Search service")
    page.goto("/groups/payments/")
    card = page.locator("article.credential", has_text="Billing service")
    card.get_by_role("link", name="Delete").click()
    page.locator("dialog[open]").get_by_role("button", name="Delete").click()
    assert page.get_by_text("Billing service deleted").is_visible()

    page.reload()
    page.go_back()
    page.go_forward()

    assert happened(Action.API_KEY_DELETED) == 1
    assert list(ApiKeyCredential.objects.values_list("name", flat=True)) == ["Search service"]
    assert works(page, kept["primary"])
