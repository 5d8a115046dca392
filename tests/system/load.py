"""A small load generator for the fault tests: threads, one connection per request, on 127.0.0.1.

Every request is recorded as an Outcome (when it was sent, how long it took, its status or the
connection error), so a test can judge each period of a fault separately.
"""

import http.client
import itertools
import json
import threading
import time
from dataclasses import dataclass, field

from tests.system.support import basic_auth, call

FORM_GRANT = "grant_type=client_credentials"
JSON = {"Content-Type": "application/json"}


@dataclass
class Outcome:
    operation: str
    sent: float  # time.monotonic() when the request was sent
    seconds: float
    status: int | None  # None: no answer (connection refused, reset or closed)
    retry_after: str | None = None
    error_code: str | None = None
    failure: str | None = None  # without an answer: the exception, e.g. "ConnectionResetError"

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    @property
    def refused(self):
        """Refused before any request was sent: the server had stopped accepting connections."""
        return self.failure == "ConnectionRefusedError"


@dataclass
class Client:
    """The values one load thread uses, and what it was given (issued tokens, refresh chains)."""

    api_key: str
    client_id: str
    client_secret: str
    access_tokens: list = field(default_factory=list)
    chains: list = field(default_factory=list)  # the current refresh token of each chain
    chains_abandoned: int = 0
    refreshes: int = 0


class Load:
    """A thread per client running `operations` in turn against `port` until stop(), `pause` seconds
    apart; with `tls` (an ssl.SSLContext), over HTTPS."""

    def __init__(self, port, clients, operations, pause=0.0, tls=None):
        self.port, self.clients, self.operations = port, clients, operations
        self.pause, self.tls = pause, tls
        self.outcomes, self.lock = [], threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(c,), daemon=True) for c in clients]

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _run(self, client):
        for name in itertools.cycle(self.operations):
            if self.stopping.is_set():
                return
            getattr(self, f"_{name}")(client)
            self.stopping.wait(self.pause)

    def _send(self, operation, method, path, headers, body=None):
        sent = time.monotonic()
        try:
            response = call(self.port, method, path, headers, body, timeout=10, tls=self.tls)
        except (OSError, http.client.HTTPException) as failure:
            outcome = Outcome(operation, sent, time.monotonic() - sent, None, failure=type(failure).__name__)
            response = None
        else:
            error = None
            if response.status >= 400 and response.headers.get("content-type") == "application/json":
                error = response.json().get("error")
            outcome = Outcome(
                operation, sent, response.seconds, response.status, response.headers.get("retry-after"), error
            )
        with self.lock:
            self.outcomes.append(outcome)
        return response

    def _verify_key(self, client):
        self._send("verify", "GET", "/v1/verify", {"X-Api-Key": client.api_key})

    def _page(self, client):
        self._send("page", "GET", "/accounts/login/", {})

    def _verify_token(self, client):
        if client.access_tokens:
            token = client.access_tokens[len(self.outcomes) % len(client.access_tokens)]
            self._send("verify", "GET", "/v1/verify", {"X-Access-Token": token})

    def _issue_v2(self, client):
        headers = basic_auth(client.client_id, client.client_secret)
        response = self._send("issue v2", "POST", "/v2/tokens", headers, FORM_GRANT)
        if response is not None and response.status == 200:
            client.access_tokens.append(response.json()["access_token"])

    def _issue_v1(self, client):
        body = json.dumps({"clientId": client.client_id, "clientSecret": client.client_secret})
        response = self._send("issue v1", "POST", "/v1/tokens", JSON, body)
        if response is not None and response.status == 201:
            client.access_tokens.append(response.json()["accessToken"])
            client.chains.append(response.json()["refreshToken"])

    def _refresh(self, client):
        """PATCH /v1/tokens. A request left without an answer is sent again at once, as a client
        whose response was lost does (the refresh grace window); if that one is lost too the
        chain is given up, since its state is unknown."""
        if not client.chains:
            return
        client.refreshes += 1
        chain = client.refreshes % len(client.chains)
        body = json.dumps({"refreshToken": client.chains[chain]})
        for _ in range(2):
            response = self._send("refresh", "PATCH", "/v1/tokens", JSON, body)
            if response is not None:
                break
        if response is None:
            del client.chains[chain]
            client.chains_abandoned += 1
        elif response.status == 200:
            client.access_tokens.append(response.json()["accessToken"])
            client.chains[chain] = response.json()["refreshToken"]
