"""Each request has an id: in the X-Request-ID response header, in every log line written while it
is served, and in the Activity rows it writes. Only a trusted proxy may choose it."""

import json
import logging
import re

import pytest
from django.test import Client

from portal.logs import JsonFormatter

PROXY = "10.0.0.254"
HEX_ID = re.compile(r"[0-9a-f]{32}")


class FormattedLines(logging.Handler):
    """Formats each record as it is emitted, while the request is still being served."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines():
    handler, logger = FormattedLines(), logging.getLogger("django.request")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_every_response_has_its_own_id(db):
    ids = [Client().get("/healthz")["X-Request-ID"] for _ in range(2)]

    assert all(HEX_ID.fullmatch(given) for given in ids)
    assert ids[0] != ids[1]


def test_the_log_line_of_a_request_carries_its_id(db, log_lines):
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert [line["request_id"] for line in log_lines] == [response["X-Request-ID"]]


def test_a_trusted_proxy_names_the_request(db, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    given = "5e0c3c1f6b2a4d5e9f8a7b6c5d4e3f2a"

    response = Client(REMOTE_ADDR=PROXY).get("/healthz", headers={"X-Request-ID": given})

    assert response["X-Request-ID"] == given


@pytest.mark.parametrize(
    ("remote", "given"),
    [
        ("203.0.113.7", "chosen-by-the-client-0001"),  # not a trusted proxy
        (PROXY, "two\nlines"),  # a forged log line
        (PROXY, "x" * 65),  # too long
        (PROXY, "short"),  # too short
    ],
)
def test_any_other_id_is_replaced(db, settings, remote, given):
    settings.TRUSTED_PROXIES = [PROXY]

    response = Client(REMOTE_ADDR=remote).get("/healthz", headers={"X-Request-ID": given})

    assert HEX_ID.fullmatch(response["X-Request-ID"])
