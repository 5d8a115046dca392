"""A real Prometheus (Debian's package) scraping two app servers with the scrape token: after a
burst of good and bad verifications on both, its HTTP API sums each group's outcomes across the
two servers and all their workers."""

import http.client
import json
import subprocess
import time
import urllib.parse
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.system.conftest import PROMETHEUS, seed
from tests.system.support import ROOT, call, free_port, wait_for

LABEL = "prometheus"
pytestmark = [pytest.mark.system("prometheus"), pytest.mark.django_db(transaction=True)]
TOKEN = "scrape-token-of-the-system-test"


@pytest.fixture
def prometheus(tmp_path):
    """Prometheus scraping the targets given to start(), every second, with the scrape token."""
    started = []

    def start(*ports):
        (tmp_path / "token").write_text(TOKEN)
        targets = ", ".join(f'"127.0.0.1:{port}"' for port in ports)
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: portal\n"
            f"    authorization: {{type: Bearer, credentials_file: {tmp_path / 'token'}}}\n"
            f"    static_configs: [{{targets: [{targets}]}}]\n"
        )
        port = free_port()
        command = [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        with (tmp_path / "prometheus.log").open("wb") as log:
            started.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        wait_for(lambda: _ready(port), 30, "Prometheus")
        return port

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def _ready(port):
    try:
        return call(port, "GET", "/-/ready", timeout=2).status == 200
    except (OSError, http.client.HTTPException):
        return False


def query(port, promql):
    """The instant vector `promql` gives now, from Prometheus's HTTP API: {frozenset(labels): value}."""
    answer = call(port, "GET", f"/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
    result = json.loads(answer.body)["data"]["result"]
    return {frozenset(item["metric"].items()): float(item["value"][1]) for item in result}


def test_prometheus_sums_outcomes_per_group_across_servers_and_workers(start_portal, prometheus, traffic):
    servers = [start_portal(name, workers=3, METRICS_TOKEN=TOKEN) for name in ("metrics-a", "metrics-b")]
    url = prometheus(*(server.port for server in servers))
    payments, shipping, archive = seed("Payments"), seed("Shipping"), seed("Archive")
    sent = {  # (group, outcome): requests, spread over both servers
        (payments.group.slug, "accepted"): 30,
        (shipping.group.slug, "accepted"): 20,
        ("-", "wrong"): 25,
        (shipping.group.slug, "scope"): 10,
        (archive.group.slug, "expired"): 12,
    }
    headers = {
        (payments.group.slug, "accepted"): ({"X-Api-Key": payments.keys["primary"]}, 204),
        (shipping.group.slug, "accepted"): ({"X-Api-Key": shipping.keys["secondary"]}, 204),
        ("-", "wrong"): ({"X-Api-Key": payments.keys["primary"][:-4] + "AAAA"}, 401),
        (shipping.group.slug, "scope"): (
            {"X-Api-Key": shipping.keys["primary"], "X-Required-Scope": "not-granted"},
            403,
        ),
        (archive.group.slug, "expired"): ({"X-Api-Key": archive.keys["primary"]}, 401),
    }
    shipping.credential.set_scopes(["orders"], shipping.credential.version, shipping.owner)
    expired = timezone.now() - timedelta(minutes=1)
    archive.credential.set_expiry(expired, archive.credential.version, archive.owner)
    for key, count in sent.items():
        header, status = headers[key]
        for n in range(count):
            traffic.send(servers[n % 2].port, "GET", "/v1/verify", header, expect=status)

    promql = "sum by (group, outcome) (portal_verifications_total)"
    expected = {
        frozenset({"group": group, "outcome": outcome}.items()): float(n)
        for (group, outcome), n in sent.items()
    }
    deadline = time.monotonic() + 15
    while (counted := query(url, promql)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert counted == expected
    # Each server counted its half, in the files of more than one of its workers.
    by_server = query(url, 'sum by (instance) (portal_verifications_total{outcome="accepted"})')
    assert sorted(by_server.values()) == [25.0, 25.0]
    for server in servers:
        assert len(list((ROOT / "var" / f"metrics-portal-{server.port}").glob("counter_*.db"))) > 1
    assert list(query(url, "portal_ready").values()) == [1.0, 1.0]
