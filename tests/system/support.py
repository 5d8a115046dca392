"""Processes and HTTP for the system tests: gunicorn portals, nginx, plain requests on 127.0.0.1.

Only processes started here are ever signalled, by their own id (or their own process group).
"""

import base64
import contextlib
import datetime
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from credentials import secrets
from credentials.secrets import Kind
from tests.conftest import SECRET_SHAPE

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
NGINX_DIR = ROOT / "deploy" / "nginx"
GRANT = "grant_type=client_credentials"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION_FIELD = re.compile(r'name="version" value="(\d+)"')


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not ready after {seconds} s")


def listening(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop_process(process, seconds=20):
    """SIGTERM the process group this test started (gunicorn's master and its workers), then wait."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def secret_shaped_lines(path):
    """Lines of a log file holding a value shaped like a key, secret or token (none expected)."""
    if not path.exists():
        return []
    text = path.read_text(errors="replace")
    return [
        SECRET_SHAPE.sub("<secret>", line)[:200] for line in text.splitlines() if SECRET_SHAPE.search(line)
    ]


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes
    seconds: float

    def json(self):
        return json.loads(self.body)


def call(port, method, path, headers=None, body=None, timeout=10, tls=None):
    """One request on a fresh connection; connection errors propagate (OSError, HTTPException).

    With `tls` (an ssl.SSLContext), over HTTPS."""
    started = time.monotonic()
    if tls:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=tls)
    else:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        body = answer.read()
        headers = {name.lower(): value for name, value in answer.getheaders()}
        return Response(answer.status, headers, body, time.monotonic() - started)
    finally:
        connection.close()


def burst(port, method, path, headers, body, count, parallel):
    """`count` identical requests, `parallel` at a time, each on a fresh connection: their answers,
    None for a request left without one."""

    def one(_):
        try:
            return call(port, method, path, headers, body)
        except (OSError, http.client.HTTPException):
            return None

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, range(count)))


def wrong_secrets(port, client_id, count, parallel):
    """`count` client-credentials token requests for `client_id` with a wrong secret, well-formed so
    that it is looked up, `parallel` at a time: their statuses counted (`tally`)."""
    wrong = basic_auth(client_id, secrets.generate(Kind.CLIENT_SECRET))
    return tally(burst(port, "POST", "/v2/tokens", wrong, GRANT, count, parallel))


def tally(answers):
    """The statuses of `answers` counted: "none" for a request left without an answer, and
    "429 without Retry-After" for a 429 lacking a positive one."""

    def status(answer):
        if answer is None:
            return "none"
        if answer.status == 429 and int(answer.headers.get("retry-after", 0)) <= 0:
            return "429 without Retry-After"
        return answer.status

    return Counter(map(status, answers))


def kept_lockout(statuses, threshold):
    """How many answers kept the lockout's promise: the first `threshold` 401s, and every 429."""
    return min(statuses[401], threshold) + statuses[429]


def described(statuses):
    """Counted statuses as text: "401 ×5, 429 ×91"."""
    return ", ".join(f"{status} ×{count}" for status, count in sorted(statuses.items(), key=str))


def spread_of_401s(rounds, threshold):
    """The 401s of rounds of wrong secrets, as text: their most, how many rounds had more than
    `threshold`, how many rounds had each count, and the 5xx of all rounds."""
    per_round = Counter(statuses[401] for statuses in rounds)
    over = sum(count for failures, count in per_round.items() if failures > threshold)
    statuses = sum(rounds, Counter())
    server_errors = sum(count for status, count in statuses.items() if str(status).startswith("5"))
    rounds_with = ", ".join(f"{failures} ×{count}" for failures, count in sorted(per_round.items()))
    return (
        f"401s per round: max {max(per_round)}, rounds over {threshold}: {over} of {len(rounds)}"
        f" (rounds with each count: {rounds_with}); 5xx: {server_errors}"
    )


def raw_status(port, data, timeout=5):
    """Send raw bytes, return the status code of the answer (0 if the connection closed silently)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # The server may answer and close before it has read everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        received = b""
        try:
            while b"\r\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
    status_line = received.split(b"\r\n", 1)[0].split()
    return int(status_line[1]) if len(status_line) > 1 else 0


def start_gunicorn(cwd, env, log):
    """`gunicorn --config gunicorn.conf.py` in `cwd`, as `make run` starts it, writing to `log`."""
    command = [str(GUNICORN), "--config", "gunicorn.conf.py"]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log, start_new_session=True)


class Portal:
    """The portal under gunicorn, started as `make run` starts it, on a port of its own (kept when
    it is started again)."""

    def __init__(self, name, env, log_dir, workers=2):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.error_log = log_dir / f"{name}.log"
        self.access_log = log_dir / f"{name}.access.log"
        self.env = {
            **env,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            "ACCESS_LOG": str(self.access_log),
        }
        self.workers = workers
        self.start()

    def start(self):
        with self.error_log.open("ab") as log:
            self.process = start_gunicorn(ROOT, self.env, log)
        name, workers = self.name, self.workers
        try:
            wait_for(self.healthy, 30, f"portal {name}")
            wait_for(lambda: len(self.worker_pids()) == workers, 30, f"{workers} workers of {name}")
        except AssertionError:
            self.stop()
            raise AssertionError(f"portal {name} did not start: {self.log_tail()}") from None

    def terminate(self, seconds=40):
        """SIGTERM to the master alone, as systemd stops a unit with KillMode=mixed; waits until it
        has exited (gunicorn's graceful_timeout is 30 s)."""
        os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=seconds)

    def healthy(self):
        try:
            return call(self.port, "GET", "/healthz", timeout=2).status == 200
        except (OSError, http.client.HTTPException):
            return False

    def worker_pids(self):
        """gunicorn's workers: the children of the master this test started."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in children.split()]

    def log_tail(self):
        return self.error_log.read_text(errors="replace")[-2000:] if self.error_log.exists() else ""

    def stop(self):
        stop_process(self.process)

    def leaked_secrets(self):
        return secret_shaped_lines(self.error_log) + secret_shaped_lines(self.access_log)


# nginx's own settings for a private instance: every path in its directory.
NGINX_MAIN = """\
{modules}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/{site};
}}
"""


class Nginx:
    """Debian's nginx as a private instance: its configuration, logs and temporary files in a
    directory of its own (`dir`), where the test writes the site file it includes."""

    def __init__(self, binary, modules=()):
        """`modules`: paths of dynamic modules to load, as Debian's modules-enabled/ does."""
        self.binary, self.process, self.modules = binary, None, modules
        self.workdir = tempfile.TemporaryDirectory(prefix="portal-nginx-")
        self.dir = Path(self.workdir.name)
        # nginx's workers run as an unprivileged user and keep their temporary files here.
        os.chmod(self.dir, 0o755)  # noqa: S103

    def start(self, site, port):
        """Run nginx with the site file `site` (in `dir`), once `nginx -t` accepts it; it listens on
        127.0.0.1:`port`."""
        conf = self.dir / "nginx.conf"
        modules = "".join(f"load_module {module};\n" for module in self.modules)
        conf.write_text(NGINX_MAIN.format(modules=modules, dir=self.dir, site=site))
        command = [self.binary, "-p", str(self.dir), "-e", f"{self.dir}/error.log", "-c", str(conf)]
        checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, f"nginx -t refused the configuration: {checked.stderr[-1000:]}"
        with (self.dir / "stdout.log").open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "-g", "daemon off;"], stdout=log, stderr=log, start_new_session=True
            )
        wait_for(lambda: listening(port), 10, "nginx")

    def stop(self):
        """Stop nginx and remove its directory; returns the secret-shaped lines of its logs."""
        if self.process is not None:
            stop_process(self.process)
        leaks = [line for log in self.dir.glob("*.log") for line in secret_shaped_lines(log)]
        self.workdir.cleanup()
        return leaks


