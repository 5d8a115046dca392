"""The 403 and 404 pages in a real browser, on a phone and on a desktop: in the layout, with the
reason and the way back, and nothing the Content-Security-Policy blocks (the page fixture checks)."""

import pytest

from groups.models import Role
from tests.conftest import PASSWORD, make_group, make_member
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_403_and_404_pages(page, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    viewer = make_member(make_group("Payments"), Role.VIEWER, "vera")
    sign_in(page, viewer.username, PASSWORD)

    refused = page.goto("/groups/payments/api-keys/new/")
    assert refused.status == 403
    assert page.get_by_role("heading", name="Not allowed").is_visible()
    assert page.get_by_text("your role in Payments is Viewer.").is_visible()
    shot(page, f"error-403-{viewport}")

    missing = page.goto("/groups/no-such-group/")
    assert missing.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    shot(page, f"error-404-{viewport}")
    page.get_by_role("link", name="Back to the Group List").click()
    assert page.get_by_role("heading", name="Group List").is_visible()
