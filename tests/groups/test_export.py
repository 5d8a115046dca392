"""Exporting Activity: the Activity tab's download (CSV or JSON Lines for a period) and
`manage.py export_activity`, which share groups/export.py."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains

from groups.export import CHUNK_ROWS
from groups.models import Action, Activity
from tests.conftest import (
    client_for,
    make_group,
)

EXPORT = "/groups/payments/activity/export/"
HERE = "203.0.113.7"
FORM = "application/x-www-form-urlencoded"
HEADER = "time,group,actor,action,description,target,occurrences,source_address,request_id\r\n"


def at(text):
    """An aware UTC datetime from 'YYYY-MM-DD HH:MM:SS'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def event(group, when, target="event", action=Action.API_KEY_CREATED, **fields):
    """An Activity row at `when`, as ActivityManager.record would write it for `group` (or None)."""
    fields.setdefault("group_slug", group.slug if group else "")
    return Activity.objects.create(group=group, action=action, target=target, created_at=at(when), **fields)


def download(user, **params):
    response = client_for(user).get(EXPORT, params)
    body = b"".join(response.streaming_content).decode() if response.streaming else None
    return response, body


def targets_of_jsonl(body):
    return [json.loads(line)["target"] for line in body.splitlines()]


def test_csv_has_a_header_and_every_field_of_each_row(cast):
    event(
        cast.group,
        "2026-11-02 09:30:00",
        "Billing app",
        actor=cast.owner,
        actor_name="olivia",
        source_address=HERE,
        request_id="req-1",
    )
    event(cast.group, "2026-11-03 10:00:05.250000", "Checkout", Action.CLIENT_LOCKED, occurrences=3)

    response, body = download(cast.owner, since="2026-11-01", until="2026-11-29", format="csv")

    assert response.status_code == 200
    assert response.streaming
    assert body == (
        HEADER
        + "2026-11-02T09:30:00Z,payments,olivia,api_key.created,created API key,Billing app,1,"
        + f"{HERE},req-1\r\n"
        + "2026-11-03T10:00:05Z,payments,,oauth_client.locked,locked after failed authentications:,"
        + "Checkout,3,,\r\n"
    )


def test_jsonl_has_one_object_per_line_with_every_field(cast):
    event(cast.group, "2026-11-02 09:30:00", "Café app", actor_name="olivia", source_address=HERE)
    event(cast.group, "2026-11-03 10:00:00", "payments", Action.GROUP_CREATED, request_id="req-2")

    response, body = download(cast.viewer, since="2026-11-01", until="2026-11-29", format="jsonl")

    assert response.status_code == 200
    assert body.endswith("\n")
    assert "Café app" in body  # UTF-8, not \u escapes
    assert [json.loads(line) for line in body.splitlines()] == [
        {
            "time": "2026-11-02T09:30:00Z",
            "group": "payments",
            "actor": "olivia",
            "action": "api_key.created",
            "description": "created API key",
            "target": "Café app",
            "occurrences": 1,
            "source_address": HERE,
            "request_id": "",
        },
        {
            "time": "2026-11-03T10:00:00Z",
            "group": "payments",
            "actor": "",
            "action": "group.created",
            "description": "created the group",
            "target": "payments",
            "occurrences": 1,
            "source_address": None,
            "request_id": "req-2",
        },
    ]


def test_headers_name_the_file_and_forbid_caching(cast):
    csv_response, _ = download(cast.owner, since="2026-11-01", until="2026-11-29", format="csv")
    jsonl_response, _ = download(cast.owner, since="2026-11-01", until="2026-11-29", format="jsonl")

    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_response["Content-Disposition"] == (
        'attachment; filename="activity-payments-2026-11-01-to-2026-11-29.csv"'
    )
    assert csv_response["Cache-Control"] == "no-store"
    assert jsonl_response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert jsonl_response["Content-Disposition"] == (
        'attachment; filename="activity-payments-2026-11-01-to-2026-11-29.jsonl"'
    )


def test_days_count_whole_and_rows_come_oldest_first(cast):
    for when in [
        "2026-11-04 00:00:00",
        "2026-11-03 23:59:59.999999",
        "2026-11-02 00:00:00",
        "2026-11-01 23:59:59.999999",
    ]:
        event(cast.group, when, when)

    _, body = download(cast.viewer, since="2026-11-02", until="2026-11-03", format="jsonl")

    assert targets_of_jsonl(body) == ["2026-11-02 00:00:00", "2026-11-03 23:59:59.999999"]


def test_times_bound_the_period_exactly(cast):
    for when in ["2026-11-02 11:59:59", "2026-11-02 12:00:00", "2026-11-02 13:30:00", "2026-11-02 13:30:01"]:
        event(cast.group, when, when)

    _, body = download(
        cast.viewer, since="2026-11-02T12:00", until="2026-11-02T14:30:00+01:00", format="jsonl"
    )

    assert targets_of_jsonl(body) == ["2026-11-02 12:00:00", "2026-11-02 13:30:00"]


def test_without_until_the_period_runs_to_now(cast):
    event(cast.group, "2026-11-02 09:30:00", "old")
    Activity.objects.create(group=cast.group, group_slug="payments", action=Action.MEMBER_ADDED, target="new")

    response, body = download(cast.viewer, since="2026-11-02", format="jsonl")

    assert targets_of_jsonl(body) == ["old", "new"]
    today = timezone.now().astimezone(UTC).date()
    assert f'activity-payments-2026-11-02-to-{today:%Y-%m-%d}.jsonl"' in response["Content-Disposition"]


