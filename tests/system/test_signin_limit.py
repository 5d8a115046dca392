"""nginx's limit on sign-in attempts (deploy/nginx/portal.conf): POSTs to the pages that check a
password, counted per address, are answered 429 by nginx past their burst and never reach an app
server; the pages themselves still load, and the limit refills at its rate.

The POSTs carry no CSRF token: those that pass are refused by the portal (403) without hashing a
password, so the portal's own lockouts (tests/accounts/test_sign_in.py) play no part here.
"""

import re
import time
from collections import Counter

import pytest

from tests.system.conftest import nginx_path
from tests.system.support import (
    NGINX_DIR,
    Nginx,
    call,
    described,
    free_port,
    self_signed_certificate,
    shipped_front,
)

LABEL = "sign-in limit"
pytestmark = pytest.mark.system("nginx")
# The limit as portal.conf ships it.
CONF = (NGINX_DIR / "portal.conf").read_text()
RATE = int(re.search(r"zone=portal_signin:\S+ rate=(\d+)r/s;", CONF).group(1))
BURST = int(re.search(r"limit_req zone=portal_signin burst=(\d+) nodelay;", CONF).group(1))
ATTEMPTS = 30
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
WRONG = "username=someone&password=wrong+password"


@pytest.fixture
def front(start_portal):
    """One app server as in production (HTTPS behind nginx, which it trusts), and nginx running
    the shipped portal.conf in front of it."""
    portal = start_portal("signin", HTTPS="true", TRUSTED_PROXIES="127.0.0.1")
    nginx, port = Nginx(nginx_path()), free_port()
    tls = self_signed_certificate(nginx.dir)
    shipped_front(nginx.dir, [portal, portal], port)
    try:
        nginx.start("portal.conf", port)
        yield port, tls
    finally:
        leaks = nginx.stop()
        assert not leaks, f"secret-shaped values in nginx's logs: {leaks}"


def from_portal(answer):
    """Whether the portal wrote this answer (it names every request), rather than nginx."""
    return "x-request-id" in answer.headers


def test_sign_in_posts_past_the_burst_are_refused_by_nginx(front, traffic):
    port, tls = front
    started = time.monotonic()
    answers = [call(port, "POST", "/accounts/login/", FORM, WRONG, tls=tls) for _ in range(ATTEMPTS)]
    seconds = time.monotonic() - started
    statuses = described(Counter(answer.status for answer in answers))
    passed = [answer for answer in answers if answer.status != 429]
    refused = [answer for answer in answers if answer.status == 429]
    # The admin site's sign-in shares the count; the pages themselves are not counted.
    admin = call(port, "POST", "/admin/login/", FORM, WRONG, tls=tls)
    pages = [call(port, "GET", "/accounts/login/", tls=tls).status for _ in range(BURST + 2)]
    time.sleep(1 / RATE + 0.2)
    refilled = call(port, "POST", "/accounts/login/", FORM, WRONG, tls=tls)
    traffic.sent += len(answers) + len(pages) + 2
    traffic.figures.append(
        f"{ATTEMPTS} sign-in POSTs from one address in {seconds:.2f} s through portal.conf"
        f" (rate {RATE}/s, burst {BURST}): {statuses}"
    )

    most = BURST + 1 + int(seconds * RATE) + 1
    assert BURST + 1 <= len(passed) <= most, statuses
    assert all(answer.status == 403 and from_portal(answer) for answer in passed)
    assert refused and not any(from_portal(answer) for answer in refused)
    assert admin.status == 429 and not from_portal(admin)
    assert pages == [200] * (BURST + 2)
    assert refilled.status == 403 and from_portal(refilled)
