"""gunicorn settings for `make run` and production (docs/deploy.md); every value can come from the
environment or .env."""

import ctypes
import gc
import os
import shutil
import signal
import socket
import struct
import time

import environ
from gunicorn import glogging
from gunicorn.workers import sync

env = environ.Env()
environ.Env.read_env(".env")

bind = f"{env.str('HOST', default='127.0.0.1')}:{env.int('PORT', default=8000)}"
# POOL=api serves the API alone, POOL=portal the pages (and the API too, where nothing routes it
# away): two servers, so that sign-ins and pages never hold the API's workers (docs/deploy.md).
pool = env.str("POOL", default="portal")
proc_name = f"portal-{pool}"
# The API's sync workers: one per core on SQLite and two per core on PostgreSQL, measured best on
# the hot paths (docs/performance.md, "Worker class"): a worker waiting for PostgreSQL leaves its
# core to another, where SQLite answers in the worker's own process. The portal's: two.
_per_core = 2 if env.str("DATABASE_URL", default="").startswith(("postgres:", "postgresql:", "pgsql:")) else 1
workers = env.int("WEB_CONCURRENCY", default=_per_core * (os.cpu_count() or 2) if pool == "api" else 2)
# One control socket (gunicornc) per server, in var/ (writable under the systemd units), so that
# the pools and servers of one machine do not take each other's.
os.makedirs("var", exist_ok=True)
control_socket = f"var/gunicorn-{pool}-{env.int('PORT', default=8000)}.ctl"
# Each worker writes its Prometheus values into this server's own directory, where /metrics sums
# them (portal.metrics); set before any worker loads prometheus_client, which reads it then. The
# directory is emptied when the server starts: its counts start again from zero, as Prometheus expects.
METRICS_DIR = os.path.abspath(f"var/metrics-{pool}-{env.int('PORT', default=8000)}")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR
# The portal's processes run at this niceness: when both pools want the processor, the API's get
# it first, so a storm of sign-ins (each an Argon2 hash) slows the portal, not verification.
portal_nice = env.int("PORTAL_NICE", default=10)
# The sync class is DrainingSyncWorker (below): gunicorn's, emptying its queue when the server stops.
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


def worker_exit(server, worker):
    """Write the worker's usage counts not yet flushed (credentials.usage) before it goes."""
    from credentials import usage  # the app is loaded by now: the config file loads before it

    usage.counter.flush()


def child_exit(server, worker):
    """Mark the worker's Prometheus values as a dead process's: its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


# Stopping without dropping a connection (audit finding 9). On SIGTERM gunicorn closes its copy
# of the listening socket and each worker exits after its current request; the socket closes with
# the last of them, and the kernel resets every connection still in its queue: connections it had
# completed the handshake for, whose clients had sent their request. nginx cannot know whether the
# app saw such a request, so it retries only idempotent ones: a POST got a 502. A stopping server
# therefore first makes the socket ignore new handshakes, then its workers answer everything queued
# before they exit. A client whose SYN was ignored sends it again a second later and is refused
# (or reaches the server started in its place); nginx tries the other server after 500 ms
# (deploy/nginx/portal-proxy.conf).

# A classic BPF socket filter, run by the kernel on each packet reaching the listening socket: a
# TCP segment with SYN set and ACK clear (byte 13 of the TCP header) is dropped, anything else is
# kept, so handshakes already under way still complete.
_IGNORE_NEW_HANDSHAKES = b"".join(
    struct.pack("HBBI", code, jump_true, jump_false, k)
    for code, jump_true, jump_false, k in [
        (0x30, 0, 0, 13),  # A = the TCP flags
        (0x54, 0, 0, 0x12),  # A &= SYN | ACK
        (0x15, 0, 1, 0x02),  # A == SYN? the next instruction, else the one after
        (0x06, 0, 0, 0),  # drop
        (0x06, 0, 0, 0xFFFFFFFF),  # keep
    ]
)
SO_ATTACH_FILTER = SO_GET_FILTER = 26  # Linux, <asm-generic/socket.h>
SETTLE_SECONDS = 0.01  # for a handshake under way when the queue was found empty


def ignore_new_handshakes(listener):
    """Make a TCP listening socket ignore new handshakes; those queued can still be accepted."""
    program = ctypes.create_string_buffer(_IGNORE_NEW_HANDSHAKES, len(_IGNORE_NEW_HANDSHAKES))
    fprog = struct.pack("@HP", len(_IGNORE_NEW_HANDSHAKES) // 8, ctypes.addressof(program))
    listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


def ignores_new_handshakes(listener):
    try:
        return bool(listener.getsockopt(socket.SOL_SOCKET, SO_GET_FILTER, 64))
    except OSError:
        return False


def on_starting(server):
    shutil.rmtree(METRICS_DIR, ignore_errors=True)
    os.makedirs(METRICS_DIR)
    if pool == "portal" and portal_nice > 0:
        os.nice(portal_nice)  # the workers inherit it
        # With autogroup scheduling (Linux's default on desktops and many servers), each session
        # shares the processor as a group, whatever its processes' niceness: a server leading its
        # own session (make run's, a systemd service) lowers its group's share too.
        if os.getsid(0) == os.getpid():
            try:
                with open("/proc/self/autogroup", "w") as autogroup:
                    autogroup.write(str(portal_nice))
            except OSError:  # no autogroup in this kernel
                pass


def when_ready(server):
    """On SIGTERM, before gunicorn closes its listening sockets and stops the workers, make them
    ignore new handshakes, so that the workers can empty their queues for good."""
    gunicorn_handler = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        # Not when the sockets outlive this master (passed by systemd, or to a master started by
        # USR2) or are each worker's own (reuse_port): the filter would stay on them.
        if server.reexec_pid == server.master_pid == 0 and not server.systemd and not server.cfg.reuse_port:
            for listener in server.LISTENERS:
                if listener.family not in (socket.AF_INET, socket.AF_INET6):
                    continue
                try:
                    ignore_new_handshakes(listener)
                except OSError as error:  # not Linux: stop as gunicorn does
                    server.log.warning("Stopping resets the connections still queued: %s", error)
        gunicorn_handler(signum, frame)

    signal.signal(signal.SIGTERM, on_sigterm)


class DrainingSyncWorker(sync.SyncWorker):
    """gunicorn's sync worker, which, when the whole server stops (its listening sockets ignore new
    handshakes), also answers the connections still queued before it exits."""

    def run(self):
        super().run()
        if not any(map(ignores_new_handshakes, self.sockets)):
            return  # a reload, or this worker alone replaced: the sockets and their queues go on
        settled = False
        while True:
            answered = [self.answer_queued(listener) for listener in self.sockets]
            if any(answered):
                settled = False
            elif settled:
                return
            else:
                time.sleep(SETTLE_SECONDS)
                settled = True

    def answer_queued(self, listener):
        """Accept and answer every connection queued on `listener` (non-blocking); True if any."""
        answered = False
        while True:
            self.notify()
            try:
                self.accept(listener)
            except BlockingIOError:
                return answered
            except ConnectionAbortedError:
                continue
            answered = True


if worker_class == "sync" and threads == 1:
    worker_class = DrainingSyncWorker
