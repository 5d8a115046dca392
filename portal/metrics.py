"""The Prometheus metrics, each defined once here and counted where its event happens.

Under gunicorn every worker writes its values to files in PROMETHEUS_MULTIPROC_DIR, which
gunicorn.conf.py sets before the first worker starts, and /metrics sums them; without it (tests,
runserver) one process's registry answers. Labels take only values from fixed sets or group slugs
of known credentials, never anything a caller sends. METRICS=false counts nothing (the benchmark's
comparison, docs/performance.md).
"""

import os

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from portal import readiness

# Buckets around the verify p99 objective of 50 ms (deploy/prometheus/alerts.yml).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# Outcomes of a verification besides those of credentials.models.CredentialRefused (expired,
# revoked, suspended). wrong: no credential matches the value (malformed, made up, regenerated,
# deleted), so it names no group.
ACCEPTED, WRONG, SCOPE, ADDRESS, RATE_LIMITED = "accepted", "wrong", "scope", "address", "rate_limited"
# Methods: key (X-Api-Key), token (an access token), "-" for a request that sent neither.
METHODS = {"api_key": "key", "access_token": "token"}
NO_GROUP = "-"


class _Off:
    """Stands for every metric when METRICS is false: each call does nothing."""

    def labels(self, *args, **kwargs):
        return self

    def inc(self, amount=1):
        pass

    def observe(self, amount):
        pass


def _counter(name, documentation, labels=()):
    return Counter(name, documentation, labels) if settings.METRICS else _Off()


def _histogram(name, documentation, labels=()):
    return Histogram(name, documentation, labels, buckets=LATENCY_BUCKETS) if settings.METRICS else _Off()


VERIFICATIONS = _counter(
    "portal_verifications",
    "Credential verifications by the service APIs (/v1/verify, /v1/whoami), by method, outcome and group.",
    ["method", "outcome", "group"],
)
VERIFICATION_MEMORY = _counter(
    "portal_verification_memory_lookups",
    "Lookups in a worker's memory of recently verified credentials: hit or miss.",
    ["result"],
)
# One histogram for both the time and the count of answers by status: one update per request.
API_LATENCY = _histogram(
    "portal_api_request_duration_seconds",
    "Time the API views take to answer, by endpoint (URL name), method and status code.",
    ["endpoint", "method", "status"],
)
TOKENS_ISSUED = _counter("portal_tokens_issued", "Access tokens issued by POST, by endpoint.", ["endpoint"])
REFRESH_ROTATIONS = _counter("portal_refresh_rotations", "Refresh tokens exchanged for a new pair.")
REFRESH_REUSE = _counter(
    "portal_refresh_token_reuse",
    "Used refresh tokens presented again: their chain is revoked (a theft signal).",
)
REVOCATIONS = _counter(
    "portal_token_revocations",
    "Token revocations: access_token and refresh_chain (RFC 7009), client (all of a client's tokens).",
    ["kind"],
)
CLIENT_AUTH_FAILURES = _counter(
    "portal_client_auth_failures",
    "Failed client authentications at the token endpoints (locked pairs included).",
)
LOCKOUTS = _counter(
    "portal_lockouts",
    "Lockouts started: client (client ID and address) or sign_in (portal sign-in).",
    ["kind"],
)
SIGN_IN_FAILURES = _counter(
    "portal_sign_in_failures", "Failed portal sign-ins (passwords and second factors)."
)
DATABASE_ERRORS = _counter(
    "portal_database_errors", "Requests that failed because the database could not be reached (503)."
)


_children = {}


def child(metric, *labels):
    """`metric.labels(*labels)`, kept once found: this lookup costs the hot path less than
    prometheus_client's, which checks and converts the labels at every call."""
    try:
        return _children[metric, labels]
    except KeyError:
        found = _children[metric, labels] = metric.labels(*labels)
        return found


def http_method(method, allowed):
    """The request's method as a label: one of `allowed` (fixed names), else "other"."""
    return method.lower() if method.lower() in allowed else "other"


class _Readiness:
    """portal_ready and each readiness check (portal.readiness), as found at this scrape."""

    def __init__(self, results):
        self.results = results

    def collect(self):
        ready = GaugeMetricFamily("portal_ready", "1 when this server can serve (/readyz says 200), else 0.")
        ready.add_metric([], float(readiness.ready(self.results)))
        check = GaugeMetricFamily(
            "portal_readiness_check", "Each readiness check: 1 when it passed, else 0.", labels=["check"]
        )
        for name, result in self.results.items():
            check.add_metric([name], float(result == "ok"))
        return [ready, check]


def exposition(readiness):
    """The metrics' text format and its content type: every worker's, summed, under gunicorn, and
    `readiness` (portal.readiness.checks()) as gauges."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_Readiness(readiness)), CONTENT_TYPE_LATEST
