"""Exporting Activity: the Activity tab's download (CSV or JSON Lines for a period) and
`manage.py export_activity`, which share groups/export.py."""

import base64
import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from pytest_django.asserts import assertContains

from credentials import secrets
from credentials.models import ApiKeyCredential
from credentials.secrets import Kind
from groups.export import CHUNK_ROWS
from groups.models import Action, Activity, Invitation, Membership
from tests.conftest import (
    PASSWORD,
    client_for,
    issue_access_token,
    make_group,
    make_oauth_client,
    make_user,
    versioned,
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


def export_command(**options):
    out = io.StringIO()
    call_command("export_activity", stdout=out, **options)
    return out.getvalue()


def test_the_command_exports_the_whole_trail_by_default(cast):
    event(cast.group, "2026-11-02 09:00:00", "ours")
    event(make_group("Logistics"), "2026-11-02 10:00:00", "theirs")
    event(None, "2026-11-02 11:00:00", "olivia", Action.SIGNED_IN)
    event(None, "2026-10-31 11:00:00", "too early", Action.SIGNED_IN)

    output = export_command(since="2026-11-01")

    assert targets_of_jsonl(output) == ["ours", "theirs", "olivia"]
    assert [json.loads(line)["group"] for line in output.splitlines()] == ["payments", "logistics", ""]


def test_the_command_exports_one_group_even_after_it_was_renamed_or_deleted(cast):
    event(cast.group, "2026-11-02 09:00:00", "ours")
    event(cast.group, "2026-11-02 09:30:00", "ours, before a new slug", group_slug="old-payments")
    event(make_group("Logistics"), "2026-11-02 10:00:00", "theirs")
    event(None, "2026-11-02 11:00:00", "olivia", Action.SIGNED_IN)
    event(None, "2026-11-02 12:00:00", "deleted group's", group_slug="archive")

    assert targets_of_jsonl(export_command(since="2026-11-01", group="payments")) == [
        "ours",
        "ours, before a new slug",
    ]
    assert targets_of_jsonl(export_command(since="2026-11-01", group="archive")) == ["deleted group's"]


def test_the_command_writes_csv_to_a_file_only_its_owner_reads(cast, tmp_path):
    event(cast.group, "2026-11-02 09:00:00", "=ours", actor_name="olivia")
    path = tmp_path / "trail.csv"

    printed = export_command(since="2026-11-01", until="2026-11-02", format="csv", output=str(path))

    assert printed == ""
    assert path.read_bytes().decode() == (
        HEADER + "2026-11-02T09:00:00Z,payments,olivia,api_key.created,created API key,'=ours,1,,\r\n"
    )
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"since": "last week"}, "--since: Enter a date as YYYY-MM-DD"),
        (
            {"since": "2026-11-02", "until": "2026-11-01"},
            "--until: The end of the period comes before its start.",
        ),
        ({"since": "2026-11-01", "format": "xml"}, "--format: Choose a format: csv or jsonl."),
        ({"since": "2026-11-01", "group": "no-such-group"}, "No group has the slug 'no-such-group'"),
        (
            {"since": "2026-11-01", "output": "/no/such/directory/trail.csv"},
            "Cannot write /no/such/directory",
        ),
    ],
)
def test_the_command_refuses_bad_input_with_a_clear_error(cast, options, message):
    with pytest.raises(CommandError, match=message):
        export_command(**options)


def test_the_command_needs_since(db):
    with pytest.raises(CommandError, match="--since"):
        export_command()


# Every kind of event the audit trail records (issue 13), each produced below by a real request.
EVERY_KIND = {
    Action.SIGNED_IN,
    Action.SIGN_IN_FAILED,
    Action.SIGN_IN_LOCKED,
    Action.CLIENT_AUTH_FAILED,
    Action.TOKEN_REVOKED,
    Action.ACCESS_REFUSED,
    Action.ADMIN_CHANGED,
    Action.GROUP_CREATED,
    Action.MEMBER_ADDED,
    Action.MEMBER_ROLE_CHANGED,
    Action.MEMBER_REMOVED,
    Action.API_KEY_CREATED,
}


def basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def here(user=None):
    """A client at HERE, signed in as `user` through the sign-in page if one is given."""
    client = Client(REMOTE_ADDR=HERE)
    if user is not None:
        expect(302, client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}))
    return client


def expect(status, response):
    assert response.status_code == status, response.content[:300]


def make_every_kind(cast, settings):
    """Each kind of EVERY_KIND, through the requests a person, a program or an intruder makes."""
    root = make_user("root", is_staff=True, is_superuser=True)
    oauth_client, secret = make_oauth_client(cast.group)
    _, token = issue_access_token(oauth_client)
    owner, members = here(cast.owner), "/groups/payments/members/"
    wrong_secret = basic(oauth_client.client_id, secrets.generate(Kind.CLIENT_SECRET))

    for _ in range(settings.AXES_FAILURE_LIMIT + 1):  # failures, then the lockout
        here().post("/accounts/login/", {"username": "adam", "password": "wrong password"})
    expect(401, here().post("/v2/tokens", "grant_type=client_credentials", FORM, headers=wrong_secret))
    revocation, right_secret = urlencode({"token": token}), basic(oauth_client.client_id, secret)
    expect(200, here().post("/v2/tokens/revoke", revocation, FORM, headers=right_secret))
    expect(403, here(cast.viewer).post("/groups/payments/api-keys/new/", {"name": "Intruder"}))
    expect(404, here(cast.outsider).get("/groups/payments/"))
    expect(302, here(cast.staff).post("/groups/new/", {"name": "Logistics", "owner": "oscar"}))
    expect(302, owner.post(f"{members}add/", {"username": "root", "role": "viewer"}))
    invitation = Invitation.objects.get(username="root")
    expect(302, here(root).post(f"/groups/invitation/{invitation.public_id}/accept/"))
    membership = Membership.objects.get(group=cast.group, user=root)
    expect(302, owner.post(versioned(f"{members}root/role/", membership), {"role": "admin"}))
    expect(302, owner.post(versioned(f"{members}root/remove/", membership)))
    expect(302, owner.post("/groups/payments/api-keys/new/", {"name": "Billing app"}))
    admin_delete = f"/admin/credentials/apikeycredential/{ApiKeyCredential.objects.get().pk}/delete/"
    expect(302, here(root).post(admin_delete, {"post": "yes"}))


def test_an_export_of_a_test_run_holds_every_event_kind(cast, settings):
    since = (timezone.now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    make_every_kind(cast, settings)

    exported = [json.loads(line) for line in export_command(since=since, format="jsonl").splitlines()]

    assert {row["action"] for row in exported} >= EVERY_KIND
    for row in exported:
        if row["action"] in EVERY_KIND:
            assert (bool(row["request_id"]), row["source_address"]) == (True, HERE), row
