"""The OpenAPI document validates, and every operation answers as it documents (schemathesis).

Schemathesis generates requests for every operation from /api/schema/ and sends them through the
WSGI application with valid credentials: HTTP Basic of a real OAuth client for the token
endpoints, a real API key for the service APIs, a staff user's personal access token for the
management API. Any 5xx, an undocumented status code, a response
that does not match its schema or a request accepted without its credentials fails the test.
"""

import base64

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import positive_data_acceptance

from tests.conftest import (
    API_OPERATIONS,
    MANAGE_OPERATIONS,
    make_api_key,
    make_group,
    make_oauth_client,
    make_user,
    report,
)
from tests.manage.conftest import make_pat

CASES_PER_OPERATION = 60
counted = {"cases": 0, "operations": set()}


@pytest.fixture
def keep_test_connection():
    # Requests sent straight to the WSGI app end by closing the database connection, which would
    # end the test's transaction; Django's test client avoids this the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def valid_credentials(db, settings, keep_test_connection):
    # Schemathesis sends invalid credentials on purpose and expects 401 each time, not the lockout.
    settings.LOCKOUT_THRESHOLD = 1_000_000
    group = make_group("Schema")
    _, keys = make_api_key(group)
    client, secret = make_oauth_client(group)
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    # The management API: a staff user's read-write token, which every operation lets in.
    token = make_pat(make_user("schema-staff", is_staff=True))
    return {"basic": f"Basic {basic}", "api_key": keys["primary"], "token": f"Bearer {token}"}


OPERATIONS = API_OPERATIONS + MANAGE_OPERATIONS


@pytest.fixture(scope="module", autouse=True)
def report_case_count():
    yield
    if counted["cases"]:
        report(
            "schemathesis",
            f"{counted['cases']} generated cases over {len(counted['operations'])} "
            "operations, all conforming",
        )


def credentials_for(path, valid_credentials):
    if path in ("/v2/tokens", "/v2/tokens/revoke", "/v2/tokens/introspect"):
        return {"Authorization": valid_credentials["basic"]}
    if path in ("/v1/whoami", "/v1/verify"):
        return {"X-Api-Key": valid_credentials["api_key"]}
    if path.startswith("/api/manage/"):
        return {"Authorization": valid_credentials["token"]}
    return {}  # /v1/tokens carries its credentials in the body


# Schemathesis's own pytest plugin does not support pytest 9 yet, so Hypothesis drives its strategies.
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented(method, path, valid_credentials):
    operation = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())[path][method]
    headers = credentials_for(path, valid_credentials)

    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=CASES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def answers_as_documented(case):
        # Not positive_data_acceptance: RFC 6749 answers some schema-valid requests with 400 by
        # meaning, not shape (an unknown refresh token is invalid_grant; HTTP Basic together with
        # form credentials is invalid_request). Every other check runs.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
        counted["cases"] += 1
        counted["operations"].add(f"{method} {path}")

    answers_as_documented()


def test_schema_is_valid_openapi(db):
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    document = response.json()
    validate_schema(document)
    assert document["info"]["title"] == "API Authentication API Reference"
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == set(OPERATIONS)  # every operation is documented, and fuzzed above
