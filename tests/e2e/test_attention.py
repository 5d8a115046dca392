"""Needs attention on the Group List in a browser, English and Japanese, desktop and phone: it
fits, its links lead to the credential's card. Screenshots in test-artifacts/attention/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Preference
from credentials.models import ApiKey, ApiKeyCredential
from groups.models import Membership, Role
from tests.conftest import PASSWORD, make_api_key, make_group, make_member, make_oauth_client
from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = ARTIFACTS / "attention"
LONG_NAME = "Nightly reconciliation of card settlements between the ledger and the acquirer eu-west-1-prod"


def seed():
    now = timezone.now()
    payments, ledger = make_group("Payments"), make_group("Ledger")
    owner = make_member(payments, Role.OWNER, "olivia")
    Membership.objects.create(user=owner, group=ledger, role=Role.VIEWER)
    credential, _ = make_api_key(payments, LONG_NAME)
    ApiKeyCredential.objects.filter(pk=credential.pk).update(expires_at=now + timedelta(days=3))
    client, _ = make_oauth_client(payments)
    client.regenerate_secret(client.version, owner, grace_seconds=3600)
    idle, _ = make_api_key(ledger, "Old batch job")
    ApiKey.objects.filter(credential=idle).update(created_at=now - timedelta(days=120))
    ledger.suspend(owner)
    return owner, credential


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_group_lists_items_fit_and_link_to_their_cards(page, language):
    SHOTS.mkdir(parents=True, exist_ok=True)
    owner, credential = seed()
    if language == "ja":
        Preference.objects.create(user=owner, language="ja")
    sign_in(page, "olivia", PASSWORD)
    page.goto("/groups/")
    heading = "要対応" if language == "ja" else "Needs attention"
    section = page.locator("section.attention")
    assert section.get_by_role("heading", name=heading).is_visible()
    assert section.locator("li").count() == 4
    for width, label in ((1280, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=SHOTS / f"group-list-{language}-{label}.png", full_page=True)

    section.locator(f'a[href$="#cred-{credential.public_id}"]').click()

    page.wait_for_url(f"**/groups/payments/#cred-{credential.public_id}")
    assert page.locator(f"#cred-{credential.public_id}").is_visible()
    page.screenshot(path=SHOTS / f"tab-{language}-phone.png")
