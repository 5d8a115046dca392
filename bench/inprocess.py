"""Per-request cost of the bench's scenarios in one process, without gunicorn, wrk or sockets.

    .venv/bin/python bench/inprocess.py [ROUNDS] [--only SCENARIO | --profile SCENARIO]

Seeds the bench group (bench/run.py's seed) into a fresh SQLite file, or DATABASE_URL, then calls
Django's WSGI application directly, as gunicorn's worker does, ROUNDS times per scenario, and
prints the processor time per request (the database's too, with SQLite) and the mean, p50 and
p99 wall-clock milliseconds of each. It shows what a request costs the server,
undisturbed by the other processes sharing the machine's cores (wrk's figures also include the
queueing and connection handling). --only runs the scenario whose name starts with SCENARIO
("7", "6"...); --profile runs it under cProfile and prints the most expensive functions.
"""

import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # bench/run.py: django_setup and seed


def environ(method, path, headers=None, body=b"", content_type=""):
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(run.PORT),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **{f"HTTP_{name.upper().replace('-', '_')}": value for name, value in (headers or {}).items()},
    }


class Refresher:
    """PATCH /v1/tokens along fresh chains, each continued with the token its last answer gave."""

    def __init__(self, client):
        self.client, self.queue = client, []

    def __call__(self):
        if not self.queue:
            from credentials.models import TokenFamily

            chains = range(run.REFRESH_CHAINS)
            self.queue = [TokenFamily.objects.start(self.client.pk).refresh_token for _ in chains]
        body = json.dumps({"refreshToken": self.queue.pop(0)}).encode()
        return environ("PATCH", "/v1/tokens", body=body, content_type="application/json")

    def answered(self, content):
        self.queue.append(json.loads(content)["refreshToken"])


def scenarios(seeded, workdir):
    import base64

    basic = base64.b64encode(seeded["basic"].encode()).decode()
    v1_body = (workdir / "v1.body").read_bytes()
    v2_body = (workdir / "v2.body").read_bytes()
    form = "application/x-www-form-urlencoded"
    refresher = Refresher(seeded["client"])
    return [
        ("0 do-nothing view (/healthz)", lambda: environ("GET", "/healthz"), 200, None),
        (
            "1 verify, X-Api-Key",
            lambda: environ("GET", "/v1/verify", {"X-Api-Key": seeded["api_key"]}),
            204,
            None,
        ),
        (
            "2 verify, X-Access-Token",
            lambda: environ("GET", "/v1/verify", {"X-Access-Token": seeded["access_token"]}),
            204,
            None,
        ),
        (
            "4 POST /v2/tokens",
            lambda: environ("POST", "/v2/tokens", {"Authorization": f"Basic {basic}"}, v2_body, form),
            200,
            None,
        ),
        (
            "5 POST /v1/tokens",
            lambda: environ("POST", "/v1/tokens", body=v1_body, content_type="application/json"),
            201,
            None,
        ),
        ("6 PATCH /v1/tokens", refresher, 200, refresher.answered),
        (
            "7 Authentication Information, 50+50",
            lambda: environ("GET", "/groups/bench/", {"Cookie": f"sessionid={seeded['session']}"}),
            200,
            None,
        ),
    ]


def call(application, env):
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])

    chunks = application(env, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return answer["status"], content


def measure(application, scenario, rounds):
    name, make_environ, expected, answered = scenario
    for _ in range(max(5, rounds // 10)):  # warm-up: template and statement caches, connections
        status, content = call(application, make_environ())
        if answered:
            answered(content)
    times, cpu_started = [], time.process_time()
    for _ in range(rounds):
        env = make_environ()
        started = time.perf_counter()
        status, content = call(application, env)
        times.append((time.perf_counter() - started) * 1000)
        if status != expected:
            raise SystemExit(f"{name}: status {status}, expected {expected}")
        if answered:
            answered(content)
    cpu = (time.process_time() - cpu_started) * 1000 / rounds
    times.sort()
    return {
        "cpu": cpu,
        "mean": statistics.fmean(times),
        "p50": times[len(times) // 2],
        "p99": times[min(len(times) - 1, int(len(times) * 0.99))],
        "bytes": len(content),
    }


def main():
    args = sys.argv[1:]
    profile = only = None
    for option in ("--profile", "--only"):
        if option in args:
            at = args.index(option)
            only = args[at + 1]
            profile = only if option == "--profile" else profile
            del args[at : at + 2]
    rounds = int(args[0]) if args else 300
    workdir = Path(tempfile.mkdtemp(prefix="portal-inprocess-"))
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("CACHE_DIR", str(workdir / "cache"))
    run.django_setup(os.environ.get("DATABASE_URL") or f"sqlite:///{workdir / 'bench.sqlite3'}")
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    # The pages' {% static %} needs collectstatic's manifest with the production storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    seeded = run.seed(workdir)
    application = get_wsgi_application()
    chosen = [s for s in scenarios(seeded, workdir) if s[0].startswith(only or "")]
    print(
        f"{'scenario':40} {'cpu ms':>7} {'mean ms':>8} {'p50 ms':>7} {'p99 ms':>7} {'bytes':>7}"
        f"  ({rounds} requests)"
    )
    for scenario in chosen:
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        result = measure(application, scenario, rounds)
        if profiler:
            profiler.disable()
        print(
            f"{scenario[0]:40} {result['cpu']:7.2f} {result['mean']:8.2f} {result['p50']:7.2f} "
            f"{result['p99']:7.2f} {result['bytes']:7d}"
        )
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
