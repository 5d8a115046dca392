"""How the management API knows who calls: `Authorization: Bearer gpu_…`, a personal access token.

Only the header, never a session cookie: a browser cannot be made to send a token it does not
hold, so the API needs no CSRF check (and has none).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission

from automation.models import PersonalAccessToken
from portal.addresses import source_address

SCHEME = "PersonalAccessToken"
INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "Send a valid personal access token as Authorization: Bearer gpu_... "
    "(create one on the portal's API tokens page).",
}


class PersonalAccessTokenAuthentication(BaseAuthentication):
    """`request.user` is the token's user, `request.auth` the token. A missing header is no
    credential (401 from the permission); anything else that is not a working token is 401."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        token = None
        if scheme.lower() == "bearer":
            token = PersonalAccessToken.objects.authenticate(value.strip(), source_address(request._request))
        if token is None:
            raise exceptions.AuthenticationFailed()
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="management API"'


class TokenScope(BasePermission):
    """A token's user is signed in; a read-only token only reads."""

    message = "This personal access token is read-only: create a read-write token to make changes."

    def has_permission(self, request, view):
        if not isinstance(request.auth, PersonalAccessToken):
            raise exceptions.NotAuthenticated()
        return request.method in SAFE_METHODS or not request.auth.read_only


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    """The Bearer scheme of the management API in the OpenAPI document."""

    target_class = "automation.authentication.PersonalAccessTokenAuthentication"
    name = SCHEME

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": _("A personal access token (gpu_...) from the portal's API tokens page."),
        }
