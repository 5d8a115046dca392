"""The queue of SQLite writers (credentials.hot_path.WriterQueue): a writer waits for the one
before it, in another process or another thread, and wakes as soon as it is done.

SQLite's own busy handler would poll instead, sleeping up to 100 ms between tries; the queue is
what lets two gunicorn workers issue and rotate tokens without those sleeps (docs/performance.md).
"""

import multiprocessing
import threading
import time

from credentials.hot_path import WriterQueue
from tests.conftest import report

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
