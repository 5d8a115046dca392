"""`make run`'s launcher (portal/pools.py) as an operator runs it: the API pool and the portal pool,
each a gunicorn master with its workers, on two ports of one machine (docs/deploy.md, "Two pools").

Each pool serves what it should, the portal's processes give way to the API's (PORTAL_NICE), and
the launcher never leaves a pool behind: a signal to it stops both, and either pool stopping stops
the other.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from credentials.authentication import INVALID_CREDENTIALS
from credentials.secrets import Kind, generate
from tests.system.conftest import _database_url, seed, server_env
from tests.system.support import ROOT, basic_auth, call, free_port, listening, wait_for

pytestmark = pytest.mark.system
GRANT = "grant_type=client_credentials"
WORKERS = 2  # per pool
# gunicorn's graceful_timeout is 30 s; idle workers stop at once.
STOP_SECONDS = 40


def children(pid):
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def alive(pid):
    """Whether `pid` is still a process (not reaped); a zombie has not finished being stopped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def pool_of(pid):
    """The POOL a process was started with (portal/pools.py gives each master its own)."""
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return next(entry[5:].decode() for entry in environ if entry.startswith(b"POOL="))


class Launcher:
    """`.venv/bin/python portal/pools.py`, as `make run` starts it, in a process group of its own,
    with the environment of a production server (DEBUG off, this run's keys) on two free ports."""

    def __init__(self, tmp_path, api_port=None, wait=True):
        self.port, self.api_port = free_port(), api_port or free_port()
        self.log_path = tmp_path / "pools.log"
        env = server_env(
            DATABASE_URL=_database_url(),
            HOST="127.0.0.1",
            PORT=str(self.port),
            API_PORT=str(self.api_port),
            WEB_CONCURRENCY=str(WORKERS),
            HOME=str(tmp_path),  # nothing of the test's in the user's home
        )
        env.pop("XDG_RUNTIME_DIR", None)
        env.pop("POOL", None)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "portal/pools.py"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen = set()  # every process of the launcher's seen, for the clean-up
        if not wait:
            return
        try:
            wait_for(self.ready, 40, "both pools")
        except AssertionError:
            self.stop()
            raise AssertionError(f"the pools did not start: {self.log_tail()}") from None

    def ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"the launcher exited with {self.process.returncode}: {self.log_tail()}")
        masters = self.masters()
        if set(masters) != {"api", "portal"} or not all(map(healthy, (self.port, self.api_port))):
            return False
        return all(len(children(pid)) == WORKERS for pid in masters.values())

    def masters(self):
        """{pool: its gunicorn master's pid}: the launcher's children."""
        found = {}
        for pid in children(self.process.pid):
            try:
                found[pool_of(pid)] = pid
            except (FileNotFoundError, StopIteration):
                continue
        self.seen.update(found.values())
        return found

    def processes(self):
        """{pool: [master, *workers]}."""
        found = {pool: [pid, *children(pid)] for pool, pid in self.masters().items()}
        self.seen.update(pid for pids in found.values() for pid in pids)
        return found

    def wait(self, seconds=STOP_SECONDS):
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the launcher still runs {seconds} s later: {self.log_tail()}") from None

    def log_tail(self):
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self):
        """Whatever is left of what this test started: SIGTERM, then SIGKILL, to the launcher and to
        each process of the pools this test saw (each pool leads a session of its own)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = [pid for pid in self.seen if alive(pid)]
            if self.process.poll() is None:
                left.append(self.process.pid)
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            try:
                self.process.wait(timeout=STOP_SECONDS)
                wait_for(lambda: not any(map(alive, self.seen)), STOP_SECONDS, "the pools' processes")
                break
            except (subprocess.TimeoutExpired, AssertionError):
                continue


def healthy(port):
    try:
        return call(port, "GET", "/healthz", timeout=2).status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def pools(django_db_setup, static_files, tmp_path_factory):
    """Both pools, started once for the tests that only look."""
    launcher = Launcher(tmp_path_factory.mktemp("pools"))
    yield launcher
    launcher.stop()


@pytest.fixture
def fresh_pools(django_db_setup, static_files, tmp_path):
    """Both pools, for a test that stops them."""
    launcher = Launcher(tmp_path)
    yield launcher
    launcher.stop()


def assert_all_stopped(launcher, processes):
    assert not listening(launcher.port), "the portal's port still accepts connections"
    assert not listening(launcher.api_port), "the API's port still accepts connections"
    left = {pool: [pid for pid in pids if alive(pid)] for pool, pids in processes.items()}
    assert left == {"api": [], "portal": []}, launcher.log_tail()


def test_both_pools_answer_their_health_check(pools):
    for port in (pools.port, pools.api_port):
        response = call(port, "GET", "/healthz")
        assert (response.status, response.body) == (200, b"ok")
        assert response.headers["x-request-id"]


def test_the_api_port_refuses_a_bad_key(pools):
    for key in ("nonsense", generate(Kind.API_KEY)):  # malformed, and well-formed but unknown
        response = call(pools.api_port, "GET", "/v1/verify", {"X-Api-Key": key})

        assert response.status == 401
        assert response.json() == INVALID_CREDENTIALS
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.django_db(transaction=True)
def test_a_token_from_the_api_port_verifies_on_both_ports(pools):
    """Both pools share the database: what one issues, the other accepts."""
    data = seed()
    issued = call(pools.api_port, "POST", "/v2/tokens", basic_auth(data.client.client_id, data.secret), GRANT)
    assert issued.status == 200
    token = {"X-Access-Token": issued.json()["access_token"]}

    for port in (pools.api_port, pools.port):
        verified = call(port, "GET", "/v1/verify", token)
        assert verified.status == 204
        assert verified.headers["x-auth-group"] == data.group.slug
    key = {"X-Api-Key": data.keys["primary"]}
    assert call(pools.api_port, "GET", "/v1/whoami", key).json()["auth"]["credential"] == "Billing service"


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/docs/", "/static/portal/portal.css"])
def test_the_portal_serves_its_pages_and_the_api_port_does_not(pools, path):
    page = call(pools.port, "GET", path)
    missing = call(pools.api_port, "GET", path)

    assert page.status == 200
    assert missing.status == 404
    assert b"Traceback" not in missing.body
    assert "set-cookie" not in missing.headers


def test_the_portal_pool_runs_at_niceness_10_and_the_api_pool_at_ours(pools):
    """PORTAL_NICE: when both pools want the processor, the API's processes get it first."""
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    processes = pools.processes()

    assert len(processes["api"]) == len(processes["portal"]) == 1 + WORKERS
    assert os.getpriority(os.PRIO_PROCESS, pools.process.pid) == ours
    assert {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in processes["api"]} == dict.fromkeys(
        processes["api"], ours
    )
    assert {pid: os.getpriority(os.PRIO_PROCESS, pid) for pid in processes["portal"]} == dict.fromkeys(
        processes["portal"], min(ours + 10, 19)
    )


