"""Faults under load: gunicorn workers killed with SIGKILL, PostgreSQL stopped and started again.

The PostgreSQL test runs a private cluster of its own (initdb + pg_ctl in a temporary directory,
as the postgres user) so that stopping it disturbs no other test on the shared cluster.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db.models import Count, Q

from credentials.models import AccessToken, Lockout, RefreshToken, TokenFamily
from tests.system.conftest import MEMORY_SECONDS, initdb_path, seed, seed_database
from tests.system.load import JSON, Client, Load
from tests.system.support import basic_auth, call, free_port, wait_for

LABEL = "faults"
pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
THREADS = 4
KILLS = 6


def serving_workers(portal, booted_for=1.5):
    """Workers old enough to have loaded the app (gunicorn loads it after the fork): killing one
    is likely to cut a request short, not only a boot."""
    ticks, uptime = os.sysconf("SC_CLK_TCK"), float(Path("/proc/uptime").read_text().split()[0])
    serving = []
    for pid in portal.worker_pids():
        try:
            started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        except (FileNotFoundError, ProcessLookupError):
            continue
        if uptime - started >= booted_for:
            serving.append(pid)
    return serving


def inconsistent_rows():
    """Rows no committed transaction of the portal leaves behind, by kind: each would mean a
    request's writes were cut in half."""
    pair_tokens = AccessToken.objects.filter(family__isnull=False)
    return {
        "families without a refresh token": TokenFamily.objects.filter(refresh_tokens__isnull=True).count(),
        "access tokens of a pair without their refresh token": pair_tokens.exclude(
            pk__in=RefreshToken.objects.filter(access_token__isnull=False).values("access_token")
        ).count(),
        "refresh tokens without their access token": RefreshToken.objects.filter(
            access_token__isnull=True
        ).count(),
        "rotated-to refresh tokens whose parent is unused": RefreshToken.objects.filter(
            parent__isnull=False, parent__used_at__isnull=True
        ).count(),
        "live families without exactly one current refresh token": TokenFamily.objects.filter(
            revoked_at__isnull=True
        )
        .annotate(current=Count("refresh_tokens", filter=Q(refresh_tokens__used_at__isnull=True)))
        .exclude(current=1)
        .count(),
        "revoked families (reuse detected)": TokenFamily.objects.filter(revoked_at__isnull=False).count(),
        "lockout rows": Lockout.objects.count(),
    }


def still_working(port, clients):
    """The issued values that no longer work: every access token and every chain's refresh token
    a client was given, then each client's API key and secret."""

    def lost(check):
        kind, value, client = check
        if kind == "access token":
            return call(port, "GET", "/v1/verify", {"X-Access-Token": value}).status != 204
        if kind == "refresh token":
            body = json.dumps({"refreshToken": value})
            return call(port, "PATCH", "/v1/tokens", JSON, body).status != 200
        if kind == "API key":
            return call(port, "GET", "/v1/verify", {"X-Api-Key": value}).status != 204
        headers = basic_auth(client.client_id, value)
        return call(port, "POST", "/v2/tokens", headers, "grant_type=client_credentials").status != 200

    checks = [("access token", token, c) for c in clients for token in c.access_tokens]
    checks += [("refresh token", token, c) for c in clients for token in c.chains]
    checks += [("API key", c.api_key, c) for c in clients] + [("secret", c.client_secret, c) for c in clients]
    with ThreadPoolExecutor(THREADS) as pool:
        failed = [check[0] for check, gone in zip(checks, pool.map(lost, checks), strict=True) if gone]
    return checks, failed


def test_workers_killed_during_load_lose_nothing(start_portal, traffic):
    portal = start_portal("sigkill", workers=3)
    data = seed()
    clients = [Client(data.keys["primary"], data.client.client_id, data.secret) for _ in range(THREADS)]
    operations = ["issue_v2", "verify_key", "issue_v1", "verify_token", "refresh"]
    load = Load(portal.port, clients, operations).start()

    killed = []
    for _ in range(KILLS):
        time.sleep(0.3)
        # One worker down at a time, so the load goes on while its replacement boots.
        wait_for(lambda: len(serving_workers(portal)) >= 2, 20, "two workers that have booted")
        victim = random.choice(serving_workers(portal))  # a child of the master this test started
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
    time.sleep(0.4)
    load.stop()
    wait_for(lambda: len(portal.worker_pids()) == 3, 30, "gunicorn replacing the killed workers")

    outcomes = load.outcomes
    unanswered = [o for o in outcomes if o.status is None]
    wrong = [f"{o.operation}: {o.status}" for o in outcomes if o.status is not None and not o.ok]
    checks, lost = still_working(portal.port, clients)
    rows = inconsistent_rows()
    traffic.sent += len(outcomes) + len(checks)
    traffic.failures += len(unanswered) + len(wrong) + len(lost)
    traffic.figures.append(
        f"SIGKILL: {len(outcomes)} requests, {len(killed)} workers killed, {len(unanswered)} left"
        f" without an answer, {len(wrong)} wrong answers; {len(checks)} issued values re-checked,"
        f" {len(lost)} lost; {sum(rows.values())} inconsistent rows"
    )

    assert not wrong, f"answers other than success under SIGKILL: {wrong[:10]}"
    # A sync worker serves one request at a time: each kill can cost at most the one in flight.
    assert len(unanswered) <= len(killed)
    assert not lost, f"issued values that no longer work: {lost[:10]}"
    assert not any(rows.values()), rows
    assert portal.process.poll() is None and portal.healthy()
    assert not set(killed) & set(portal.worker_pids())


