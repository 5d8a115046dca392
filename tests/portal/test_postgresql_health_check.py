"""portal.postgresql: a persistent connection is asked SELECT 1 only when its socket has something
to read, and one the server has ended is replaced before a request uses it."""

import select
import time

import pytest
from django.db import connection


@pytest.fixture
def other(transactional_db):
    """A second connection to the test database, as a worker holds one between requests."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's backend only: run with DATABASE_URL=postgres://...")
    wrapper = connection.copy()
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def pid_of(wrapper):
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def last_query_of(pid):
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return None if row is None else row[0]


def wait_until_readable(wrapper):
    poll = select.poll()
    poll.register(wrapper.connection.fileno(), select.POLLIN)
    assert poll.poll(5000), "the server sent nothing within 5 s"


def test_a_quiet_connection_passes_without_a_query(other):
    pid = pid_of(other)
    with other.cursor() as cursor:
        cursor.execute("SELECT 'the last request'")

    other.health_check_done = False  # as at the start of every request
    other.close_if_health_check_failed()

    assert other.connection is not None and pid_of(other) == pid
    assert last_query_of(pid) == "SELECT pg_backend_pid()"  # not SELECT 1


def test_a_connection_the_server_ended_is_replaced_before_use(other):
    pid = pid_of(other)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_until_readable(other)

    other.health_check_done = False
    other.close_if_health_check_failed()

    assert other.connection is None
    assert pid_of(other) != pid  # reconnected at its next query, which succeeds


def test_a_notification_is_checked_with_a_query_not_taken_for_an_end(other):
    pid = pid_of(other)
    with other.cursor() as cursor:
        cursor.execute("LISTEN portal_health_check")
    with connection.cursor() as cursor:
        cursor.execute("NOTIFY portal_health_check")
    wait_until_readable(other)

    other.health_check_done = False
    other.close_if_health_check_failed()

    assert other.connection is not None
    deadline = time.monotonic() + 5  # the statistics view is updated as the backend goes idle
    while last_query_of(pid) != "SELECT 1" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert last_query_of(pid) == "SELECT 1"
    assert pid_of(other) == pid
