"""Django's PostgreSQL backend, with a health check that needs no round trip while the connection
is quiet (ENGINE "portal.postgresql", set by portal/settings.py).

With CONN_HEALTH_CHECKS, Django checks a persistent connection at each request's first query by
sending it SELECT 1: a round trip to the server before every request's real work, 0.2-0.4 ms of
the two processes' time here (docs/performance.md). A connection between two requests has nothing
to read, unless the server has ended it: a restart, a crash, an idle timeout or
pg_terminate_backend send an error message and close the socket (or the kernel closes it), and
either makes the socket readable. So the check polls the socket without waiting, and sends SELECT 1
only when there is something to read: then it closes the connection unless the server answers, as
Django does. A connection lost without a word (a cable cut) fails both checks alike, at its query.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        if self.connection is None or self.connection.closed:
            return False
        if not _has_input(self.connection.fileno()):
            return True
        return super().is_usable()


def _has_input(fd):
    poll = select.poll()
    poll.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poll.poll(0))
