"""Remove asks in the page's dialog (static/portal/portal.js), else on its own page: Cancel first."""

import re

from pytest_django.asserts import assertContains

from tests.conftest import client_for

MEMBERS = "/groups/payments/members/"


def test_each_remove_button_opens_the_shared_dialog_with_the_member_and_version(cast):
    response = client_for(cast.owner).get(MEMBERS)

    body = response.content.decode()
    opener = re.search(
        r'<a class="button small danger" href="([^"]+)"\s+data-confirm="confirm-dialog"[^>]*'
        r'data-title="Remove vera\?"',
        body,
    )
    assert opener and opener[1] == "/groups/payments/members/vera/remove/?version=1"
    assertContains(response, '<dialog id="confirm-dialog"')


def test_the_dialog_focuses_cancel_and_puts_it_first(cast):
    body = client_for(cast.owner).get(MEMBERS).content.decode()

    dialog = body[body.index('<dialog id="confirm-dialog"') : body.index("</dialog>")]
    assert dialog.index(">Cancel</button>") < dialog.index('data-fill="verb"')
    assert re.search(r"<button[^>]*autofocus[^>]*>Cancel</button>", dialog)


def test_the_page_without_scripts_focuses_cancel_and_puts_it_first(cast):
    body = client_for(cast.owner).get(f"{MEMBERS}vera/remove/").content.decode()

    assert re.search(r'<a class="button" href="/groups/payments/members/" autofocus>Cancel</a>', body)
    assert body.index(">Cancel</a>") < body.index(">Remove member</button>")


def test_the_dialogs_post_removes_the_member(cast):
    response = client_for(cast.owner).post(f"{MEMBERS}vera/remove/?version=1", follow=True)

    assertContains(response, "vera removed from Payments.")
    assert not cast.group.memberships.filter(user=cast.viewer).exists()


def test_viewers_get_no_dialog(cast):
    body = client_for(cast.viewer).get(MEMBERS).content.decode()

    assert '<dialog id="confirm-dialog"' not in body
    assert "data-confirm" not in body
