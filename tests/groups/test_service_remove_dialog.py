"""Remove on the Services tab asks in the page's dialog (static/portal/portal.js), else on its own
page, as Remove on the Members tab does: Cancel first, and nothing removed until the POST."""

import re

from pytest_django.asserts import assertContains

from groups.models import Action, Activity, Service
from tests.conftest import client_for

SERVICES = "/groups/payments/services/"
REMOVE = f"{SERVICES}orders:read/remove/"


def test_each_remove_button_opens_the_shared_dialog(cast):
    Service.objects.create(group=cast.group, name="orders:read")

    response = client_for(cast.owner).get(SERVICES)

    body = response.content.decode()
    opener = re.search(
        r'<a class="button small danger" href="([^"]+)"\s+data-confirm="confirm-dialog"[^>]*'
        r'data-title="Remove service orders:read\?"',
        body,
    )
    assert opener and opener[1] == REMOVE
    assertContains(response, '<dialog id="confirm-dialog"')
    dialog = body[body.index('<dialog id="confirm-dialog"') : body.index("</dialog>")]
    assert re.search(r"<button[^>]*autofocus[^>]*>Cancel</button>", dialog)
    assert dialog.index(">Cancel</button>") < dialog.index('data-fill="verb"')


def test_the_page_without_scripts_asks_first_and_removes_nothing(cast):
    Service.objects.create(group=cast.group, name="orders:read")

    response = client_for(cast.owner).get(REMOVE)

    body = response.content.decode()
    assertContains(response, "Remove service orders:read?")
    assertContains(response, "Every credential and token limited to orders:read loses it at once")
    assert re.search(r'<a class="button" href="/groups/payments/services/" autofocus>Cancel</a>', body)
    assert body.index(">Cancel</a>") < body.index(">Remove service</button>")
    assert Service.objects.filter(name="orders:read").exists()
    assert not Activity.objects.filter(action=Action.SERVICE_REMOVED).exists()


def test_the_confirmed_post_removes_the_service(cast):
    Service.objects.create(group=cast.group, name="orders:read")

    response = client_for(cast.owner).post(REMOVE, follow=True)

    assertContains(response, "Service orders:read removed.")
    assert not Service.objects.exists()
    assert Activity.objects.filter(action=Action.SERVICE_REMOVED, actor=cast.owner).exists()


def test_an_unknown_service_is_404(cast):
    assert client_for(cast.owner).get(f"{SERVICES}orders:write/remove/").status_code == 404


def test_admins_and_viewers_get_no_dialog_and_no_page(cast):
    Service.objects.create(group=cast.group, name="orders:read")

    for user in (cast.admin, cast.viewer):
        browser = client_for(user)
        body = browser.get(SERVICES).content.decode()
        assert '<dialog id="confirm-dialog"' not in body and "data-confirm" not in body
        assert browser.get(REMOVE).status_code == 403