def self_signed_certificate(directory):
    """A certificate and key for portal.example.com and 127.0.0.1, as portal.conf's TLS server
    needs; returns a client context that trusts that certificate alone."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("portal.example.com"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (directory / "portal.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "portal.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (directory / "portal.key").chmod(0o600)
    return ssl.create_default_context(cafile=directory / "portal.pem")


def shipped_front(directory, servers, port, api=None):
    """deploy/nginx/portal.conf with the test's addresses, certificate and directory: the two
    servers of its portal pool (`servers`: the same one twice for a test with one) and of its API
    pool (`api`; by default `servers`, which serve the API too), TLS on 127.0.0.1:`port` (IPv4
    only), and the shipped portal-proxy.conf beside it."""
    api = api or servers
    text = (NGINX_DIR / "portal.conf").read_text()
    replacements = {
        "server 127.0.0.1:8001 ": f"server 127.0.0.1:{servers[0].port} ",
        "server 127.0.0.1:8002 ": f"server 127.0.0.1:{servers[1].port} ",
        "server 127.0.0.1:8101 ": f"server 127.0.0.1:{api[0].port} ",
        "server 127.0.0.1:8102 ": f"server 127.0.0.1:{api[1].port} ",
        "listen 80;": f"listen 127.0.0.1:{free_port()};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/ssl/certs/portal.pem": f"{directory}/portal.pem",
        "/etc/ssl/private/portal.key": f"{directory}/portal.key",
        "/var/log/nginx/": f"{directory}/",
        "/etc/nginx/portal-proxy.conf": f"{directory}/portal-proxy.conf",
    }
    for old, new in replacements.items():
        assert old in text, f"{old!r} is expected in portal.conf"
        text = text.replace(old, new)
    (directory / "portal.conf").write_text(text)
    (directory / "portal-proxy.conf").write_text((NGINX_DIR / "portal-proxy.conf").read_text())


def python_process(script, *args, log):
    """A helper script of this package under the project's Python, in its own process group."""
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name(script)), *map(str, args)],
        cwd=ROOT,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )


