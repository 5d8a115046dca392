"""Django's SQLite backend, with write transactions queued in the kernel (ENGINE "portal.sqlite",
set by portal/settings.py for the embedded default).

SQLite lets one writer in at a time (transactions here are IMMEDIATE) and makes the others poll:
its busy handler sleeps 1, 2, 5, 10... ms between tries, so with several gunicorn workers a
waiting writer sleeps on after the database is free. Here each transaction first takes an
exclusive flock() on a file beside the database, so the next writer wakes as soon as the previous
one is done (docs/performance.md). It is only a queue: SQLite's own lock still keeps writers
apart. An in-memory database (the tests' default) has no file beside it and does not queue.
"""

import fcntl
import os

from django.db.backends.sqlite3 import base


def _owner_only(path, flags):
    """Files beside the database are created 0600 whatever the umask: it holds sessions and key
    digests (SQLite gives its -wal and -shm files the database's mode), and another local user able
    to open the queue's file could lock it and stall every writer."""
    return os.open(path, flags, 0o600)


class DatabaseWrapper(base.DatabaseWrapper):
    queue = None  # the file whose lock is the queue, opened by this connection in this process

    def get_new_connection(self, conn_params):
        if not self.is_in_memory_db():
            os.close(_owner_only(self.settings_dict["NAME"], os.O_RDONLY | os.O_CREAT))
        return super().get_new_connection(conn_params)

    def _start_transaction_under_autocommit(self):
        if (self.queue is None or self.queue_pid != os.getpid()) and not self.is_in_memory_db():
            # Its own open file, so that the lock keeps threads apart too; again after a fork.
            queue = open(f"{self.settings_dict['NAME']}-writers", "ab", opener=_owner_only)  # noqa: SIM115
            self.queue, self.queue_pid = queue, os.getpid()
        if self.queue is not None:
            fcntl.flock(self.queue, fcntl.LOCK_EX)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._leave_queue()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._leave_queue()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._leave_queue()

    def _close(self):
        try:
            return super()._close()
        finally:
            if self.queue is not None:
                self.queue.close()  # which also releases the lock
                self.queue = None

    def _leave_queue(self):
        if self.queue is not None:
            fcntl.flock(self.queue, fcntl.LOCK_UN)
