"""/readyz: 200 when the database answers with every migration applied (and Redis where set)."""

from django.conf import settings
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from portal import readiness


def test_ready_when_the_database_answers_and_is_migrated(db):
    response = Client().get("/readyz")

    assert response.status_code == 200
    checks = {"database": "ok", "migrations": "ok", **({"redis": "ok"} if settings.REDIS_URL else {})}
    assert response.json() == {"status": "ready", "checks": checks}
    assert response["Cache-Control"] == "no-store"


def test_an_unapplied_migration_is_not_ready(db, monkeypatch):
    monkeypatch.setattr(readiness, "_migrated", False)
    MigrationRecorder.Migration.objects.filter(app="credentials").order_by("-id")[:1].get().delete()

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "unapplied"


def test_an_unreachable_redis_is_not_ready(db, settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    monkeypatch.setattr(readiness, "_redis", None)

    response = Client().get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "unreachable"}


def test_readyz_refuses_writes(client):
    assert client.post("/readyz").status_code == 405
