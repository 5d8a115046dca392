"""Activity for export: one row shape, written as CSV or JSON Lines a chunk at a time, for the
Activity tab's download and `manage.py export_activity` alike."""

import csv
import json
from collections.abc import Callable
from datetime import UTC
from typing import NamedTuple

from groups.models import Action

FIELDS = [
    "time",
    "group",
    "actor",
    "action",
    "description",
    "target",
    "occurrences",
    "source_address",
    "request_id",
]

# Rows fetched per query and written per chunk: memory stays flat however long the period.
CHUNK_ROWS = 1000

# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def rows(activities):
    """Each Activity of the queryset as a dict of FIELDS, oldest first. Values rather than model
    instances, and one table of descriptions rather than get_action_display(), which builds its
    table again for every row: an export reads the whole period. Labels in the active language,
    as text: a file holds no lazy translations."""
    described = {action: str(label) for action, label in Action.choices}
    events = activities.order_by("created_at", "id").values(
        "created_at",
        "group_slug",
        "actor_name",
        "action",
        "target",
        "occurrences",
        "source_address",
        "request_id",
    )
    for event in events.iterator(chunk_size=CHUNK_ROWS):
        yield {
            "time": event["created_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "group": event["group_slug"],
            "actor": event["actor_name"],
            "action": event["action"],
            "description": described.get(event["action"], event["action"]),
            "target": event["target"],
            "occurrences": event["occurrences"],
            "source_address": event["source_address"],
            "request_id": event["request_id"],
        }


def spreadsheet_safe(value):
    """The value as a CSV cell no spreadsheet evaluates: text that would start a formula gets a
    leading apostrophe, which spreadsheets show as text and do not display."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    """A file for csv.writer whose write() returns the line instead of storing it."""

    def write(self, line):
        return line


def _csv_lines(activities):
    writer = csv.writer(_Echo())
    yield writer.writerow(FIELDS)
    for row in rows(activities):
        yield writer.writerow([spreadsheet_safe(row[field]) for field in FIELDS])


def _jsonl_lines(activities):
    for row in rows(activities):
        yield json.dumps(row, ensure_ascii=False) + "\n"


class Format(NamedTuple):
    label: str
    extension: str
    content_type: str
    lines: Callable  # queryset -> lines of text


FORMATS = {
    "csv": Format("CSV", "csv", "text/csv; charset=utf-8", _csv_lines),
    "jsonl": Format("JSON Lines", "jsonl", "application/x-ndjson; charset=utf-8", _jsonl_lines),
}


def stream(activities, format_name):
    """The export of a queryset of Activity in the named format, as text chunks of CHUNK_ROWS
    lines: for a StreamingHttpResponse and a file alike."""
    chunk = []
    for line in FORMATS[format_name].lines(activities):
        chunk.append(line)
        if len(chunk) == CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
