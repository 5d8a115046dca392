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
    servers = [
        subprocess.Popen(  # noqa: S603 (this virtualenv's gunicorn, no outside input)
            [gunicorn, "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env={**os.environ, "POOL": pool, "PORT": str(pool_port)},
        )
        for pool, pool_port in (("api", api_port), ("portal", port))
    ]
    print(f"\nPortal: http://{host}:{port}/\nAPI for applications and gateways: http://{host}:{api_port}/\n")

    def stop(signum=signal.SIGTERM, frame=None):
        for server in servers:
            if server.poll() is None:
                server.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # the terminal sent it to both servers too
    while all(server.poll() is None for server in servers):
        time.sleep(0.5)
    stop()
    codes = [server.wait() for server in servers]
    sys.exit(next((code for code in codes if code), 0))


if __name__ == "__main__":
    main()
