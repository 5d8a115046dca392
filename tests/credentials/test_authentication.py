import json

import pytest
from django.http import JsonResponse
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from credentials import secrets
from credentials.authentication import CredentialAuthentication, credential_required
from credentials.models import Identity, Slot
from credentials.secrets import Kind
from credentials.verification import WWW_AUTHENTICATE
from tests.conftest import make_api_key


@pytest.fixture
def api_key(cast):
    """The cast's group with one API key credential: (credential, {slot: value})."""
    return make_api_key(cast.group)


class GroupOrders(APIView):
    """A service API inside this codebase, protected by the DRF class."""

    authentication_classes = [CredentialAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"orders_of": request.auth.group_slug})


@credential_required
def group_report(request):
    """A plain Django view protected by the decorator."""
    return JsonResponse({"report_for": request.identity.group_name})


def call_drf(rf, **headers):
    """The response and the DRF request the view saw."""
    response = GroupOrders.as_view()(rf.get("/orders/", headers=headers))
    return response, response.renderer_context["request"]


def test_drf_valid_key_makes_the_identity_request_auth_and_user(rf, api_key):
    credential, values = api_key

    response, request = call_drf(rf, **{"X-Api-Key": values[Slot.SECONDARY]})

    assert response.status_code == 200
    assert response.data == {"orders_of": "payments"}
    assert request.auth == Identity("payments", "Payments", "api_key", credential.name, "secondary")
    assert request.user is request.auth


def test_drf_invalid_key_is_401_with_www_authenticate(rf, api_key):
    response, request = call_drf(rf, **{"X-Api-Key": secrets.generate(Kind.API_KEY)})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert response.data["error"] == "invalid_credentials"
    assert request.auth is None


def test_drf_malformed_key_is_401_without_a_database_query(rf, api_key, django_assert_num_queries):
    with django_assert_num_queries(0):
        response, _ = call_drf(rf, **{"X-Api-Key": api_key[1][Slot.PRIMARY][:-1]})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_drf_missing_header_is_not_authenticated_401(rf, api_key):
    response, _ = call_drf(rf)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert response.data["error"] == "invalid_credentials"


def test_drf_class_leaves_a_request_without_the_header_to_other_classes(rf):
    request = Request(rf.get("/orders/"))

    assert CredentialAuthentication().authenticate(request) is None


def test_decorator_valid_key_sets_request_identity(rf, api_key):
    credential, values = api_key
    request = rf.get("/report/", headers={"X-Api-Key": values[Slot.PRIMARY]})

    response = group_report(request)

    assert response.status_code == 200
    assert json.loads(response.content) == {"report_for": "Payments"}
    assert request.identity == Identity("payments", "Payments", "api_key", credential.name, "primary")


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "gpk_nonsense"}, {"X-Api-Key": "wrong"}])
def test_decorator_refuses_missing_or_invalid_key_with_401(rf, api_key, headers):
    response = group_report(rf.get("/report/", headers=headers))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert json.loads(response.content)["error"] == "invalid_credentials"


def test_decorator_refuses_an_unknown_well_formed_key(rf, api_key):
    response = group_report(rf.get("/report/", headers={"X-Api-Key": secrets.generate(Kind.API_KEY)}))

    assert response.status_code == 401


def test_decorator_keeps_the_view_name(rf):
    assert group_report.__name__ == "group_report"
    assert group_report.__doc__ == "A plain Django view protected by the decorator."
