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


class DatabaseWrapper(base.DatabaseWrapper):
    queue = None  # the file whose lock is the queue, opened by this connection in this process

    def _start_transaction_under_autocommit(self):
        if (self.queue is None or self.queue_pid != os.getpid()) and not self.is_in_memory_db():
            # Its own open file, so that the lock keeps threads apart too; again after a fork.
            self.queue, self.queue_pid = open(f"{self.settings_dict['NAME']}-writers", "ab"), os.getpid()  # noqa: SIM115
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
