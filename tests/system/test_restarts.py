"""Stopping and restarting app servers under load (audit finding 9, "Restarts lose nothing").

A server told to stop (SIGTERM to gunicorn's master, as systemd sends it) may refuse new
connections, but must answer every connection the kernel had already accepted for it.
"""

import time

import pytest

from tests.system.conftest import seed
from tests.system.load import Client, Load

LABEL = "restarts"
pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
MIXED = ["verify_key", "issue_v2", "page"]


def judged(outcomes):
    """Outcomes by what the client saw: an answer, a refused connection (the request never reached
    the server), or a connection accepted and then dropped without an answer."""
    answered = [o for o in outcomes if o.status is not None]
    refused = [o for o in outcomes if o.refused]
    dropped = [o for o in outcomes if o.status is None and not o.refused]
    return answered, refused, dropped


def test_sigterm_under_load_answers_every_connection_already_accepted(start_portal, traffic):
    data = seed()
    portal = start_portal("sigterm", workers=2)
    client = [data.keys["primary"], data.client.client_id, data.secret]
    load = Load(portal.port, [Client(*client) for _ in range(6)], MIXED).start()

    time.sleep(1.5)
    signalled = time.monotonic()
    portal.terminate()
    exited = time.monotonic()
    time.sleep(0.5)
    load.stop()

    answered, refused, dropped = judged(load.outcomes)
    wrong = sorted({f"{o.operation}: {o.status}" for o in answered if not o.ok})
    # Sent before the SIGTERM and not answered by then: being served, or queued.
    waiting = [o for o in load.outcomes if o.sent < signalled < o.sent + o.seconds]
    traffic.sent += len(load.outcomes)
    traffic.failures += len(dropped) + len(wrong)
    traffic.figures.append(
        f"SIGTERM under load (one server, 6 clients): {len(load.outcomes)} requests;"
        f" {len(waiting)} waiting at the SIGTERM, {sum(o.status is not None for o in waiting)} of them"
        f" answered; {len(refused)} refused (never accepted), {len(dropped)} accepted and dropped"
        f" ({', '.join(sorted({o.failure for o in dropped})) or 'none'});"
        f" the master exited {exited - signalled:.2f} s after the SIGTERM"
    )

    assert not dropped, f"{len(dropped)} connections accepted and then dropped without an answer"
    assert not wrong, f"answers other than success: {wrong}"
    assert refused, "no connection was refused: the load stopped before the server did"
