"""The queue of SQLite writers (credentials.hot_path.WriterQueue): a writer waits for the one
before it, in another process or another thread, and wakes as soon as it is done.

SQLite's own busy handler would poll instead, sleeping up to 100 ms between tries; the queue is
what lets two gunicorn workers issue and rotate tokens without those sleeps (docs/performance.md).
"""

import multiprocessing
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext

from credentials import hot_path
from credentials.hot_path import WriterQueue
from credentials.models import AccessToken
from tests.conftest import make_oauth_client, report

HOLD_SECONDS = 0.4


def hold(path, ready, released_at):
    with WriterQueue(path):
        ready.set()
        time.sleep(HOLD_SECONDS)
        released_at.value = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process


def test_a_writer_in_another_process_waits_and_wakes_when_the_first_is_done(tmp_path):
    path = str(tmp_path / "db.sqlite3-writers")
    processes = multiprocessing.get_context("fork")
    ready, released_at = processes.Event(), processes.Value("d", 0.0)
    holder = processes.Process(target=hold, args=(path, ready, released_at))
    holder.start()
    try:
        assert ready.wait(10)
        asked = time.monotonic()
        with WriterQueue(path):
            entered = time.monotonic()
    finally:
        holder.join(10)

    assert holder.exitcode == 0
    woke_after = entered - released_at.value
    report(
        "writer queue",
        f"waited {1000 * (entered - asked):.0f} ms for the other process, "
        f"woke {1000 * woke_after:.1f} ms after it was done",
    )
    assert 0 <= woke_after < 0.2


def test_threads_of_one_process_queue_too(tmp_path):
    queue = WriterQueue(str(tmp_path / "db.sqlite3-writers"))
    inside, order = threading.Event(), []

    def first():
        with queue:
            inside.set()
            time.sleep(HOLD_SECONDS / 4)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)
    with queue:
        order.append("second in")
    thread.join(10)

    assert order == ["first out", "second in"]


def test_without_a_lock_file_writers_do_not_queue(tmp_path):
    queue = WriterQueue(str(tmp_path / "missing-directory" / "db.sqlite3-writers"))

    with queue:
        pass
    with queue:
        pass

    assert not (tmp_path / "missing-directory").exists()


def checkpoints(queries):
    return [query["sql"] for query in queries if "wal_checkpoint" in query["sql"]]


@pytest.mark.django_db(transaction=True)
def test_token_writes_checkpoint_now_and_then_outside_their_transaction(monkeypatch, group, tmp_path):
    monkeypatch.setattr(hot_path, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(hot_path, "_writes", 0)
    client, _ = make_oauth_client(group)
    queued_write = hot_path._QueuedWrite(WriterQueue(str(tmp_path / "db.sqlite3-writers")))

    with CaptureQueriesContext(connection) as queries:
        for _ in range(2):
            client.issue_access_token()
        with queued_write, transaction.atomic():  # as issue_token_pair and rotate write
            client.issue_access_token()
        after_queued_write = len(queries)
        with transaction.atomic():  # inside a caller's transaction: never
            for _ in range(3):
                client.issue_access_token()
        for _ in range(3):
            client.issue_access_token()

    # Every third write outside a transaction: the queued one, then the last access token.
    expected = ["PRAGMA wal_checkpoint(PASSIVE)"] * 2 if connection.vendor == "sqlite" else []
    assert checkpoints(queries) == expected
    if expected:  # each after its write's COMMIT, not inside it
        assert queries[after_queued_write - 1]["sql"] == expected[0]
        assert queries[-1]["sql"] == expected[1]


@pytest.mark.django_db(transaction=True)
def test_a_failed_checkpoint_does_not_fail_the_committed_write(monkeypatch, group, caplog):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only: other databases checkpoint on their own")
    monkeypatch.setattr(hot_path, "CHECKPOINT_EVERY", 1)
    client, _ = make_oauth_client(group)

    def fail_checkpoints(execute, sql, params, many, context):
        if "wal_checkpoint" in sql:
            raise OperationalError("disk I/O error")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_checkpoints):
        token, raw = client.issue_access_token()

    assert AccessToken.objects.verify(raw) == token
    assert "SQLite checkpoint failed" in caplog.text
