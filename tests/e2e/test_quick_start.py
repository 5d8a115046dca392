"""The Quick start in a real browser: copy the /v2/tokens command, put the secret in place of its
placeholder, run it with curl against the live server, and get an access token."""

import json
import subprocess

import pytest

from credentials.snippets import CLIENT_SECRET_PLACEHOLDER
from groups.models import Role
from tests.conftest import PASSWORD, make_group, make_member, make_oauth_client
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_copied_token_command_gets_an_access_token(page, live_server):
    group = make_group("Payments")
    admin = make_member(group, Role.ADMIN, "adam")
    client, secret = make_oauth_client(group, "Checkout", created_by=admin)

    sign_in(page, admin.username, PASSWORD)
    page.get_by_role("link", name="Payments").click()
    card = page.locator("article", has_text="Checkout")
    copy = card.get_by_role("button", name="Copy the /v2/tokens command for Checkout")
    assert not copy.is_visible()  # closed by default
    card.get_by_text("Quick start").click()
    copy.click()
    page.get_by_text("The /v2/tokens command for Checkout copied to the clipboard.").wait_for()
    shot(page, "quick-start")
    command = page.evaluate("navigator.clipboard.readText()")

    assert client.client_id in command and secret not in command
    assert f"{live_server.url}/v2/tokens" in command
    # As a developer would: the secret in place of the placeholder, then run in a shell. The
    # status line curl writes after the body (-w) is the test's only addition.
    ready = command.replace(CLIENT_SECRET_PLACEHOLDER, secret) + " -sS -w '\\n%{http_code}'"
    ran = subprocess.run(  # noqa: S603  (a command built by this test, against its own live server)
        ["/bin/sh", "-c", ready], capture_output=True, text=True, timeout=30, check=True
    )
    body, status = ran.stdout.rsplit("\n", 1)
    assert status == "200"
    answer = json.loads(body)
    assert answer["access_token"].startswith("gpa_")
    assert answer["token_type"] == "Bearer"
