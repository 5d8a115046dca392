"""The catalogues are complete: no entry untranslated or fuzzy, and nothing `makemessages` would add.

`makemessages` runs on a copy of the project's sources and catalogues in a temporary directory, so
the repository is never rewritten; any msgid it adds comes out untranslated, and any it guesses
from a near one comes out fuzzy. GNU gettext (Debian's `gettext`) does the reading and writing.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOGUES = sorted(ROOT.glob("locale/*/LC_MESSAGES/django.po"))
# What makemessages reads: the apps' Python and templates, and the catalogues themselves.
SOURCES = ["accounts", "automation", "credentials", "groups", "portal", "templates", "locale", "manage.py"]

pytestmark = [
    pytest.mark.skipif(not CATALOGUES, reason="no catalogue yet: locale/*/LC_MESSAGES/django.po"),
    pytest.mark.skipif(not shutil.which("msgattrib"), reason="GNU gettext is missing: install gettext"),
]


def incomplete_entries(catalogue):
    """The msgids of the entries that are untranslated or fuzzy, as msgattrib lists them."""
    found = []
    for option in ("--untranslated", "--only-fuzzy"):
        # gettext's msgattrib, on the repository's own catalogue.
        out = subprocess.run(  # noqa: S603
            ["msgattrib", option, "--no-obsolete", "--no-location", "--no-wrap", str(catalogue)],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        found += [f"{option[2:]}: {line[6:]}" for line in out.splitlines() if line.startswith("msgid ")]
    return [entry for entry in found if not entry.endswith(': ""')]  # the header


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda path: path.parts[-3])
def test_every_entry_is_translated_and_none_is_fuzzy(catalogue):
    assert not incomplete_entries(catalogue)


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=lambda path: path.parts[-3])
def test_makemessages_would_add_nothing(catalogue, tmp_path):
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
        else:
            shutil.copy(source, tmp_path / name)
    language = catalogue.parts[-3]
    # This project's manage.py, on a copy of its sources.
    subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "--locale",
            language,
            "--no-location",
            "--verbosity",
            "0",
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    extracted = tmp_path / catalogue.relative_to(ROOT)
    assert not incomplete_entries(extracted), "strings not in the catalogue yet: run makemessages"
