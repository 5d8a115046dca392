"""`make bench`: the product under gunicorn on 127.0.0.1, driven by wrk, scenario by scenario.

Seeds a database (a fresh SQLite file, or DATABASE_URL), collects the static files, starts both
gunicorn pools with production-like settings (DEBUG off, no access log): the portal pool on PORT
and the API pool on API_PORT, as docs/deploy.md deploys them. It runs every scenario RUNS times
for DURATION seconds each, and reports the median run of each: requests/s, p50, p99, errors and
the ratio to scenario 0, printed as a table and written to bench-results.json. Scenario 0, the
do-nothing view, is the portal pool's (Django's full middleware); the API's scenarios are the API
pool's; scenario a is the API pool's do-nothing view, for comparison.

Scenario 8 (bench/gateway.py) puts Debian's nginx with deploy/nginx/gateway.conf in front of a
service, asking the API pool, and measures protected requests with and without the gateway's
verification cache against nginx answering a static 204; its ratios are to that 204.

Scenario 9 (bench/mixed.py) measures /v1/verify alone and during a storm of wrong sign-ins and
a reader of the Authentication Information tab on the portal pool.

Every scenario but one is driven by CONNECTIONS connections in a closed loop, as gateways and
applications would call. Scenario 7, the Authentication Information tab, is a page people open:
it is driven with one connection per core (PAGE_CONNECTIONS), so that its latency is the page's
own and not the wait behind a queue of requests that no group's administrators would make at
once (docs/performance.md).
"""

