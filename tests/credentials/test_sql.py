"""credentials/sql.py: statements only, over the models' own tables."""

import ast
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.utils import timezone

from credentials import sql
from credentials.models import AccessToken, TokenFamily
from tests.conftest import make_oauth_client, needs_postgresql


def test_the_table_names_are_the_models():
    models = apps.get_app_config("credentials").get_models()
    tables = {
        model._meta.db_table for model in models if model._meta.model_name not in {"reveal", "reminder"}
    }  # not on the hot path
    tables.add(apps.get_model("groups", "Group")._meta.db_table)
    named = {value for name, value in vars(sql).items() if name.isupper() and value in tables}

    assert named == tables


def test_it_imports_nothing_of_the_app():
    tree = ast.parse(Path(sql.__file__).read_text())
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    ]

    assert not [name for name in imported if name.split(".")[0] in {"credentials", "groups"}]


def _setting(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s)", [name])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_issuing_commits_quickly_and_only_the_issue(cast, settings):
    """The issuing statement's own transaction skips the WAL flush wait; the connection keeps
    synchronous_commit on for what comes next (a revocation, a lockout, Activity)."""
    needs_postgresql()
    client, secret = make_oauth_client(cast.group)
    wrong = {"client_id": client.client_id, "client_secret": "gps_" + "x" * 43}

    form = "application/x-www-form-urlencoded"
    body = urlencode({"client_id": client.client_id, "client_secret": secret})
    assert Client().post("/v2/tokens", body, content_type=form).status_code == 200
    assert _setting("synchronous_commit") == "on"

    # The statement alone, in its own transaction, reports the setting it commits with.
    with connection.cursor() as cursor:
        cursor.execute(
            sql.AUTHENTICATE_AND_ISSUE_ACCESS_TOKEN.replace("SELECT auth.*, new.*", "SELECT set_config"),
            {
                "now": timezone.now(),
                "client_key": "k",
                "address": "",
                "digest": "",
                "client_id": "",
                "access_digest": "d",
                "access_expires_at": timezone.now(),
            },
        )
        assert cursor.fetchone()[0] == "off"
    assert _setting("synchronous_commit") == "on"

    # A refusal's failure count, written after it on the same connection, waits for the flush.
    assert Client().post("/v2/tokens", urlencode(wrong), content_type=form).status_code == 401
    assert _setting("synchronous_commit") == "on"


@pytest.mark.django_db
def test_digests_have_one_unique_index_each_and_no_pattern_index():
    needs_postgresql()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE tablename LIKE 'credentials_%%' "
            "AND indexdef LIKE '%%(digest%%'"
        )
        definitions = cursor.fetchall()

    tables = {
        "credentials_apikey",
        "credentials_clientsecret",
        "credentials_accesstoken",
        "credentials_refreshtoken",
    }
    assert sorted(table for table, _ in definitions) == sorted(tables)
    assert all("UNIQUE" in definition and "pattern_ops" not in definition for _, definition in definitions)


@pytest.mark.django_db
def test_access_tokens_of_no_family_are_not_in_the_family_index(cast):
    client, _ = make_oauth_client(cast.group)
    AccessToken.objects.issue(client.pk)
    TokenFamily.objects.start(client.pk)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'access_token_family'")
        else:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = 'access_token_family'")
        (definition,) = cursor.fetchone()

    assert "WHERE family_id IS NOT NULL" in "".join(c for c in definition if c not in '()"')
    assert AccessToken.objects.filter(family__isnull=False).count() == 1
