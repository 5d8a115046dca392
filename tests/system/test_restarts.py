"""Stopping and restarting app servers under load (audit finding 9, "Restarts lose nothing").

A server told to stop (SIGTERM to gunicorn's master, as systemd sends it) may refuse new
connections, but must answer every connection the kernel had already accepted for it; then two
servers behind the shipped nginx, restarted in turn under load, fail no request.
"""

import datetime
import ipaddress
import re
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.system.conftest import nginx_path, seed
from tests.system.load import Client, Load
from tests.system.support import ROOT, Nginx, free_port, wait_for

LABEL = "restarts"
pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
MIXED = ["verify_key", "issue_v2", "page"]
NGINX_DIR = ROOT / "deploy" / "nginx"
# nginx's access log (portal.conf's `portal` format): the method, the status, and $upstream_addr,
# which names every server tried ("127.0.0.1:8001, 127.0.0.1:8002" for a request retried).
ACCESS_LINE = re.compile(
    r'"(?P<method>\S+) \S+ [^"]*" (?P<status>\d{3}) \S+ \S+ (?P<upstreams>.*) (?P<request_id>[0-9a-f]{32})$'
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


def shipped_front(directory, servers, port):
    """deploy/nginx/portal.conf with the test's addresses, certificate and directory: its two app
    servers, TLS on 127.0.0.1:`port` (IPv4 only), and the shipped portal-proxy.conf beside it."""
    text = (NGINX_DIR / "portal.conf").read_text()
    replacements = {
        "server 127.0.0.1:8001 ": f"server 127.0.0.1:{servers[0].port} ",
        "server 127.0.0.1:8002 ": f"server 127.0.0.1:{servers[1].port} ",
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


@pytest.fixture
def front(start_portal):
    """Two app servers as in production (HTTPS behind nginx, which they trust), and nginx running
    the shipped portal.conf in front of them."""
    servers = [start_portal(name, HTTPS="true", TRUSTED_PROXIES="127.0.0.1") for name in ("app-1", "app-2")]
    nginx, port = Nginx(nginx_path()), free_port()
    tls = self_signed_certificate(nginx.dir)
    shipped_front(nginx.dir, servers, port)
    try:
        nginx.start("portal.conf", port)
        yield servers, nginx, port, tls
    finally:
        leaks = nginx.stop()
        assert not leaks, f"secret-shaped values in nginx's logs: {leaks}"


def access_lines(nginx, start=0):
    """nginx's access log from byte `start` on, parsed."""
    with (nginx.dir / "portal.access.log").open("rb") as log:
        log.seek(start)
        lines = log.read().decode().splitlines()
    return [match.groupdict() for match in map(ACCESS_LINE.search, lines) if match]


def wait_until_in_rotation(nginx, server):
    """Wait until nginx has sent a request to `server` first (not as a retry) since this call."""
    start, address = (nginx.dir / "portal.access.log").stat().st_size, f"127.0.0.1:{server.port}"

    def in_rotation():
        return any(line["upstreams"] == address for line in access_lines(nginx, start))

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
        f"rolling restart behind nginx (portal.conf, two servers): {len(outcomes)} requests"
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
