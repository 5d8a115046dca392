"""The operator's files agree: every dashboard query is in docs/operations.md and is valid PromQL,
and every alert rule has its runbook paragraph there."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = json.loads((ROOT / "deploy/grafana/portal.json").read_text())
QUERIES = [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]
RULES = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())["groups"][0]["rules"]
OPERATIONS = (ROOT / "docs/operations.md").read_text()


def test_every_dashboard_query_is_in_the_docs():
    assert [query for query in QUERIES if query not in OPERATIONS] == []


def test_every_alert_has_its_runbook_paragraph():
    for rule in RULES:
        assert f"### {rule['alert']}\n" in OPERATIONS
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"


def test_every_dashboard_query_is_valid_promql(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("no promtool: install Debian's prometheus package")
    rules = [{"record": f"dashboard:query{n}", "expr": query} for n, query in enumerate(QUERIES)]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    command = [promtool, "check", "rules", str(path)]
    checked = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    assert checked.returncode == 0, checked.stdout + checked.stderr
