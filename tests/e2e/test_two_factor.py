"""Two-factor authentication in a real browser: an authenticator app set up by reading its key from
the page and computing codes with pyotp, sign-in's second step (a wrong code refused and counted, a
recovery code good once), and a passkey registered and used through Chromium's virtual
authenticator (the DevTools Protocol's WebAuthn domain)."""

import pyotp
import pytest
from axes.models import AccessAttempt

from tests.conftest import PASSWORD, make_user
from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()


def code_step(page, code):
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_an_authenticator_app_is_set_up_and_signs_in_with_codes(page, transactional_db):
    make_user("olivia")
    sign_in(page, "olivia", PASSWORD)
    page.get_by_role("link", name="Security").click()
    page.get_by_role("link", name="Set up an authenticator app").click()
    page.get_by_role("button", name="Turn on").wait_for()  # the password is fresh: no prompt
    shot(page, "two-factor-set-up")
    secret = page.locator("[data-totp-secret]").inner_text()
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()

    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    shot(page, "two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    assert page.get_by_text("Sign-in asks for a code from your authenticator app.").is_visible()
    sign_out(page)

    # The password alone no longer signs in: a wrong code is refused and counted.
    sign_in(page, "olivia", PASSWORD)
    page.get_by_role("heading", name="Two-factor authentication").wait_for()
    code_step(page, "000000")
    assert page.get_by_text("Incorrect code.").is_visible()
    assert AccessAttempt.objects.get(username="olivia").failures_since_start == 1
    shot(page, "two-factor-wrong-code")
    code_step(page, pyotp.TOTP(secret).now())
    page.get_by_role("heading", name="Group List").wait_for()
    sign_out(page)

    # A recovery code works once.
    sign_in(page, "olivia", PASSWORD)
    code_step(page, codes[0])
    page.get_by_role("heading", name="Group List").wait_for()
    sign_out(page)
    sign_in(page, "olivia", PASSWORD)
    code_step(page, codes[0])
    assert page.get_by_text("Incorrect code.").is_visible()
    assert page.get_by_role("heading", name="Two-factor authentication").is_visible()


@pytest.fixture
def authenticator(page):
    """A platform authenticator with user verification, on Chromium's virtual WebAuthn device."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    yield cdp, found["authenticatorId"]


def test_a_passkey_is_registered_and_signs_in_alone_and_as_the_second_step(
    page, authenticator, transactional_db
):
    cdp, authenticator_id = authenticator
    make_user("olivia")
    sign_in(page, "olivia", PASSWORD)
    page.goto("/accounts/two-factor/")
    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_label("Name").fill("Laptop")
    page.get_by_label("Also sign in with it alone").check()
    page.get_by_role("button", name="Add a passkey").click()
    # The first second factor comes with recovery codes, shown once.
    page.locator("[data-recovery-codes]").wait_for()
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    page.goto("/accounts/two-factor/passkeys/")
    assert page.get_by_role("cell", name="Laptop").is_visible()
    shot(page, "two-factor-passkeys")
    sign_out(page)

    # Alone, without the username or password.
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_role("heading", name="Group List").wait_for()
    sign_out(page)

    # After the password, as the second factor.
    sign_in(page, "olivia", PASSWORD)
    page.get_by_role("heading", name="Two-factor authentication").wait_for()
    page.get_by_role("button", name="Use a passkey").click()
    page.get_by_role("heading", name="Group List").wait_for()


def test_a_refused_passkey_says_so(page, authenticator, transactional_db):
    cdp, authenticator_id = authenticator
    make_user("olivia")
    page.goto("/accounts/login/")
    # No passkey on this device for the portal: the browser refuses, and the page says so.
    cdp.send("WebAuthn.setUserVerified", {"authenticatorId": authenticator_id, "isUserVerified": False})
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_text("The browser did not sign in with a passkey.").wait_for()
    assert page.get_by_role("heading", name="Sign in").is_visible()