def sign_in(portal, username, password):
    """A browser-like session signed in to `portal` through its sign-in form (CSRF included)."""
    browser = requests.Session()
    page = browser.get(f"{portal.url}/accounts/login/", timeout=10)
    assert page.status_code == 200, f"the sign-in page of {portal.name} answered {page.status_code}"
    token = CSRF_FIELD.search(page.text).group(1)
    answer = browser.post(
        f"{portal.url}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, f"sign-in to {portal.name} answered {answer.status_code}"
    return browser


def regenerate_key(portal, browser, group_slug, public_id, slot="primary"):
    """Regenerate a key as an administrator does: the confirmation page, then its form's POST,
    which redirects to the tab showing the new value once.

    Returns the new value, read from that page.
    """
    url = f"{portal.url}/groups/{group_slug}/api-keys/{public_id}/{slot}/regenerate/"
    confirmation = browser.get(url, timeout=10)
    assert confirmation.status_code == 200, f"regenerate confirmation answered {confirmation.status_code}"
    token = CSRF_FIELD.search(confirmation.text).group(1)
    version = VERSION_FIELD.search(confirmation.text).group(1)
    data = {"csrfmiddlewaretoken": token, "version": version}
    answer = browser.post(url, data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, f"regenerate answered {answer.status_code}"
    assert "?reveal=" in answer.headers["Location"], "regenerate redirects to the value to reveal"
    answer = browser.get(urljoin(portal.url, answer.headers["Location"]), timeout=10)
    values = set(SECRET_SHAPE.findall(answer.text))
    assert len(values) == 1, "the page after Regenerate shows exactly one value in clear"
    return values.pop()


class Traffic:
    """The requests a module sent and how many failed, for its line in the run's summary.

    A failure is an answer other than the expected status, or no answer at all; it also fails
    the test at once.
    """

    def __init__(self):
        self.sent, self.failures, self.figures = 0, 0, []
        self.lock = threading.Lock()

    def count(self, failed=False):
        with self.lock:
            self.sent += not failed
            self.failures += failed

    def send(self, port, method, path, headers=None, body=None, expect=None, timeout=10, tls=None):
        self.count()
        try:
            response = call(port, method, path, headers, body, timeout, tls)
        except (OSError, http.client.HTTPException):
            self.count(failed=True)
            raise
        expected = expect if isinstance(expect, tuple) else (expect,)
        if expect is not None and response.status not in expected:
            self.count(failed=True)
            raise AssertionError(f"{method} {path} answered {response.status}, expected {expect}")
        return response

    def summary(self):
        return ", ".join([f"{self.sent} requests, {self.failures} failures", *self.figures])


@dataclass
class Refusal:
    """When, after a change, a credential stopped being accepted (seconds since the change)."""

    polls: int
    last_accepted: float | None  # send time of the last poll still accepted
    refused_from: float  # send time of the first poll of the final run of refusals


class Poller(threading.Thread):
    """An application using a credential all the time: one request every `interval` seconds,
    each answer recorded with the time it was sent. Every answer must be `accepted` or 401."""

    def __init__(self, traffic, port, path, headers, accepted, interval=0.02):
        super().__init__(daemon=True)
        self.request = (traffic, port, path, headers, accepted)
        self.interval, self.answers, self.error = interval, [], None
        self.stopping = threading.Event()

    def run(self):
        traffic, port, path, headers, accepted = self.request
        try:
            while not self.stopping.is_set():
                sent = time.monotonic()
                status = traffic.send(port, "GET", path, headers, expect=(accepted, 401)).status
                self.answers.append((sent, status == accepted))
                self.stopping.wait(self.interval)
        except BaseException as error:  # re-raised in the test's thread by refusal()
            self.error = error

    def wait_until_in_use(self, polls=20):
        wait_for(lambda: self.error or len(self.answers) >= polls, 10, "polling")
        assert all(accepted for _, accepted in self.answers), "refused before any change"

    def refusal(self, changed_at, watch=1.6):
        """Keep polling until `watch` s after `changed_at`, stop, and say when refusal began."""
        self.stopping.wait(max(0.0, changed_at + watch - time.monotonic()))
        self.stopping.set()
        self.join(timeout=15)
        if self.error is not None:
            raise self.error
        after = [(sent - changed_at, accepted) for sent, accepted in self.answers if sent >= changed_at]
        accepted_at = [when for when, accepted in after if accepted]
        last_accepted = max(accepted_at) if accepted_at else None
        refusals = [when for when, accepted in after if not accepted and when > (last_accepted or -1)]
        assert refusals, f"still accepted {watch} s after the change"
        return Refusal(len(after), last_accepted, min(refusals))


def basic_auth(client_id, secret):
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/x-www-form-urlencoded"}