def test_only_this_groups_rows_never_another_groups_or_group_less_ones(cast):
    event(cast.group, "2026-11-02 09:00:00", "ours")
    event(make_group("Logistics"), "2026-11-02 09:00:00", "theirs")
    event(None, "2026-11-02 09:00:00", "olivia", Action.SIGNED_IN, actor_name="olivia")

    _, body = download(cast.owner, since="2026-11-01", until="2026-11-29", format="jsonl")

    assert targets_of_jsonl(body) == ["ours"]


def test_cells_that_a_spreadsheet_would_evaluate_are_escaped(cast):
    for n, text in enumerate(['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "a=b"]):
        event(cast.group, f"2026-11-02 09:00:0{n}", text, actor_name="@mallory")

    _, body = download(cast.owner, since="2026-11-02", until="2026-11-02", format="csv")
    rows = list(csv.DictReader(io.StringIO(body, newline="")))

    assert [row["target"] for row in rows] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tcmd",
        "'\rcmd",
        "a=b",
    ]
    assert {row["actor"] for row in rows} == {"'@mallory"}


def test_jsonl_keeps_the_values_as_they_are(cast):
    event(cast.group, "2026-11-02 09:00:00", "=1+1", actor_name="@mallory")

    _, body = download(cast.owner, since="2026-11-02", until="2026-11-02", format="jsonl")

    assert json.loads(body)["target"] == "=1+1"
    assert json.loads(body)["actor"] == "@mallory"


def test_a_long_period_is_streamed_in_chunks_of_whole_lines(cast):
    start = at("2026-11-02 00:00:00")
    Activity.objects.bulk_create(
        Activity(
            group=cast.group,
            group_slug="payments",
            action=Action.MEMBER_ADDED,
            target=f"event-{n}",
            created_at=start + timedelta(seconds=n),
        )
        for n in range(2 * CHUNK_ROWS + 1)
    )

    response = client_for(cast.viewer).get(EXPORT, {"since": "2026-11-02", "format": "csv"})
    chunks = [chunk.decode() for chunk in response.streaming_content]

    assert [chunk.count("\r\n") for chunk in chunks] == [CHUNK_ROWS, CHUNK_ROWS, 2]
    assert all(chunk.endswith("\r\n") for chunk in chunks)
    assert chunks[-1].endswith(f"event-{2 * CHUNK_ROWS},1,,\r\n")


def test_viewer_may_export(cast):
    event(cast.group, "2026-11-02 09:00:00", "ours")

    response, body = download(cast.viewer, since="2026-11-01", until="2026-11-29", format="csv")

    assert response.status_code == 200
    assert "ours" in body


def test_outsider_gets_404(cast):
    event(cast.group, "2026-11-02 09:00:00", "ours")

    response = client_for(cast.outsider).get(EXPORT, {"since": "2026-11-01", "format": "csv"})

    assert response.status_code == 404
    assert not response.streaming
    assert b"ours" not in response.content


def test_anonymous_is_sent_to_sign_in(db):
    response = Client().get(EXPORT, {"since": "2026-11-01", "format": "csv"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_post_is_not_allowed(cast):
    assert client_for(cast.owner).post(EXPORT, {"since": "2026-11-01", "format": "csv"}).status_code == 405


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-11-01", "format": "xml"}, "Choose a format: csv or jsonl."),
        ({"since": "2026-11-01"}, "This field is required."),
        ({"format": "csv"}, "This field is required."),
        ({"since": "yesterday", "format": "csv"}, "Enter a date as YYYY-MM-DD"),
        ({"since": "2026-02-30", "format": "csv"}, "Enter a date as YYYY-MM-DD"),
        ({"since": "2026-11-01", "until": "2026-11-01T25:00", "format": "csv"}, "Enter a date as YYYY-MM-DD"),
        ({"since": "0001-01-01T00:00+01:00", "format": "csv"}, "Enter a date as YYYY-MM-DD"),
        ({"since": "2026-11-02", "until": "2026-11-01", "format": "csv"}, "comes before its start"),
    ],
)
def test_a_bad_format_or_date_is_a_400_that_says_why(cast, params, message):
    response = client_for(cast.owner).get(EXPORT, params)

    assert response.status_code == 400
    assertContains(response, message, status_code=400)
    assertContains(response, "<h2>Download</h2>", html=True, status_code=400)


def test_the_activity_tab_offers_the_last_30_days_as_csv(cast):
    today = timezone.now().astimezone(UTC).date()

    response = client_for(cast.viewer).get("/groups/payments/activity/")

    assertContains(response, f'<form method="get" action="{EXPORT}" class="form form-row">')
    assertContains(response, '<label for="id_since">From</label>', html=True)
    assertContains(
        response, '<label for="id_until">To <span class="muted">(optional)</span></label>', html=True
    )
    assertContains(response, '<label for="id_format">Format</label>', html=True)
    since = today - timedelta(days=30)
    assertContains(
        response,
        f'<input type="date" name="since" value="{since:%Y-%m-%d}" required id="id_since">',
        html=True,
    )
    assertContains(
        response, f'<input type="date" name="until" value="{today:%Y-%m-%d}" id="id_until">', html=True
    )
    assertContains(response, '<option value="csv" selected>CSV</option>', html=True)
    assertContains(response, '<option value="jsonl">JSON Lines</option>', html=True)
