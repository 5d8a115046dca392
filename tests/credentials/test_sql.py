"""credentials/sql.py: statements only, over the models' own tables."""

import ast
from pathlib import Path

from django.apps import apps

from credentials import sql


def test_the_table_names_are_the_models():
    models = apps.get_app_config("credentials").get_models()
    tables = {
        model._meta.db_table for model in models if model._meta.model_name != "reveal"
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
