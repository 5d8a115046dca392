"""Stopping and restarting app servers under load (audit finding 9, "Restarts lose nothing").

A server told to stop (SIGTERM to gunicorn's master, as systemd sends it) may refuse new
connections, but must answer every connection the kernel had already accepted for it; then the
two servers of each pool behind the shipped nginx, restarted in turn under load, fail no request.
"""

import datetime
import re
import time

import pytest

from tests.system.conftest import nginx_path, seed
from tests.system.load import Client, Load
from tests.system.support import Nginx, free_port, self_signed_certificate, shipped_front, wait_for

LABEL = "restarts"
pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
MIXED = ["verify_key", "issue_v2", "page"]
# nginx's access log (portal.conf's `portal` format): when the line was written, the method, the
# status, the request's duration, and $upstream_addr, which names every server tried
# ("127.0.0.1:8001, 127.0.0.1:8002" for a request retried).
ACCESS_LINE = re.compile(
    r'\[(?P<logged>[^\]]+)\] "(?P<method>\S+) \S+ [^"]*" (?P<status>\d{3}) \S+ (?P<seconds>\S+)'
    r" (?P<upstreams>.*) (?P<request_id>[0-9a-f]{32})$"
)
# What nginx's error log says when a server drops a request it had accepted, or when none is left.
DROPPED = ("reset by peer", "prematurely closed", "no live upstreams")


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


@pytest.fixture
def front(start_portal):
    """Two servers of each pool as in production (HTTPS behind nginx, which they trust), and nginx
    running the shipped portal.conf in front of them: the API pool's servers, then the portal's."""
    production = {"HTTPS": "true", "TRUSTED_PROXIES": "127.0.0.1"}
    api = [start_portal(name, POOL="api", **production) for name in ("api-1", "api-2")]
    pages = [start_portal(name, POOL="portal", **production) for name in ("portal-1", "portal-2")]
    nginx, port = Nginx(nginx_path()), free_port()
    tls = self_signed_certificate(nginx.dir)
    shipped_front(nginx.dir, pages, port, api=api)
    try:
        nginx.start("portal.conf", port)
        yield api + pages, nginx, port, tls
    finally:
        leaks = nginx.stop()
        assert not leaks, f"secret-shaped values in nginx's logs: {leaks}"


def access_lines(nginx, start=0):
    """nginx's access log from byte `start` on, parsed."""
    with (nginx.dir / "portal.access.log").open("rb") as log:
        log.seek(start)
        lines = log.read().decode().splitlines()
    return [match.groupdict() for match in map(ACCESS_LINE.search, lines) if match]


def sent_at(line):
    """When the request of an access log line came in, at the earliest (the log has whole seconds)."""
    return datetime.datetime.fromisoformat(line["logged"]).timestamp() - float(line["seconds"])


def wait_until_in_rotation(nginx, server):
    """Wait until nginx has sent a request that came in since this call to `server` first (not as a
    retry). One that came in earlier may have been sent to the restarted server just before nginx
    took it out of the rotation, and be answered only now."""
    start, address = (nginx.dir / "portal.access.log").stat().st_size, f"127.0.0.1:{server.port}"
    since = time.time()

    def in_rotation():
        lines = access_lines(nginx, start)
        return any(line["upstreams"] == address and sent_at(line) >= since for line in lines)

    wait_for(in_rotation, 20, f"nginx sending requests to {server.name}")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


@pytest.mark.system("nginx")
def test_rolling_restart_behind_nginx_loses_nothing(front, traffic):
    servers, nginx, port, tls = front
    data = seed()
    client = [data.keys["primary"], data.client.client_id, data.secret]
    # Token requests at 10/s, under portal.conf's limit of 20/s per address; the rest flat out.
    pages = Load(port, [Client(*client) for _ in range(3)], ["verify_key", "page"], tls=tls).start()
    tokens = Load(port, [Client(*client)], ["issue_v2"], pause=0.1, tls=tls).start()

    time.sleep(1.0)
    back_in = []
    for server in servers:
        # The operator's steps (docs/deploy.md, "Rolling restarts"): stop, start, and before the
        # next server, wait until nginx sends requests to this one again.
        restarted = time.monotonic()
        server.terminate()
        server.start()
        wait_until_in_rotation(nginx, server)
        back_in.append(time.monotonic() - restarted)
    time.sleep(1.0)
    pages.stop()
    tokens.stop()

    outcomes = pages.outcomes + tokens.outcomes
    failures = [o for o in outcomes if not o.ok]
    seconds = [o.seconds for o in outcomes]
    lines = access_lines(nginx)
    retried = [line for line in lines if "," in line["upstreams"]]
    errors = (nginx.dir / "error.log").read_text(errors="replace").splitlines()
    dropped = [line[-300:] for line in errors if any(phrase in line for phrase in DROPPED)]
    traffic.sent += len(outcomes)
    traffic.failures += len(failures)
    traffic.figures.append(
        f"rolling restart behind nginx (portal.conf, two servers per pool): {len(outcomes)} requests"
        f" ({len(tokens.outcomes)} POST /v2/tokens), {len(failures)} failures, {len(servers)} restarts"
        f" (each back in nginx's rotation {', '.join(f'{s:.1f}' for s in back_in)} s after its SIGTERM);"
        f" p50 {percentile(seconds, 0.5) * 1000:.0f} ms, p99 {percentile(seconds, 0.99) * 1000:.0f} ms,"
        f" max {max(seconds):.2f} s, {sum(s > 1 for s in seconds)} over 1 s; nginx retried"
        f" {len(retried)} on the other server ({sum(line['method'] == 'POST' for line in retried)} POST),"
        f" {len(dropped)} requests dropped by a server"
    )

    assert not failures, f"failed: {sorted({f'{o.operation}: {o.status or o.failure}' for o in failures})}"
    assert not dropped, f"nginx saw a server drop a request: {dropped[:3]}"
    assert all(line["status"].startswith("2") for line in lines), "nginx answered other than 2xx"
