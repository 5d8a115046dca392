"""The service APIs that applications and gateways call with a credential."""

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from credentials.authentication import CredentialAuthentication, credential_required


@api_view(["GET"])
@authentication_classes([CredentialAuthentication])
@permission_classes([IsAuthenticated])
def whoami(request):
    """A sample service API: the group and credential that authenticated the call."""
    return Response(request.auth.as_dict())


@never_cache
@require_GET
@credential_required
def verify(request):
    """For gateways (nginx auth_request, Envoy ext_authz): 204 and who it is, or 401. Never 429."""
    identity = request.identity
    response = HttpResponse(status=204)
    response["X-Auth-Group"] = identity.group_slug
    response["X-Auth-Method"] = identity.method
    response["X-Auth-Credential"] = identity.credential
    return response
