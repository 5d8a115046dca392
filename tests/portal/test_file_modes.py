"""Files the portal creates hold its keys (`.env`) or its sessions and digests (the SQLite database):
readable and writable by their owner only (0600), whatever the umask, from the moment they exist."""

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from portal import envfile

ROOT = Path(__file__).resolve().parents[2]


def mode(path):
    """The permission bits of `path` in octal, as ls and chmod write them: "0o600"."""
    return oct(stat.S_IMODE(path.stat().st_mode))


@pytest.fixture(autouse=True)
def usual_umask():
    """The umask most shells have (files 0644), whatever this run's is."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_env_file_is_created_0600(tmp_path, monkeypatch):
    # Without any chmod after the fact: the keys are never readable by others, not even for the
    # moment between writing them and a chmod.
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)

    envfile.main(tmp_path / ".env")

    assert mode(tmp_path / ".env") == "0o600"
    assert "CREDENTIALS_DIGEST_KEY=" in (tmp_path / ".env").read_text()


def test_the_env_file_is_left_alone_when_it_exists(tmp_path):
    existing = tmp_path / ".env"
    existing.write_text("SECRET_KEY=mine\n")

    envfile.main(existing)

    assert existing.read_text() == "SECRET_KEY=mine\n"


def test_the_sqlite_database_made_by_migrate_is_0600(tmp_path):
    database = tmp_path / "db.sqlite3"
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DATABASE_URL=f"sqlite:///{database}", CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    # The write-ahead log and its index exist while a connection is open (settings.py sets WAL).
    with contextlib.closing(sqlite3.connect(database)) as other:
        other.execute("CREATE TABLE probe (n INTEGER)")
        files = sorted(tmp_path.glob("db.sqlite3*"))

        assert [path.name for path in files] == [
            "db.sqlite3",
            "db.sqlite3-shm",
            "db.sqlite3-wal",
            "db.sqlite3-writers",
        ]
        assert {path.name: mode(path) for path in files} == {path.name: "0o600" for path in files}
