"""gunicorn's access log: one line per request, whatever the client put in the path."""

from urllib.parse import quote

import pytest
from django.db import connection

from tests.system.support import call, wait_for

pytestmark = [pytest.mark.system(sqlite=True), pytest.mark.django_db(transaction=True)]
FORGED = '127.0.0.1 - - "GET /admin/ HTTP/1.1" 200'


def test_a_newline_in_the_path_cannot_forge_an_access_log_line(start_portal, tmp_path):
    # Neither /healthz nor a 404 reads the database: on SQLite, a file of the server's own will do.
    own = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "CACHE_DIR": str(tmp_path / "cache")}
    portal = start_portal(tmp_path.name, workers=1, **({} if connection.vendor == "postgresql" else own))
    path = "/healthz%0a" + quote(FORGED)

    response = call(portal.port, "GET", path)
    assert response.status == 404

    wait_for(lambda: "admin" in portal.access_log.read_text(), 10, "the access log line")
    (line,) = [line for line in portal.access_log.read_text().splitlines() if "admin" in line]
    assert line.startswith(f'127.0.0.1 "GET {path} HTTP/1.1" 404 ')
    # The line ends with the request id, as the app's log lines and Activity carry it.
    assert line.endswith(f" {response.headers['x-request-id']}")
