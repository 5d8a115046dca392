"""Migrate the database at DATABASE_URL and give it a group with an API key and an OAuth client.

Run by conftest.seed_database for servers on a database other than the test database: the
PostgreSQL restart test's private cluster, or a SQLite file of a test's own. The values are written
as JSON to standard output, a pipe read by the test (never a terminal or a log).
"""

import json
import os
import sys
from pathlib import Path


def main():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from credentials.models import AccessToken, ApiKeyCredential, OAuthClient
    from groups.models import Group

    call_command("migrate", verbosity=0)
    group = Group.objects.create(name="Payments", slug="payments")
    _, keys = ApiKeyCredential.create_with_keys(group, "Billing service", None)
    client, secret = OAuthClient.create_with_secret(group, "Checkout", None)
    access_token = AccessToken.objects.issue(client.pk)
    values = {
        "group": group.slug,
        "api_key": keys["primary"],
        "client_id": client.client_id,
        "client_secret": secret,
        "access_token": access_token,
    }
    json.dump(values, sys.stdout)


if __name__ == "__main__":
    main()