def autogroup(pid):
    """(group, niceness) of `pid`'s autogroup: /proc/PID/autogroup reads "/autogroup-7 nice 10"."""
    name, _, nice = Path(f"/proc/{pid}/autogroup").read_text().split()
    return name, int(nice)


def test_the_portal_pool_also_lowers_its_session_s_share_under_autogroup_scheduling(pools):
    """With autogroup scheduling each session shares the processor as a group, whatever its
    processes' niceness: the portal pool leads its own session and lowers that group's share."""
    if not Path("/proc/self/autogroup").exists():
        pytest.skip("this kernel schedules without autogroups: niceness alone applies")
    processes = pools.processes()

    portal = {autogroup(pid) for pid in processes["portal"]}
    api = {autogroup(pid) for pid in processes["api"]}

    assert len(portal) == len(api) == 1
    assert portal.pop()[1] == 10
    assert api.pop()[1] == 0


def test_sigterm_to_the_launcher_stops_both_pools(fresh_pools):
    processes = fresh_pools.processes()

    os.kill(fresh_pools.process.pid, signal.SIGTERM)

    assert fresh_pools.wait() == 0
    assert_all_stopped(fresh_pools, processes)
    printed = fresh_pools.log_path.read_text(errors="replace")
    assert f"Portal: http://127.0.0.1:{fresh_pools.port}/" in printed
    assert f"API for applications and gateways: http://127.0.0.1:{fresh_pools.api_port}/" in printed


def test_ctrl_c_stops_both_pools(fresh_pools):
    """The terminal sends SIGINT to the foreground group: the launcher, which stops both pools."""
    processes = fresh_pools.processes()

    os.killpg(fresh_pools.process.pid, signal.SIGINT)

    assert fresh_pools.wait() == 0
    assert_all_stopped(fresh_pools, processes)


@pytest.mark.parametrize("stopped", ["api", "portal"])
def test_a_pool_that_stops_takes_the_other_down_with_the_launcher(fresh_pools, stopped):
    """No half-running `make run`: the other pool is stopped and the launcher exits."""
    processes = fresh_pools.processes()
    other = {"api": "portal", "portal": "api"}[stopped]

    os.kill(processes[stopped][0], signal.SIGTERM)

    assert fresh_pools.wait() != 0, "make run went down unasked: it must fail"
    assert_all_stopped(fresh_pools, processes)
    assert f"[{processes[other][0]}] [INFO] Handling signal: term" in fresh_pools.log_tail()


def test_a_taken_port_stops_the_launcher_with_an_error_and_leaves_nothing_running(
    django_db_setup, static_files, tmp_path
):
    """The API pool cannot listen (another program has its port): `make run` fails, no portal runs."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        launcher = Launcher(tmp_path, api_port=taken.getsockname()[1], wait=False)
        try:
            wait_for(lambda: launcher.process.poll() is not None or launcher.masters(), 10, "the pools")
            status = launcher.wait()
        finally:
            launcher.stop()

    assert status != 0, launcher.log_tail()
    assert not listening(launcher.port), "the portal pool still runs"
    assert not any(map(alive, launcher.seen)), launcher.log_tail()


def test_each_pool_has_its_own_control_socket(fresh_pools):
    """gunicornc reaches each server: the two masters do not share one control socket."""
    ports = {"api": fresh_pools.api_port, "portal": fresh_pools.port}
    sockets = {ROOT / "var" / f"gunicorn-{pool}-{port}.ctl" for pool, port in ports.items()}

    assert all(path.is_socket() for path in sockets), sorted(map(str, sockets))
