"""The SQLite backend's queue of writers (portal/sqlite/base.py): a write transaction waits for
the one before it, in another process or thread, and starts as soon as that one is done, where
SQLite's busy handler would poll, sleeping up to 100 ms between tries."""

import multiprocessing
import threading
import time

import pytest

from portal.sqlite.base import DatabaseWrapper
from tests.conftest import report

HOLD_SECONDS = 0.3


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    """These tests open their own database files, not the test database."""
    with django_db_blocker.unblock():
        yield


def sqlite(name):
    """A connection of the portal's SQLite backend to the database `name`, as settings.py sets it up."""
    settings = {
        "ENGINE": "portal.sqlite",
        "NAME": str(name),
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20},
        **{key: "" for key in ("USER", "PASSWORD", "HOST", "PORT")},
        "ATOMIC_REQUESTS": False,
        "AUTOCOMMIT": True,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "TIME_ZONE": None,
        "TEST": {},
    }
    return DatabaseWrapper(settings)


def write(name, inside=None, hold=0.0):
    """One write transaction on `name`; `inside` is set once it has begun. Returns when it began
    and when it started to commit (which releases the queue)."""
    db = sqlite(name)
    try:
        db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        began = time.monotonic()
        if inside is not None:
            inside.set()
        with db.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
            cursor.execute("INSERT INTO t VALUES (1)")
        time.sleep(hold)
        committing = time.monotonic()
        db.commit()
        db.set_autocommit(True)
        return began, committing
    finally:
        db.close()


def hold_in_another_process(name, inside, done_at):
    done_at.value = write(name, inside, HOLD_SECONDS)[1]  # CLOCK_MONOTONIC: one clock for every process


def test_a_writer_waits_for_another_process_and_starts_when_it_is_done(tmp_path):
    name = tmp_path / "db.sqlite3"
    processes = multiprocessing.get_context("fork")
    inside, done_at = processes.Event(), processes.Value("d", 0.0)
    holder = processes.Process(target=hold_in_another_process, args=(name, inside, done_at))
    holder.start()
    try:
        assert inside.wait(10)
        began, _ = write(name)
    finally:
        holder.join(10)

    assert holder.exitcode == 0
    report(
        "SQLite writer queue",
        f"began {1000 * (began - done_at.value):.1f} ms after the other process was done",
    )
    assert 0 <= began - done_at.value < 0.05


def test_threads_of_one_process_queue_too(tmp_path):
    name, inside, order = tmp_path / "db.sqlite3", threading.Event(), []
    first = threading.Thread(target=lambda: order.append(("first", write(name, inside, HOLD_SECONDS)[0])))
    first.start()
    assert inside.wait(10)

    order.append(("second", write(name)[0]))
    first.join(10)

    assert [who for who, _ in sorted(order, key=lambda item: item[1])] == ["first", "second"]
    assert order[1][1] - order[0][1] >= HOLD_SECONDS


def test_an_in_memory_database_has_no_queue(tmp_path):
    db = sqlite(":memory:")
    db.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    db.commit()
    db.close()

    assert db.queue is None
