"""Portal hardening: headers, production settings, cookies, sign-in lockout and the last-resort error
answers (security-requirements.md sections 4 and 7). Session limits and re-authentication are in
tests/accounts/."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import OperationalError
from django.test import Client, RequestFactory

from credentials.models import AccessToken
from credentials.secrets import Kind, generate
from portal.views import server_error
from tests.conftest import PASSWORD, client_for, make_api_key, make_oauth_client

ROOT = Path(__file__).resolve().parents[2]
EVIL = "https://evil.example"


def production_environment(**extra):
    """What docs/deploy.md tells an operator to set, with freshly generated keys."""
    env = {
        key: value
        for key, value in os.environ.items()
        # Not this test run's database, nor the browser tests' permission for sync code in async.
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "DEBUG",
            "SECRET_KEY",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    env.update(
        DEBUG="false",
        HTTPS="true",
        ALLOWED_HOSTS="portal.example.com",
        CSRF_TRUSTED_ORIGINS="https://portal.example.com",
        SECRET_KEY=secrets.token_urlsafe(50),
        CREDENTIALS_DIGEST_KEY=secrets.token_urlsafe(32),
        CREDENTIALS_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )
    env.update(extra)
    return env


def production_settings(*names):
    """The values these settings take in a fresh process started with the production environment."""
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    )
    env = production_environment(DJANGO_SETTINGS_MODULE="portal.settings")
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_check_deploy_gives_no_warning_with_the_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_environment(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_with_the_development_keys(settings):
    env = production_environment(SECRET_KEY=settings.DEV_SECRET_KEY)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "portal.E001" in result.stderr


def test_the_wsgi_application_refuses_a_development_key(settings):
    # A WSGI server runs no system check: the application itself refuses to load.
    env = production_environment(CREDENTIALS_DIGEST_KEY=settings.DEV_DIGEST_KEY)
    result = subprocess.run(
        [sys.executable, "-c", "import portal.wsgi"], cwd=ROOT, env=env, capture_output=True, text=True
    )

    assert result.returncode != 0
    refusal = result.stderr.strip().splitlines()[-1]
    assert refusal.startswith("django.core.exceptions.ImproperlyConfigured: DEBUG is off")
    assert "CREDENTIALS_DIGEST_KEY" in refusal
    assert "SECRET_KEY" not in refusal


@pytest.fixture
def https_settings(settings):
    """This process switched to what HTTPS=true gives a production process."""
    values = production_settings(
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_SSL_REDIRECT",
        "SECURE_REDIRECT_EXEMPT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SESSION_COOKIE_NAME",
        "CSRF_COOKIE_NAME",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SAMESITE",
    )
    for name, value in values.items():
        setattr(settings, name, tuple(value) if name == "SECURE_PROXY_SSL_HEADER" else value)
    settings.ALLOWED_HOSTS = ["portal.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://portal.example.com"]
    return values


def https_client(**kwargs):
    return Client(HTTP_HOST="portal.example.com", HTTP_X_FORWARDED_PROTO="https", **kwargs)


def assert_hardened_headers(response, hsts=True):
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    if hsts:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/login/",
        "/groups/",
        "/groups/payments/",
        "/groups/no-such-group/",
        "/api/docs/",
        "/api/schema/",
        "/v1/whoami",
        "/v1/verify",
        "/healthz",
        "/no-such-page",
        "/admin/login/",
    ],
)
def test_every_kind_of_response_carries_the_security_headers(cast, https_settings, path):
    client = https_client(HTTP_ORIGIN=EVIL)
    client.force_login(cast.owner)
    response = client.get(path)
    assert response.status_code < 500
    assert_hardened_headers(response)


def test_the_500_page_carries_the_security_headers_and_no_detail(db, https_settings):
    request = RequestFactory().get("/groups/", secure=True, HTTP_HOST="portal.example.com")
    try:
        raise ValueError("/srv/portal/secret/path.py line 42 SELECT * FROM credentials")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
    body = response.content.decode()
    assert "Server error" in body
    for detail in ("Traceback", "SELECT", "/srv/portal", "line 42"):
        assert detail not in body


def test_plain_http_is_redirected_except_the_gateway_check_and_liveness(cast, https_settings):
    plain = Client(HTTP_HOST="portal.example.com")
    response = plain.get("/groups/")
    assert response.status_code == 301
    assert response["Location"] == "https://portal.example.com/groups/"
    assert plain.get("/healthz").status_code == 200
    assert plain.get("/v1/verify").status_code == 401


def test_plain_http_to_whoami_is_refused_not_redirected(cast, https_settings):
    """A key sent in clear is refused, so that the client learns it; a redirect would hide it."""
    _, values = make_api_key(cast.group)
    plain = Client(HTTP_HOST="portal.example.com")

    response = plain.get("/v1/whoami", headers={"X-Api-Key": values["primary"]})

    assert response.status_code == 400
    assert "Location" not in response
    assert response.json()["error_description"] == "This API answers only over HTTPS: use https://."
    assert https_client().get("/v1/whoami", headers={"X-Api-Key": values["primary"]}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/v2/tokens"), ("post", "/v2/tokens/revoke"), ("post", "/v1/tokens"), ("patch", "/v1/tokens")],
)
def test_plain_http_to_a_token_endpoint_is_refused_not_redirected(cast, https_settings, method, path):
    # A redirect would come after the secret crossed in clear, and tell the client that it worked.
    oauth_client, secret = make_oauth_client(cast.group)
    body = {"clientId": oauth_client.client_id, "clientSecret": secret}
    plain = Client(HTTP_HOST="portal.example.com")
    response = getattr(plain, method)(path, body, content_type="application/json")
    assert response.status_code == 400
    assert "Location" not in response
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The token API answers only over HTTPS: use https://.",
    }
    assert not AccessToken.objects.exists()


def test_the_token_api_answers_over_https(cast, https_settings):
    oauth_client, secret = make_oauth_client(cast.group)
    body = {"clientId": oauth_client.client_id, "clientSecret": secret}
    response = https_client().post("/v1/tokens", body, content_type="application/json")
    assert response.status_code == 201


def test_unreachable_database_answers_503_with_retry_after(rf):
    for path, content_type in [("/v1/whoami", "application/json"), ("/groups/", "text/html")]:
        try:
            raise OperationalError('connection to server at "127.0.0.1", port 5432 failed')
        except OperationalError:
            response = server_error(rf.get(path))
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        assert response["Content-Type"].startswith(content_type)
        assert "5432" not in response.content.decode()
    assert json.loads(server_error(rf.get("/v2/tokens")).content) == {"error": "server_error"}


@pytest.mark.parametrize(("path", "formats"), [("/api/schema/", "json, yaml"), ("/api/docs/", "html")])
def test_an_unknown_format_of_the_api_reference_is_404_in_the_spec_shape(db, path, formats):
    response = Client(raise_request_exception=False).get(path, {"format": "foo"})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"Unknown format: this URL serves {formats}.",
    }


def test_login_sets_host_prefixed_secure_cookies_and_rotates_the_session(cast, https_settings):
    client = https_client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    csrf = page.cookies["__Host-csrftoken"]
    assert csrf["secure"] and csrf["path"] == "/" and not csrf["domain"] and csrf["samesite"] == "Lax"
    before = client.session.session_key
    response = client.post(
        "/accounts/login/",
        {"username": "olivia", "password": PASSWORD, "csrfmiddlewaretoken": csrf.value},
        HTTP_REFERER="https://portal.example.com/accounts/login/",
    )
    assert response.status_code == 302
    session = response.cookies["__Host-sessionid"]
    assert session.value and session.value != before
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert session["path"] == "/" and not session["domain"]
    # After signing out, the old session cookie is worth nothing.
    old = session.value
    csrf_value = client.cookies["__Host-csrftoken"].value
    client.post(
        "/accounts/logout/",
        {"csrfmiddlewaretoken": csrf_value},
        HTTP_REFERER="https://portal.example.com/groups/",
    )
    replay = https_client()
    replay.cookies["__Host-sessionid"] = old
    assert replay.get("/groups/").status_code == 302


def test_a_post_from_another_origin_is_refused(cast, https_settings):
    client = https_client(enforce_csrf_checks=True)
    client.force_login(cast.staff)
    client.get("/groups/new/")
    token = client.cookies["__Host-csrftoken"].value
    response = client.post("/groups/new/", {"csrfmiddlewaretoken": token, "name": "X"}, HTTP_ORIGIN=EVIL)
    assert response.status_code == 403


def sign_in(client, password, address="203.0.113.7"):
    return client.post("/accounts/login/", {"username": "olivia", "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_username_from_that_address(cast):
    client = Client()
    for _ in range(4):
        assert sign_in(client, "wrong password").status_code == 200
    # The fifth wrong password locks, and says so; then even the right one is refused.
    assert sign_in(client, "wrong password").status_code == 429
    locked = sign_in(client, PASSWORD)
    assert locked.status_code == 429
    assert "Sign-in locked" in locked.content.decode()
    assert "30 minutes" in locked.content.decode()
    # The same user from another address signs in: an attacker cannot lock the owner out.
    assert sign_in(Client(), PASSWORD, address="198.51.100.9").status_code == 302


def test_a_correct_password_resets_the_count(cast):
    client = Client()
    for _ in range(4):
        sign_in(client, "wrong password")
    assert sign_in(client, PASSWORD).status_code == 302
    for _ in range(4):
        assert sign_in(Client(), "wrong password").status_code == 200
    assert sign_in(Client(), PASSWORD).status_code == 302


def test_password_validators_refuse_weak_passwords(cast):
    client = client_for(cast.owner)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "too common" in body
    assert "entirely numeric" in body


def error_reports(caplog):
    """The reports Django would e-mail to the admins (AdminEmailHandler) for each logged 500."""
    from django.views.debug import ExceptionReporter

    reports = []
    for record in caplog.records:
        if record.name == "django.request" and record.exc_info and hasattr(record, "request"):
            reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
            reports.append(reporter.get_traceback_text() + reporter.get_traceback_html())
    return reports


def test_a_500_in_the_token_api_reports_no_credential(cast, settings, caplog):
    from base64 import b64encode

    oauth_client, secret = make_oauth_client(cast.group)
    client_id = oauth_client.client_id
    api_key, token = generate(Kind.API_KEY), generate(Kind.ACCESS_TOKEN)
    # A misconfiguration that makes every credential check raise: a real 500 inside the views.
    settings.CREDENTIALS_DIGEST_KEY = None
    client = Client(raise_request_exception=False)
    basic = "Basic " + b64encode(f"{client_id}:{secret}".encode()).decode()
    requests = [
        ("post", "/v2/tokens", "grant_type=client_credentials", "application/x-www-form-urlencoded", basic),
        (
            "post",
            "/v2/tokens",
            f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}",
            "application/x-www-form-urlencoded",
            "",
        ),
        (
            "post",
            "/v1/tokens",
            json.dumps({"clientId": client_id, "clientSecret": secret}),
            "application/json",
            "",
        ),
    ]
    for method, path, body, content_type, authorization in requests:
        response = getattr(client, method)(
            path,
            body,
            content_type=content_type,
            HTTP_AUTHORIZATION=authorization,
            HTTP_X_API_KEY=api_key,
            HTTP_X_ACCESS_TOKEN=token,
        )
        assert response.status_code == 500, path
        assert response.json() == {"error": "server_error"}
    for path in ("/v1/whoami", "/v1/verify"):
        response = client.get(path, HTTP_X_API_KEY=api_key, HTTP_X_ACCESS_TOKEN=token)
        assert response.status_code == 500
    reports = error_reports(caplog)
    assert len(reports) == 5
    for report in reports:
        for canary in (secret, api_key, token, basic.split()[1]):
            assert canary not in report
        assert "********************" in report


def test_a_log_line_is_one_json_object_whatever_the_client_sent():
    import logging

    from portal.logs import JsonFormatter

    hostile = 'x\n{"event":"login_ok"}\u001b[2J'
    record = logging.LogRecord("credentials", logging.WARNING, __file__, 1, "client %s", (hostile,), None)
    line = JsonFormatter().format(record)
    assert "\n" not in line and "\u001b" not in line
    entry = json.loads(line)
    assert entry["message"] == f"client {hostile}"
    assert entry["level"] == "WARNING"
    assert entry["time"].endswith("Z")


def test_deactivating_a_user_ends_their_live_session(cast):
    client = client_for(cast.admin)
    assert client.get("/groups/payments/").status_code == 200
    cast.admin.is_active = False
    cast.admin.save()
    response = client.get("/groups/payments/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
