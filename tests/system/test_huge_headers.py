"""Oversized and malformed headers against a real gunicorn: always a 4xx, never a 5xx or a hang.

gunicorn's own limits (limit_request_line 4094, limit_request_fields 100,
limit_request_field_size 8190) answer before Django; what passes them must be refused by the
portal. Bodies and JSON are tested in-process elsewhere.
"""

import base64
import time

import pytest

from tests.system.conftest import seed
from tests.system.support import raw_status

LABEL = "huge headers"
# Every system test is transactional, so pytest-django keeps each module's tests together (it
# runs transactional tests after the others) and its servers start once.
pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
BIG = 8000  # under gunicorn's limit_request_field_size, so Django gets the header
GRANT = b"grant_type=client_credentials"


def get(path=b"/v1/verify", headers=(), host=b"127.0.0.1"):
    lines = [b"GET " + path + b" HTTP/1.1", b"Host: " + host, *headers, b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def post_token(headers=(), body=GRANT, length=None):
    length = str(len(body) if length is None else length).encode()
    lines = [
        b"POST /v2/tokens HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Content-Type: application/x-www-form-urlencoded",
        b"Content-Length: " + length,
        *headers,
        b"Connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def basic(raw):
    return b"Authorization: Basic " + base64.b64encode(raw)


CASES = {
    "request line of 5 KB": (get(b"/v1/verify?x=" + b"a" * 5000), {414, 400}),
    "one header of 9 KB": (get(headers=[b"X-Api-Key: " + b"a" * 9000]), {431, 400}),
    "150 headers": (get(headers=[b"X-Filler-%d: 1" % n for n in range(150)]), {431, 400}),
    "98 headers of 8 KB each": (
        get(headers=[b"X-Filler-%d: " % n + b"a" * BIG for n in range(98)]),
        {401, 431, 400},
    ),
    "X-Api-Key of 8 KB": (get(headers=[b"X-Api-Key: gpk_" + b"a" * BIG]), {401}),
    "X-Access-Token of 8 KB": (get(headers=[b"X-Access-Token: gpa_" + b"a" * BIG]), {401}),
    "Bearer token of 8 KB": (get(headers=[b"Authorization: Bearer " + b"a" * BIG]), {401}),
    "X-Api-Key of bytes that are not UTF-8": (get(headers=[b"X-Api-Key: gpk_\xff\xfe\x80\xc3"]), {401}),
    "two X-Api-Key headers": (get(headers=[b"X-Api-Key: gpk_a", b"X-Api-Key: gpk_b"]), {401}),
    "NUL byte in a header": (get(headers=[b"X-Api-Key: gpk_\x00a"]), {400}),
    "header folded over two lines": (get(headers=[b"X-Api-Key: gpk_a", b" folded"]), {400, 401}),
    "header name with a space": (get(headers=[b"X Api Key: gpk_a"]), {400}),
    "Host of 8 KB": (get(host=b"h" * BIG), {400}),
    "session cookie of 8 KB of garbage": (get(b"/groups/", [b"Cookie: sessionid=" + b"z" * BIG]), {302}),
    "HTTP Basic of 8 KB": (post_token([basic(b"gpc_" + b"a" * 3000 + b":" + b"b" * 3000)]), {400, 401}),
    "HTTP Basic of bytes that are not UTF-8": (post_token([basic(b"\xff\xfe:\x80\xc3")]), {400, 401}),
    "HTTP Basic that is not base64": (post_token([b"Authorization: Basic %%%%"]), {400, 401}),
    "Content-Length of 1 GB": (post_token(length=10**9), {400, 413}),
}


@pytest.fixture(scope="module")
def portal(start_portal):
    portal = start_portal("headers")
    portal.workers_at_start = sorted(portal.worker_pids())
    return portal


@pytest.mark.parametrize("case", CASES)
def test_abusive_request_gets_a_4xx(portal, traffic, case):
    request, allowed = CASES[case]
    started = time.monotonic()
    traffic.sent += 1
    status = raw_status(portal.port, request, timeout=5)
    seconds = time.monotonic() - started
    if status not in allowed or seconds > 3:
        traffic.failures += 1
    assert status in allowed, f"{case}: {status}, expected one of {sorted(allowed)}"
    assert seconds < 3, f"{case}: answered after {seconds:.1f} s"
    assert portal.healthy()


def test_server_serves_as_before_after_the_abuse(portal, traffic):
    data = seed()
    traffic.send(portal.port, "GET", "/v1/verify", {"X-Api-Key": data.keys["primary"]}, expect=204)
    # No worker died or was replaced on a timeout.
    assert sorted(portal.worker_pids()) == portal.workers_at_start
    traffic.figures.append(f"{len(CASES)} kinds, every one a 4xx (or 302 to sign-in), no worker lost")