import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DURATION = int(os.environ.get("BENCH_SECONDS", "10"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
# Scenario 7's connections; empty means one per gunicorn worker.
PAGE_CONNECTIONS = os.environ.get("BENCH_PAGE_CONNECTIONS", "")
PAGE_SCENARIO = "7 "
# The portal pool's port; the API pool listens on the one below (docs/deploy.md, "Two pools").
PORT = int(os.environ.get("BENCH_PORT", "18765"))
API_PORT = PORT - 1
WORKERS = os.environ.get("WEB_CONCURRENCY", "")
REFRESH_CHAINS = 64
SCALE = int(os.environ.get("SCALE") or 0)
SCALE_SCENARIOS = ("0 ", "1 ", "2 ", "4 ")
# The scenarios to run, by number ("0456", "8"): all of them unless set. Scenario 0 runs with any
# of 1-7, as their ratios are to it.
ONLY = os.environ.get("BENCH_ONLY", "")
GATEWAY_SCENARIO = "8"
MIXED_SCENARIO = "9"


def django_setup(database_url):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import django

    django.setup()


def seed(workdir):
    """The bench group: 50 API key credentials, 50 OAuth clients, tokens, a signed-in owner."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from credentials.models import AccessToken, ApiKeyCredential, OAuthClient
    from groups.models import Group, Membership, Role

    call_command("migrate", verbosity=0)
    Group.objects.filter(slug="bench").delete()
    group = Group.objects.create(name="Bench", slug="bench")
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    Membership.objects.get_or_create(group=group, user=owner, defaults={"role": Role.OWNER})
    keys = [ApiKeyCredential.create_with_keys(group, f"key-{n:02}", owner)[1] for n in range(50)]
    clients = [OAuthClient.create_with_secret(group, f"client-{n:02}", owner) for n in range(50)]
    client, secret = clients[0]
    access_token = AccessToken.objects.issue(client.pk)
    browser = Client()
    browser.force_login(owner)

    pool = workdir / "refresh-tokens.txt"
    (workdir / "v2.body").write_text("grant_type=client_credentials")
    (workdir / "v1.body").write_text(json.dumps({"clientId": client.client_id, "clientSecret": secret}))
    return {
        "api_key": keys[0]["primary"],
        "access_token": access_token,
        "basic": f"{client.client_id}:{secret}",
        "session": browser.cookies["sessionid"].value,
        "pool": pool,
        "client": client,
    }


def fresh_refresh_pool(seeded):
    """New refresh-token chains for one PATCH run: a run leaves its chains rotated past the
    tokens in the file, and sending those again would be reuse (and revoke the chains)."""
    from credentials.models import TokenFamily

    chains = [TokenFamily.objects.start(seeded["client"].pk).refresh_token for _ in range(REFRESH_CHAINS)]
    seeded["pool"].write_text("\n".join(chains) + "\n")


def scenarios(seeded, workdir):
    import base64

    basic = base64.b64encode(seeded["basic"].encode()).decode()
    lua = ROOT / "bench"
    form = "application/x-www-form-urlencoded"
    # Scenario 0 and the page are the portal pool's; the API's scenarios are the API pool's.
    return [
        ("0 do-nothing view (/healthz)", "/healthz", [], [], PORT),
        ("1 verify, X-Api-Key", "/v1/verify", ["-H", f"X-Api-Key: {seeded['api_key']}"], [], API_PORT),
        (
            "2 verify, X-Access-Token",
            "/v1/verify",
            ["-H", f"X-Access-Token: {seeded['access_token']}"],
            [],
            API_PORT,
        ),
        ("3 whoami, X-Api-Key", "/v1/whoami", ["-H", f"X-Api-Key: {seeded['api_key']}"], [], API_PORT),
        (
            "4 POST /v2/tokens",
            "/v2/tokens",
            ["-H", f"Authorization: Basic {basic}", "-s", str(lua / "post.lua")],
            ["/v2/tokens", form, str(workdir / "v2.body")],
            API_PORT,
        ),
        (
            "5 POST /v1/tokens",
            "/v1/tokens",
            ["-s", str(lua / "post.lua")],
            ["/v1/tokens", "application/json", str(workdir / "v1.body")],
            API_PORT,
        ),
        (
            "6 PATCH /v1/tokens",
            "/v1/tokens",
            ["-s", str(lua / "refresh.lua")],
            [str(seeded["pool"]), str(THREADS)],
            API_PORT,
        ),
        (
            "7 Authentication Information, 50+50",
            "/groups/bench/",
            ["-H", f"Cookie: sessionid={seeded['session']}"],
            [],
            PORT,
        ),
        ("a do-nothing view, API pool (/healthz)", "/healthz", [], [], API_PORT),
    ]


def wait_for_port(port, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on {port}")


class Pools:
    """The two gunicorn servers, as production runs them: the portal pool on PORT and the API pool
    on API_PORT. Both at the same niceness unless `extra_env` says otherwise (PORTAL_NICE), so that
    scenario 0 is not slowed against wrk and every ratio is to the same stack's do-nothing view.
    `portal_nice=None` leaves the portal pool at gunicorn.conf.py's niceness."""

    def __init__(self, database_url, log, portal_nice=0, **extra_env):
        env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false", **extra_env}
        if portal_nice is not None:
            env["PORTAL_NICE"] = str(portal_nice)
        env["HOST"] = "127.0.0.1"
        env["ACCESS_LOG"] = "off"
        if WORKERS:
            env["WEB_CONCURRENCY"] = WORKERS
        command = [str(ROOT / ".venv/bin/gunicorn"), "--config", str(ROOT / "gunicorn.conf.py")]
        self.portal, self.api = (
            subprocess.Popen(
                command,
                cwd=ROOT,
                env={**env, "POOL": pool, "PORT": str(port)},
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
            for pool, port in (("portal", PORT), ("api", API_PORT))
        )
        wait_for_port(PORT)
        wait_for_port(API_PORT)

    def stop(self):
        for server in (self.portal, self.api):
            stop_server(server)


def parse_wrk(output):
    def latency_ms(label):
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {"rps": requests, "p50_ms": latency_ms("50"), "p99_ms": latency_ms("99"), "errors": errors}


def run_wrk(path, options, script_args, seconds=DURATION, connections=CONNECTIONS, port=PORT):
    threads = min(THREADS, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *options]
    command.append(f"http://127.0.0.1:{port}{path}")
    if script_args:
        command += ["--", *script_args]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60)
    return parse_wrk(result.stdout)


def workers_of(server):
    return Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()


def check_page(seeded):
    """The tab answers 200 to the bench's session: wrk counts a redirect to the sign-in page, or
    any other 3xx, as a success."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/groups/bench/", headers={"Cookie": f"sessionid={seeded['session']}"}
    )
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(request, timeout=30) as response:
        if response.status != 200:
            raise RuntimeError(f"the tab answered {response.status}, not 200")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def worker_memory_mb(*servers):
    children = [pid for server in servers for pid in workers_of(server)]
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return max(sizes) if sizes else 0.0


def stop_server(server):
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def page_connections(server):
    """One per core, and no more than there are workers to answer them."""
    return int(PAGE_CONNECTIONS or min(len(workers_of(server)) or 1, os.cpu_count() or 1))


def measure(seeded, server_scenarios, pools, runs=RUNS, paired=False):
    """Each scenario `runs` times, after a warm-up. `paired`: each scenario right after a run of
    scenario 0, whose figure it keeps as `baseline_rps`: on a machine shared with other work, the
    load changes from minute to minute, and a ratio to the baseline of the next 10 seconds moves
    much less than one to a baseline measured minutes away."""
    for name, path, options, script_args, port in server_scenarios:
        if name[0] in "012345a":  # not the refresh pool's (6) nor the page (7)
            run_wrk(path, options, script_args, seconds=2, port=port)
    baseline = server_scenarios[0]
    results = {}
    for _ in range(runs):
        for name, path, options, script_args, port in server_scenarios:
            extra = {}
            if paired and name != baseline[0]:
                base = run_wrk(*baseline[1:4], port=baseline[4])
                results[baseline[0]].append({**base, "connections": CONNECTIONS})
                extra["baseline_rps"] = base["rps"]
            if name.startswith("6 "):
                fresh_refresh_pool(seeded)
            connections = page_connections(pools.portal) if name.startswith(PAGE_SCENARIO) else CONNECTIONS
            result = run_wrk(path, options, script_args, connections=connections, port=port)
            results.setdefault(name, []).append({**result, **extra, "connections": connections})
    return results


def collect_static():
    """The pages name their CSS and JavaScript through the manifest that collectstatic writes
    (as `make run` does); without it every page would be a 500."""
    command = [sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "--verbosity", "0"]
    subprocess.run(command, cwd=ROOT, check=True, timeout=300)


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}"
    django_setup(database_url)
    seeded = seed(workdir)
    everything = selected(scenarios(seeded, workdir))
    collect_static()
    log = (workdir / "gunicorn.log").open("w")
    print(f"server log: {log.name}")
    pools = Pools(database_url, log)
    try:
        check_page(seeded)
        runs = measure(seeded, everything, pools, paired=True) if everything else {}
        memory = worker_memory_mb(pools.portal, pools.api)
        gateway_runs = measure_gateway(seeded, pools.api)
    finally:
        pools.stop()
    mixed_runs = measure_mixed(seeded, database_url, log)
    report(runs, memory, database_url, gateway_runs, mixed_runs)
    if SCALE:
        at_scale(database_url, log, seeded, [s for s in everything if s[0].startswith(SCALE_SCENARIOS)])


def selected(every):
    """The scenarios BENCH_ONLY names among `every` (all of them unless set), scenario 0 first."""
    if not ONLY:
        return every
    named = [s for s in every if s[0][0] in ONLY and s[0][0] != "0"]
    return every[:1] + named if named or "0" in ONLY else []


def measure_gateway(seeded, server):
    # `server`: the API pool, which the gateway asks.
    """Scenario 8 (bench/gateway.py), unless BENCH_ONLY leaves it out or nginx is missing."""
    if ONLY and GATEWAY_SCENARIO not in ONLY:
        return {}
    import gateway

    reason = gateway.missing()
    if reason:
        print(f"scenario 8 skipped: {reason}")
        return {}

    def wrk(port, options, seconds=DURATION):
        return run_wrk("/orders", options, [], seconds=seconds, port=port)

    def portal_pids():
        return [server.pid, *map(int, workers_of(server))]

    return gateway.measure(
        api_key=seeded["api_key"],
        portal_port=API_PORT,
        first_port=PORT + 1,
        wrk=wrk,
        seconds=DURATION,
        runs=RUNS,
        wait_for_port=wait_for_port,
        portal_pids=portal_pids,
    )


def measure_mixed(seeded, database_url, log):
    """Scenario 9 (bench/mixed.py), unless BENCH_ONLY leaves it out."""
    if ONLY and MIXED_SCENARIO not in ONLY:
        return {}
    import mixed

    def wrk(request, seconds, connections, pool):
        port = API_PORT if pool == "api" else PORT
        return run_wrk(*request, seconds=seconds, connections=connections or CONNECTIONS, port=port)

    return mixed.measure(
        seeded=seeded,
        start_pools=lambda nice, **env: Pools(database_url, log, portal_nice=nice, **env),
        wrk=wrk,
        seconds=DURATION,
        runs=RUNS,
        lua_dir=ROOT / "bench",
    )


def at_scale(database_url, log, seeded, subset):
    """The same lookups at SCALE rows, with and without the per-worker memory, and during a purge."""
    import scale

    figures = {}
    uncached = {"VERIFY_CACHE_SECONDS": "0"}
    pools = Pools(database_url, log, **uncached)
    try:
        figures["small, no memory"] = with_ratios(measure(seeded, subset, pools, paired=True))
    finally:
        pools.stop()
    started = time.monotonic()
    scale.seed(SCALE)
    figures["seed seconds"] = round(time.monotonic() - started, 1)
    for label, env in [("large", {}), ("large, no memory", uncached)]:
        pools = Pools(database_url, log, **env)
        try:
            figures[label] = with_ratios(measure(seeded, subset, pools, paired=True))
        finally:
            pools.stop()
    figures["during purge, no memory"] = during_purge(database_url, log, subset)
    figures["query plans"] = scale.query_plans(seeded["api_key"], seeded["access_token"])
    for label, value in figures.items():
        print(f"\n{label}: {json.dumps(value, indent=2) if isinstance(value, dict) else value}")
    results = json.loads((ROOT / "bench-results.json").read_text())
    results["scale"] = {"rows": SCALE, **figures}
    (ROOT / "bench-results.json").write_text(json.dumps(results, indent=2) + "\n")


def during_purge(database_url, log, subset):
    """Verification while purge_expired_tokens deletes the expired rows, as in production."""
    pools = Pools(database_url, log, VERIFY_CACHE_SECONDS="0")
    try:
        verify = next(s for s in subset if s[0].startswith("1 "))
        run_wrk(*verify[1:4], seconds=2, port=API_PORT)
        started = time.monotonic()
        purge = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "purge_expired_tokens"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            stdout=subprocess.PIPE,
            text=True,
        )
        during = []
        while purge.poll() is None:
            during.append(run_wrk(*verify[1:4], seconds=5, port=API_PORT))
        output = purge.communicate()[0]
        return {
            "purge seconds": round(time.monotonic() - started, 1),
            "purge output": output.strip().splitlines(),
            "verify req/s during purge (5 s windows)": [round(r["rps"]) for r in during],
            "errors": sum(r["errors"] for r in during),
        }
    finally:
        pools.stop()


def medians(runs):
    return {
        name: sorted(results, key=lambda r: r["rps"])[len(results) // 2] for name, results in runs.items()
    }


def with_ratios(runs):
    """medians(), each with its ratio: the median of the ratios to the baseline run just before
    each (paired runs), else to the baseline's median."""
    median = medians(runs)
    baseline = next(iter(median.values()))["rps"]
    for name, result in median.items():
        paired = [r["rps"] / r["baseline_rps"] for r in runs[name] if "baseline_rps" in r]
        result["ratio"] = round(statistics.median(paired) if paired else result["rps"] / baseline, 3)
    return median


def print_table(median):
    if not median:
        return
    print(f"\n{'scenario':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'ratio':>6}")
    for name, result in median.items():
        print(
            f"{name:40} {result['rps']:9.0f} {result['p50_ms']:8.2f} {result['p99_ms']:8.2f} "
            f"{result['errors']:7d} {result['ratio']:6.2f}"
        )


def report(runs, memory, database_url, gateway_runs, mixed_runs):
    median = with_ratios(runs) if runs else {}
    print_table(median)
    page = next((r for name, r in median.items() if name.startswith(PAGE_SCENARIO)), None)
    if page:
        print(f"(scenario 7 with {page['connections']} connections, the others with {CONNECTIONS})")
    gateway_median = with_ratios(gateway_runs) if gateway_runs else {}
    if gateway_median:
        print_table(gateway_median)
        print("(ratios to nginx's static 204, paired by round)")
        print(f"\n{'scenario':40} {'nginx CPU µs/req':>17} {'portal CPU µs/req':>18} {'portal calls/s':>15}")
        for name, result in gateway_median.items():
            calls = result.get("portal_calls_per_s")
            print(
                f"{name:40} {result['nginx_cpu_us']:17.1f} {result['portal_cpu_us']:18.1f} "
                f"{'' if calls is None else f'{calls:.0f}':>15}"
            )
    print_mixed(mixed_runs)
    print(f"\nlargest gunicorn worker after the bench: {memory:.0f} MB resident")
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "database": database_url.split(":", 1)[0],
        "cache": "redis" if os.environ.get("REDIS_URL") else "file",
        "seconds_per_run": DURATION,
        "runs": RUNS,
        "threads": THREADS,
        "connections": CONNECTIONS,
        "page_connections": page["connections"] if page else None,
        "worker_rss_mb": round(memory, 1),
        "median": median,
        "all_runs": runs,
        "spread": {name: round(statistics.pstdev(r["rps"] for r in rs), 1) for name, rs in runs.items()},
        "gateway": {"median": gateway_median, "all_runs": gateway_runs},
        "mixed": mixed_runs,
    }
    (ROOT / "bench-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("written to bench-results.json")


def print_mixed(mixed_runs):
    """Scenario 9's median round (by ratio) of each setting."""
    if not mixed_runs:
        return
    print("\n9 verify alone and during the sign-in storm and the tab (median round by ratio)")
    print(
        f"{'portal pool':18} {'alone req/s':>11} {'p99 ms':>7} {'during req/s':>12} {'p99 ms':>7} "
        f"{'ratio':>6} {'sign-ins/s':>10} {'non-2xx':>8} {'tab/s':>6}"
    )
    for label, rounds in mixed_runs.items():
        r = sorted(rounds, key=lambda r: r["ratio"])[len(rounds) // 2]
        print(
            f"{label:18} {r['alone']['rps']:11.0f} {r['alone']['p99_ms']:7.2f} {r['during']['rps']:12.0f} "
            f"{r['during']['p99_ms']:7.2f} {r['ratio']:6.2f} {r['sign-ins']['rps']:10.1f} "
            f"{r['sign-ins']['errors']:8d} {r['tab']['rps']:6.1f}"
        )


if __name__ == "__main__":
    main()
