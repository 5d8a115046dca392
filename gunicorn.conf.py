"""gunicorn settings for `make run` and production (docs/deploy.md); every value can come from the
environment or .env."""

import gc
import os

import environ
from gunicorn import glogging

env = environ.Env()
environ.Env.read_env(".env")

bind = f"{env.str('HOST', default='127.0.0.1')}:{env.int('PORT', default=8000)}"
# Sync workers, one per core on SQLite and two per core on PostgreSQL, measured best on the hot
# paths (docs/performance.md, "Worker class"): a worker waiting for PostgreSQL leaves its core to
# another, where SQLite answers in the worker's own process.
_per_core = 2 if env.str("DATABASE_URL", default="").startswith(("postgres:", "postgresql:", "pgsql:")) else 1
workers = env.int("WEB_CONCURRENCY", default=_per_core * (os.cpu_count() or 2))
worker_class = env.str("GUNICORN_WORKER_CLASS", default="sync")
threads = env.int("GUNICORN_THREADS", default=1)
# Gateways and services keep connections open between calls (gthread workers honour keep-alive).
keepalive = env.int("GUNICORN_KEEPALIVE", default=5)
# A request still running after this many seconds is killed with its worker (which is replaced);
# graceful_timeout is what a restart gives running requests to finish.
timeout = env.int("GUNICORN_TIMEOUT", default=30)
graceful_timeout = env.int("GUNICORN_GRACEFUL_TIMEOUT", default=30)
wsgi_app = "portal.wsgi:application"
# The access log carries method, path (no query string), status and timing, never request headers
# or bodies (credentials). ACCESS_LOG=off turns it off (the benchmark does); a path writes a file.
accesslog = None if env.str("ACCESS_LOG", default="-") == "off" else env.str("ACCESS_LOG", default="-")
# The last field is the request id, also in the app's log lines and Activity (portal/context.py).
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms %({x-request-id}o)s'
errorlog = env.str("ERROR_LOG", default="-")


class AccessLogger(glogging.Logger):
    """gunicorn's logger, with %(U)s the path as the client sent it, still percent-encoded: gunicorn
    gives the decoded path, in which a %0a starts a line of its own that looks like a real one."""

    def atoms(self, resp, req, wsgi_env, request_time):
        atoms = super().atoms(resp, req, wsgi_env, request_time)
        atoms["U"] = wsgi_env["RAW_URI"].partition("?")[0]  # gunicorn escapes its quotes
        return atoms


logger_class = AccessLogger


def post_worker_init(worker):
    """The app's modules, URLconf and templates, loaded now, live as long as the worker: freezing
    them spares the garbage collector from scanning them again at every full collection (the
    tab's p99 roughly halved, docs/performance.md)."""
    gc.freeze()
