"""One JSON object per log line: what a log shipper parses, and what a client-controlled string
(a client ID, a path) cannot break out of, since json.dumps escapes newlines and control characters."""

import json
import logging
from datetime import UTC, datetime

from portal.context import current_request_id


class JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id()
        if request_id:
            entry["request_id"] = request_id
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=True)


class RoutineRefusals(logging.Filter):
    """django.request's record of a 403 (a viewer trying a write) as one INFO line: it is the access
    rules at work, and a WARNING with a traceback for each would bury the warnings that matter."""

    def filter(self, record):
        if getattr(record, "status_code", None) != 403:
            return True
        record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        record.exc_info = record.exc_text = None
        # The logger let a WARNING through; at INFO it may be one the operator turned off.
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)
