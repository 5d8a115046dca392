"""Starting gunicorn as production does (DEBUG off), from a fresh checkout with nothing in the
environment: the development keys make it exit at once, saying what to set; generated keys serve.

The checkout is a copy of the code without `.env`, since the settings read the `.env` beside them.
"""

import http.client
import os
import shutil
import subprocess
import sys
import time

import pytest

from tests.system.support import ROOT, call, free_port, start_gunicorn, stop_process, wait_for

pytestmark = pytest.mark.system(sqlite=True)
NOT_CODE = (".venv", ".env", ".git", "*.sqlite3*", "var", "staticfiles", "test-artifacts", "__pycache__")


@pytest.fixture
def checkout(tmp_path):
    """The project's code as a fresh clone has it: no .env, database, cache or static files."""
    target = tmp_path / "portal"
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(*NOT_CODE, ".*_cache"))
    return target


def gunicorn(checkout, port, log):
    """`gunicorn --config gunicorn.conf.py` in `checkout`, as `make run` starts it, with an
    environment holding only PATH, the port and a home: no key, no DEBUG (off by default)."""
    env = {"PATH": os.environ["PATH"], "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1"}
    # A home of its own, so that gunicorn's control socket (~/.gunicorn/gunicorn.ctl) does not
    # replace that of another server of the same user.
    env["HOME"] = str(checkout.parent)
    return start_gunicorn(checkout, env, log)


def test_gunicorn_refuses_the_development_keys_and_exits(checkout, tmp_path):
    log_path = tmp_path / "gunicorn.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = gunicorn(checkout, free_port(), log)
    try:
        status = process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        raise AssertionError("gunicorn still running 20 s after starting with the development keys") from None
    finally:
        stop_process(process)
    seconds = time.monotonic() - started

    log = log_path.read_text(errors="replace")
    assert status != 0, log[-2000:]
    assert "SECRET_KEY, CREDENTIALS_DIGEST_KEY, CREDENTIALS_ENCRYPTION_KEY" in log
    assert "make run" in log
    assert "python portal/envfile.py .env" in log
    assert seconds < 10


def test_gunicorn_serves_with_generated_keys(checkout, tmp_path):
    subprocess.run([sys.executable, "portal/envfile.py", ".env"], cwd=checkout, check=True, timeout=30)
    port = free_port()
    with (tmp_path / "gunicorn.log").open("wb") as log:
        process = gunicorn(checkout, port, log)
    try:
        wait_for(lambda: process.poll() is not None or _answers(port), 30, "the portal")
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text(errors="replace")[-2000:]
        response = call(port, "GET", "/healthz")
    finally:
        stop_process(process)

    assert response.status == 200
    assert response.body == b"ok"


def _answers(port):
    try:
        call(port, "GET", "/healthz", timeout=2)
    except (OSError, http.client.HTTPException):
        return False
    return True
