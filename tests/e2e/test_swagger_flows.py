"""The user guide's steps in the API Authentication API Reference (Swagger UI), in a real browser."""

import json
import re

import pytest

from groups.models import Role
from tests.conftest import PASSWORD, make_group, make_member
from tests.e2e.conftest import shot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def create_oauth_client(page, name):
    """In the portal: Authentication Information, OAuth Information, Create; returns (ID, secret)."""
    page.get_by_role("link", name="Payments").click()
    page.locator("section", has_text="OAuth Information").get_by_role("link", name="Create").click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create").click()
    return page.locator("[data-client-id]").inner_text(), page.locator(
        '[data-secret="client-secret"]'
    ).inner_text()


def authorize(page, scheme, *values):
    """The lock icon, the scheme's fields, Authorize, Close."""
    page.locator(".scheme-container").get_by_role("button", name="Authorize").click()
    # The container whose heading starts with the scheme's name (PersonalAccessToken holds "AccessToken").
    heading = page.locator("h4", has_text=re.compile(rf"^\s*{scheme}\b"))
    container = page.locator(".auth-container").filter(has=heading)
    for field, value in zip(container.locator("input").all(), values, strict=True):
        field.fill(value)
    container.get_by_role("button", name="Apply credentials").click()
    container.get_by_role("button", name="Close").click()


def operation(page, method, path):
    block = page.locator(f".opblock-{method.lower()}").filter(
        has=page.locator(".opblock-summary-path", has_text=path).filter(has_not_text=f"{path}/")
    )
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    return block


def execute(block):
    """Execute, then the response's status and JSON body."""
    block.get_by_role("button", name="Execute").click()
    response = block.locator(".live-responses-table .response").first
    response.locator(".response-col_status").wait_for()
    body = response.locator(".response-col_description pre.microlight").first.inner_text()
    return int(response.locator(".response-col_status").inner_text()), json.loads(body)


@pytest.fixture
def signed_in_admin(page):
    admin = make_member(make_group("Payments"), Role.ADMIN, "adam")
    sign_in(page, admin.username, PASSWORD)
    return page


def test_oauth2_access_token_from_swagger_then_whoami(signed_in_admin):
    page = signed_in_admin
    client_id, client_secret = create_oauth_client(page, "Checkout")

    page.get_by_role("link", name="API Reference", exact=True).click()
    page.locator(".info .title").wait_for()
    assert page.title() == "API Authentication API Reference"
    assert page.locator(".info .title").inner_text().startswith("API Authentication API Reference")
    authorize(page, "ClientCredentials", client_id, client_secret)
    status, body = execute(operation(page, "POST", "/v2/tokens"))
    shot(page, "swagger-v2-tokens")

    assert status == 200
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("gpa_")

    authorize(page, "AccessToken", body["access_token"])
    status, whoami = execute(operation(page, "GET", "/v1/whoami"))
    assert status == 200
    assert whoami == {
        "group": {"slug": "payments", "name": "Payments"},
        "auth": {"method": "access_token", "credential": "Checkout", "slot": None},
        "scopes": None,  # every service of the group
    }

    # Nothing typed into Authorize outlives the page (persistAuthorization is off).
    page.reload()
    page.locator(".info .title").wait_for()
    stored = page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
    for value in (client_secret, body["access_token"]):
        assert value not in stored


def test_conventional_tokens_and_refresh_from_swagger(signed_in_admin):
    page = signed_in_admin
    client_id, client_secret = create_oauth_client(page, "Legacy app")

    page.goto("/api/docs/")
    issue = operation(page, "POST", "/v1/tokens")
    issue.locator("textarea.body-param__text").fill(
        json.dumps({"clientId": client_id, "clientSecret": client_secret})
    )
    status, body = execute(issue)
    assert status == 201
    assert body["accessToken"].startswith("gpa_") and body["refreshToken"].startswith("gpr_")
    assert body["expiresIn"] == 3600 and body["refreshTokenExpiresIn"] == 86400

    refresh = operation(page, "PATCH", "/v1/tokens")
    refresh.locator("textarea.body-param__text").fill(json.dumps({"refreshToken": body["refreshToken"]}))
    status, refreshed = execute(refresh)
    shot(page, "swagger-v1-refresh")

    assert status == 200
    assert refreshed["refreshToken"] != body["refreshToken"]
    assert refreshed["accessToken"] != body["accessToken"]