def readiness(port, status, within):
    """/readyz polled every 50 ms until it answers `status` or `within` seconds have passed: its
    last answer (status, body) and the seconds from the first call to it."""
    started = time.monotonic()
    while True:
        answer = call(port, "GET", "/readyz", timeout=within)
        elapsed = time.monotonic() - started
        if answer.status == status or elapsed > within:
            return SimpleNamespace(status=answer.status, body=answer.body, seconds=elapsed)
        time.sleep(0.05)


@pytest.fixture
def private_postgres():
    """A PostgreSQL cluster of this test's own on a free port, run as the postgres user; it is
    stopped and its directory removed afterwards."""
    bindir = Path(initdb_path()).parent
    workdir = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(workdir, user="postgres")
    data, port = workdir / "data", free_port()
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off"

    def run(program, *args):
        command = [*as_postgres, str(bindir / program), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    def pg_ctl(*args):
        result = run("pg_ctl", "-D", str(data), *args)
        assert result.returncode == 0, f"pg_ctl {args[0]}: {result.stderr[-500:]}"

    cluster = SimpleNamespace(
        url=f"postgres://postgres@127.0.0.1:{port}/postgres",
        start=lambda: pg_ctl("start", "-w", "-l", str(workdir / "server.log"), "-o", options),
        stop=lambda: pg_ctl("stop", "-w", "-m", "fast"),
    )
    try:
        init = run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        assert init.returncode == 0, f"initdb: {init.stderr[-500:]}"
        cluster.start()
        yield cluster
    finally:
        if (data / "postmaster.pid").exists():
            run("pg_ctl", "-D", str(data), "stop", "-w", "-m", "immediate")
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.system("initdb")
def test_postgresql_restart_fails_fast_with_503_and_recovers(private_postgres, start_portal, traffic):
    seeded = seed_database(private_postgres.url)
    portal = start_portal("pg-restart", DATABASE_URL=private_postgres.url)
    workers = sorted(portal.worker_pids())
    credentials = [seeded["api_key"], seeded["client_id"], seeded["client_secret"]]
    clients = [Client(*credentials, access_tokens=[seeded["access_token"]]) for _ in range(3)]
    load = Load(portal.port, clients, ["verify_key", "verify_token", "issue_v2"]).start()

    time.sleep(1.5)
    assert call(portal.port, "GET", "/readyz").status == 200
    private_postgres.stop()
    stopped = time.monotonic()
    not_ready = readiness(portal.port, 503, within=2.0)
    time.sleep(max(0.0, stopped + 2.5 - time.monotonic()))
    restarting = time.monotonic()
    private_postgres.start()
    accepting = time.monotonic()
    ready_again = readiness(portal.port, 200, within=5.0)
    # Load on until 1.5 s have gone without an error, or 5.5 s after PostgreSQL came back.
    while time.monotonic() - accepting < 5.5:
        recent = [o for o in load.outcomes if o.sent > max(accepting, time.monotonic() - 1.5)]
        if time.monotonic() - accepting > 1.5 and recent and all(o.ok for o in recent):
            break
        time.sleep(0.1)
    load.stop()

    outcomes = load.outcomes
    # VERIFY_CACHE_SECONDS (MEMORY_SECONDS): a credential verified just before the stop may be
    # answered from a worker's memory that long, so "down" starts that long after the stop.
    down = [o for o in outcomes if stopped + MEMORY_SECONDS <= o.sent < restarting]
    verifier_2xx = [o for o in down if o.operation == "verify" and o.ok]
    not_503 = sorted({str(o.status) for o in down if o.status != 503})
    unavailable = [o for o in down if o.status == 503]
    slowest = max(o.seconds for o in down)
    failed_after = [o.sent - accepting for o in outcomes if o.sent >= accepting and not o.ok]
    recovered = max(failed_after, default=0.0)
    other_failures = sorted({str(o.status) for o in outcomes if not o.ok and o.status != 503})
    traffic.sent += len(outcomes)
    traffic.failures += len(verifier_2xx) + len([o for o in down if o.status != 503])
    traffic.figures.append(
        f"PostgreSQL restart (VERIFY_CACHE_SECONDS={MEMORY_SECONDS}, down counted from then on):"
        f" {len(outcomes)} requests, {len(down)} while down: {len(verifier_2xx)} verifier 2xx,"
        f" {len(unavailable)} 503, others {not_503 or 'none'}, slowest {slowest:.2f} s;"
        f" recovered (0 errors) {recovered:.2f} s after PostgreSQL accepted connections again;"
        f" /readyz 503 after {not_ready.seconds:.2f} s, 200 again after {ready_again.seconds:.2f} s"
    )

    assert not_ready.status == 503 and not_ready.seconds <= 1.0, f"/readyz: {not_ready.seconds:.2f} s to 503"
    assert json.loads(not_ready.body)["checks"]["database"] == "unreachable"
    assert ready_again.status == 200, "/readyz did not say 200 again within 5 s of PostgreSQL's restart"
    assert down, "no request was sent while PostgreSQL was down"
    assert not verifier_2xx, "the verifier let requests through while the database was down"
    assert slowest < 3.0, "requests hung while the database was down"
    assert not not_503, f"while the database was down, answers other than 503: {not_503}"
    assert all(o.retry_after for o in unavailable), "a 503 without Retry-After"
    assert {o.error_code for o in unavailable} == {"temporarily_unavailable"}
    assert not other_failures, f"failures other than 503 during the run: {other_failures}"
    assert recovered <= 5.0, f"errors went on {recovered:.2f} s after PostgreSQL came back"
    assert any(o.ok for o in outcomes if o.sent > accepting + recovered), "no success after restart"
    # The same processes served before, during and after: the app was not restarted.
    assert portal.process.poll() is None and sorted(portal.worker_pids()) == workers
