"""Start the test OpenID Connect provider in a process of its own, set it up, and stop it.

It runs under gunicorn on a free port of 127.0.0.1 with its own settings and database in a
temporary directory, so it shares nothing with the portal that the tests run beside it.
"""

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.oidc_provider.tampering import MODES

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
PASSWORD = "provider password 42"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rsa_pem():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class Provider:
    """One provider process and its one confidential client.

    `issuer`, `client_id` and `client_secret` are what a relying party is configured with;
    `add_user`, `allow_redirect_uri` and `set_mode` change the provider while it runs.
    """

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = secrets.token_hex(12)
        self.client_secret = secrets.token_urlsafe(32)
        self.redirect_uris = []
        self.process = None
        self._control_token = secrets.token_urlsafe(32)
        self._log = self.directory / "provider.log"

    def _environment(self):
        # Only what the provider reads, besides PATH: none of the portal's settings reach it.
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
            "OIDC_PROVIDER_DIR": str(self.directory),
            "OIDC_PROVIDER_ISSUER": self.issuer,
            "OIDC_PROVIDER_CONTROL_TOKEN": self._control_token,
            "OIDC_PROVIDER_SECRET_KEY": secrets.token_urlsafe(50),
            "OIDC_PROVIDER_RSA_KEY": _rsa_pem(),
        }

    def start(self, seconds=30):
        """Create the database, start gunicorn, wait until discovery answers, register the client."""
        try:
            self._serve(seconds)
            self._control("client/", self._client())
        except BaseException:
            self.stop()
            raise
        return self

    def _serve(self, seconds):
        env = self._environment()
        migrate = [sys.executable, "-m", "django", "migrate", "--run-syncdb", "--verbosity", "0"]
        serve = [str(GUNICORN), "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "4"]
        serve += ["--no-control-socket", "tests.oidc_provider.wsgi"]
        with self._log.open("ab") as log:
            if subprocess.run(migrate, cwd=self.directory, env=env, stdout=log, stderr=log).returncode == 0:
                self.process = subprocess.Popen(
                    serve, cwd=self.directory, env=env, stdout=log, stderr=log, start_new_session=True
                )
        deadline = time.monotonic() + seconds
        while self.process is None or not self._answers():
            if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the OIDC provider did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def _answers(self):
        try:
            return requests.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1).ok
        except requests.ConnectionError:
            return False

    def stop(self):
        """SIGTERM gunicorn's process group (its master's id), wait, and remove the directory."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self):
        """What the provider wrote: gunicorn's messages and Django's warnings and errors."""
        try:
            return self._log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log().splitlines()[-lines:])

    def _control(self, what, data):
        answer = requests.post(
            f"{self.issuer}/control/{what}",
            json=data,
            headers={"Authorization": f"Bearer {self._control_token}"},
            timeout=10,
        )
        if answer.status_code != 204:
            raise RuntimeError(f"control/{what} answered {answer.status_code}: {answer.text[:200]}")

    def _client(self):
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": self.redirect_uris,
        }

    def add_user(self, username, password=PASSWORD, email="", name="", groups=(), email_verified=True):
        """Create a user who can sign in on the provider, or replace their claims."""
        self._control(
            "user/",
            {
                "username": username,
                "password": password,
                "email": email,
                "name": name,
                "groups": list(groups),
                "email_verified": email_verified,
            },
        )

    def allow_redirect_uri(self, uri):
        """Register one more redirect URI on the client (e.g. a live server's callback)."""
        if uri not in self.redirect_uris:
            self.redirect_uris.append(uri)
            self._control("client/", self._client())

    def set_mode(self, mode):
        """From now on the token endpoint's ID tokens are `mode`: normal, or one defect."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self._control("mode/", {"mode": mode})

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


if __name__ == "__main__":
    # By hand, to try a relying party against it: python -m tests.oidc_provider.launcher CALLBACK_URI
    with Provider() as provider:
        for uri in sys.argv[1:]:
            provider.allow_redirect_uri(uri)
        provider.add_user("ada", email="ada@example.com", name="Ada Lovelace", groups=["payments"])
        print(f"issuer {provider.issuer}, client id {provider.client_id}")
        print(f"client secret {provider.client_secret}")
        print(f"user ada, password {PASSWORD!r}. Ctrl-C stops it.")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
