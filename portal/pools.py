"""`make run`'s server: the API pool on API_PORT and the portal pool on PORT, two gunicorn masters
on one machine, as production runs them behind nginx (docs/deploy.md, "Two pools").

Applications and gateways call the API pool; the portal pool serves the pages, and the API too,
so that Swagger UI's "Try it out" works from the portal's address. Ctrl-C or SIGTERM stops both;
if either stops, the other is stopped too.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import environ

ROOT = Path(__file__).resolve().parent.parent


def addresses():
    """(host, portal port, API port) from the environment or .env."""
    env = environ.Env()
    environ.Env.read_env(ROOT / ".env")
    port = env.int("PORT", default=8000)
    return env.str("HOST", default="127.0.0.1"), port, env.int("API_PORT", default=port + 1)


def main():
    host, port, api_port = addresses()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    servers, stopping = [], []

    def stop(signum=signal.SIGTERM, frame=None):
        stopping.append(signum)
        for server in servers:
            if server.poll() is None:
                server.send_signal(signum)

    # Before the servers start, so that a signal meanwhile cannot leave one behind.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # Ctrl-C
    for pool, pool_port in (("api", api_port), ("portal", port)):
        if not stopping:
            servers.append(
                subprocess.Popen(  # noqa: S603 (this virtualenv's gunicorn, no outside input)
                    [gunicorn, "--config", "gunicorn.conf.py"],
                    cwd=ROOT,
                    env={**os.environ, "POOL": pool, "PORT": str(pool_port)},
                    # Each its own session, so that the portal's niceness also lowers its session's
                    # share under autogroup scheduling (gunicorn.conf.py); signals come from here.
                    start_new_session=True,
                )
            )
    print(f"\nPortal: http://{host}:{port}/\nAPI for applications and gateways: http://{host}:{api_port}/\n")
    while not stopping and all(server.poll() is None for server in servers):
        time.sleep(0.5)
    asked = bool(stopping)
    stop()
    codes = [server.wait() for server in servers]
    if not asked:  # a server failed, or was stopped from outside: so does `make run`
        sys.exit(next((code for code in codes if code > 0), 1))
    sys.exit(1 if any(code > 0 for code in codes) else 0)


if __name__ == "__main__":
    main()
