"""No usable value in the database, a log record, a model's text or the admin."""

import logging
import re

from cryptography.fernet import Fernet
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from credentials import secrets, usage
from credentials.models import ApiKey, KeyUsage, Slot
from credentials.secrets import Kind
from tests.conftest import client_for, make_api_key, make_user, versioned

NEW = "/groups/payments/api-keys/new/"
WHOAMI = "/v1/whoami"
SECRET_ELEMENT = re.compile(r'data-secret="([\w-]+)"[^>]*>([^<]*)<')


def revealed(response):
    """The values shown in clear on the page."""
    return [value for _, value in SECRET_ELEMENT.findall(response.content.decode())]


def exercise_portal_and_api(cast):
    """Create, show, regenerate and use keys as an owner and an application; returns every value."""
    owner, application = client_for(cast.owner), Client()
    values = revealed(owner.post(NEW, {"name": "Billing app"}, follow=True))
    credential = cast.group.api_key_credentials.get()
    base = f"/groups/payments/api-keys/{credential.public_id}"
    values += revealed(owner.post(f"{base}/secondary/show/", follow=True))
    values += revealed(owner.post(versioned(f"{base}/primary/regenerate/", credential), follow=True))
    for value in values:
        application.get(WHOAMI, headers={"X-Api-Key": value})
    usage.counter.flush()  # the usage tables hold ids and addresses, scanned like every table
    assert len(set(values)) == 3
    return values


def leaked(values, texts):
    """The values, or their random part, found in any of the texts."""
    return [value for value in values for text in texts if value in text or value[4:-6] in text]


def stored_text():
    """Every non-null value of every column of every table, as text."""
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                yield from (
                    bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v) for v in row
                )


def test_no_table_holds_a_value_in_clear(cast):
    values = exercise_portal_and_api(cast)

    texts = list(stored_text())

    assert leaked(values, texts) == []
    # The scan does see the keys table: each current key is there as its digest.
    assert secrets.digest(values[-1]) in texts
    # And the usage table, which the uses above filled.
    assert KeyUsage.objects.filter(last_method="whoami").exists()


def failing_requests(cast, settings, value):
    """A wrong key, a one-character typo of a real key, and a show that fails with a server error."""
    wrong, typo = secrets.generate(Kind.API_KEY), value[:-1] + ("B" if value.endswith("A") else "A")
    application = Client()
    assert application.get(WHOAMI, headers={"X-Api-Key": wrong}).status_code == 401
    assert application.get(WHOAMI, headers={"X-Api-Key": typo}).status_code == 401
    settings.CREDENTIALS_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    owner = Client(raise_request_exception=False)
    owner.force_login(cast.owner)
    public_id = cast.group.api_key_credentials.get().public_id
    response = owner.post(f"/groups/payments/api-keys/{public_id}/primary/show/")
    assert response.status_code == 500
    return [wrong, typo]


def test_no_log_record_holds_a_value(cast, caplog, settings):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    connection.force_debug_cursor = True
    try:
        values = exercise_portal_and_api(cast)
        values += failing_requests(cast, settings, values[0])
    finally:
        connection.force_debug_cursor = False

    texts = [f"{record.getMessage()} {record.args!r}" for record in caplog.records] + [caplog.text]
    assert leaked(values, texts) == []
    assert any(record.name == "django.db.backends" for record in caplog.records)
    assert any(record.exc_info and record.name == "django.request" for record in caplog.records)


def test_str_and_repr_show_the_hint_at_most(cast):
    credential, values = make_api_key(cast.group)
    keys = list(credential.keys.all())

    texts = [str(credential), repr(credential), *map(str, keys), *map(repr, keys)]

    assert leaked(values.values(), texts) == []
    assert str(credential.key(Slot.PRIMARY)) == f"Billing app primary (gpk_…{values[Slot.PRIMARY][-4:]})"


def test_admin_changelist_does_not_reveal_values(cast):
    _, values = make_api_key(cast.group)
    superuser = make_user("root", is_staff=True, is_superuser=True)

    response = client_for(superuser).get(reverse("admin:credentials_apikeycredential_changelist"))

    assertContains(response, "Billing app")
    assert leaked(values.values(), [response.content.decode()]) == []


def test_keys_have_no_admin_page_of_their_own():
    # Keys appear only as a read-only inline of their credential, with hints and usage.
    assert ApiKey not in admin.site._registry


def test_admin_change_page_shows_hints_but_no_value_digest_or_ciphertext(cast):
    credential, values = make_api_key(cast.group)
    superuser = make_user("root", is_staff=True, is_superuser=True)

    response = client_for(superuser).get(
        reverse("admin:credentials_apikeycredential_change", args=[credential.pk])
    )

    assertContains(response, f"gpk_…{values[Slot.PRIMARY][-4:]}")
    assert leaked(values.values(), [response.content.decode()]) == []
    for key in credential.keys.all():
        assertNotContains(response, key.digest)
        assertNotContains(response, key.encrypted)
