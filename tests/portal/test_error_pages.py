"""The error pages: each refusal in the portal's layout, with its reason in words and a way back;
JSON in the API's error shape for the API's addresses, for scripts and on the API pool."""

import re

import pytest
from django.conf import settings
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from groups.models import Action, Activity
from portal.views import server_error
from tests.conftest import client_for

API_POOL = {"MIDDLEWARE": settings.API_MIDDLEWARE, "ROOT_URLCONF": "portal.api_urls"}
LAYOUT = ("API Authentication Portal", 'class="topbar"', 'class="footer"')
BACK_TO_GROUPS = '<a href="/groups/">Back to the Group List</a>'
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
SIGN_IN = '<a href="/accounts/login/">Sign in</a>'


def assert_page(response, status, *texts, way_back=BACK_TO_GROUPS):
    """An error page in the layout, saying `texts`, with the way back and no internals."""
    for text in (*LAYOUT, f"Error {status}", *texts, way_back):
        assertContains(response, text, status_code=status)
    for detail in ("Traceback", "Request Method", "django", "Http404", "PermissionDenied"):
        assertNotContains(response, detail, status_code=status)


def without_csrf_token(response):
    """The page, less the Sign out form's CSRF token, which differs at every render."""
    return CSRF_TOKEN.sub("", response.content.decode())


def regenerate_url(slug="payments"):
    return f"/groups/{slug}/api-keys/new/"


def test_404_signed_in(cast):
    response = client_for(cast.owner).get("/no-such-page/")

    assert_page(response, 404, "Page not found", "There is no page at this address")


def test_404_signed_out(db):
    response = Client().get("/no-such-page/")

    assert_page(response, 404, "Page not found", way_back=SIGN_IN)
    assertNotContains(response, "Sign out", status_code=404)


def test_404_for_a_non_member_is_the_page_for_a_group_that_does_not_exist(cast):
    client = client_for(cast.outsider)

    real = client.get("/groups/payments/")
    missing = client.get("/groups/no-such-group/")

    assert real.status_code == missing.status_code == 404
    assert without_csrf_token(real) == without_csrf_token(missing)
    assertNotContains(real, "Payments", status_code=404)


def test_403_for_a_viewer_names_the_role_needed(cast):
    response = client_for(cast.viewer).get(regenerate_url())

    assert_page(response, 403, "Not allowed")
    assertContains(
        response,
        "Only the group&#x27;s owners and admins can show, create, regenerate or delete its credentials; "
        "your role in Payments is Viewer.",
        status_code=403,
    )
    assert Activity.objects.filter(group=cast.group, action=Action.ACCESS_REFUSED).exists()


def test_403_for_an_admin_changing_members_names_the_owners(cast):
    response = client_for(cast.admin).post("/groups/payments/members/add/", {"username": "oscar"})

    assert_page(response, 403, "Only the group&#x27;s owners can", "your role in Payments is Admin.")


def test_403_for_a_non_staff_user_creating_a_group(cast):
    response = client_for(cast.owner).get("/groups/new/")

    assert_page(response, 403, "Only platform administrators (staff users) can create groups.")


def test_403_for_a_form_without_its_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.owner)

    response = client.post(regenerate_url(), {"name": "Billing app"})

    assert_page(response, 403, "Form not accepted", "reload the page and send the form again")


def test_403_signed_out_for_a_form_without_its_csrf_token(db):
    response = Client(enforce_csrf_checks=True).post("/accounts/logout/")

    assert_page(response, 403, "Form not accepted", way_back=SIGN_IN)


def test_405_explains_and_keeps_the_allow_header(cast):
    response = client_for(cast.owner).get("/groups/payments/members/add/")

    assert response["Allow"] == "POST"
    assert_page(response, 405, "Not available this way", "does not accept a GET request, only POST")


def test_405_signed_out(db):
    response = Client().get("/accounts/logout/")

    assert "POST" in response["Allow"]
    assert_page(response, 405, "does not accept a GET request", way_back=SIGN_IN)


def test_400_says_nothing_of_the_host_header(db):
    response = Client(raise_request_exception=False).get("/groups/", HTTP_HOST="evil.example")

    assert_page(response, 400, "Bad request", "could not make sense of this request", way_back=SIGN_IN)
    assertNotContains(response, "evil.example", status_code=400)
    assertNotContains(response, "ALLOWED_HOSTS", status_code=400)


def test_400_signed_in(cast):
    client = client_for(cast.owner)
    client.defaults["HTTP_HOST"] = "evil.example"

    response = client.get("/groups/")

    # The Host is refused before the session is read, so the page cannot know who is signed in.
    assert_page(response, 400, "Bad request", way_back=SIGN_IN)


def test_429_sign_in_lock_names_no_library(cast, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "olivia", "password": "wrong password"})

    assert_page(response, 429, "Sign-in locked", "ask a platform administrator", way_back="Back to Sign in")
    assertNotContains(response, "Axes", status_code=429)


def test_500_is_in_the_layout_with_no_detail(rf):
    try:
        raise ValueError("/srv/portal/groups/views.py line 42")
    except ValueError:
        response = server_error(rf.get("/groups/"))

    assert_page(response, 500, "Server error", "Something went wrong on our side")
    assertNotContains(response, "line 42", status_code=500)


def test_script_requests_get_json_with_the_reason(cast):
    response = client_for(cast.viewer).post(regenerate_url(), HTTP_ACCEPT="application/json")

    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert "your role in Payments is Viewer." in response.json()["error_description"]


def test_api_addresses_answer_404_in_json(db):
    response = Client().get("/v1/no-such-api")

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "error_description": "There is no API at this address."}


def test_api_endpoints_keep_their_json_405(db):
    response = Client().get("/v2/tokens")

    assert response.status_code == 405
    assert response.json()["error"] == "invalid_request"
    assert "POST" in response["Allow"]


@pytest.mark.parametrize("path", ["/no-such-page/", "/groups/payments/", "/v1/no-such-api"])
def test_the_api_pool_answers_its_404_in_json(cast, settings, path):
    for name, value in API_POOL.items():
        setattr(settings, name, value)
    client = Client(raise_request_exception=False)
    client.force_login(cast.owner)

    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "error_description": "There is no API at this address."}
