"""Two administrators on one key at once, in a real browser: the one whose page is out of date is
told who changed the key and when, and is shown no value."""

import pytest

from credentials.models import ApiKeyCredential
from groups.models import Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_regenerate_from_an_out_of_date_page_is_refused_and_says_why(page):
    group = make_group("Payments", description="Card payments team")
    adam = make_member(group, Role.ADMIN, "adam")
    credential, _ = make_api_key(group, "Billing service")
    sign_in(page, adam.username, PASSWORD)
    page.goto(f"/groups/{group.slug}/")

    credential.regenerate("primary", credential.version, make_member(group, Role.OWNER, "olivia"))
    page.locator('.key-row[data-slot="secondary"]').get_by_role("link", name="Regenerate").click()
    page.locator("dialog[open]").get_by_role("button", name="Regenerate").click()

    changed_at = ApiKeyCredential.objects.get(pk=credential.pk).changed_at
    assert page.get_by_text(f"changed by olivia at {changed_at:%Y-%m-%d %H:%M:%S} UTC").is_visible()
    assert page.locator("[data-secret]").count() == 0
    shot(page, "regenerate-conflict")
