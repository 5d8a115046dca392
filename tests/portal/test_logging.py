"""What the portal logs about refused requests: a routine 403 is one INFO line, and the answers
that point to a fault keep their level."""

import json
import logging

from portal.logs import JsonFormatter
from tests.conftest import client_for

CREATE_KEY = "/groups/payments/api-keys/new/"


def request_records(caplog):
    return [record for record in caplog.records if record.name == "django.request"]


def test_a_viewer_refused_a_write_is_one_info_line_without_a_traceback(cast, caplog):
    caplog.set_level(logging.INFO, logger="django.request")

    response = client_for(cast.viewer).post(CREATE_KEY, {"name": "Billing"})

    assert response.status_code == 403
    (record,) = request_records(caplog)
    assert (record.levelno, record.levelname) == (logging.INFO, "INFO")
    assert record.exc_info is None
    entry = json.loads(JsonFormatter().format(record))
    del entry["time"]
    assert entry == {
        "level": "INFO",
        "logger": "django.request",
        "message": f"Forbidden (Permission denied): {CREATE_KEY}",
        "status": 403,
    }


def test_a_403_is_not_logged_where_info_is_off(cast, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    caplog.handler.setLevel(logging.NOTSET)  # only the logger's level decides

    response = client_for(cast.viewer).post(CREATE_KEY, {"name": "Billing"})

    assert response.status_code == 403
    assert request_records(caplog) == []


def test_a_404_still_warns(cast, caplog):
    caplog.set_level(logging.INFO, logger="django.request")

    response = client_for(cast.outsider).get("/groups/payments/")

    assert response.status_code == 404
    (record,) = request_records(caplog)
    assert record.levelno == logging.WARNING
