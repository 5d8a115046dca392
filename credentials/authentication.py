"""Credential checks for services: a DRF authentication class and a plain Django view decorator."""

from functools import wraps

from django.http import JsonResponse
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from credentials import ratelimit
from credentials.models import CredentialRefused
from credentials.verification import WWW_AUTHENTICATE, AddressRefused, identify, presents_credential

# RFC 6749 5.1: responses carrying tokens or credentials must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

# RFC 6750 3.1's code, in the API's error shape. The reason header lets the gateway tell this 403
# from others (deploy/nginx/gateway.conf).
INSUFFICIENT_SCOPE = {
    "error": "insufficient_scope",
    "error_description": "The credential may not use the service this location requires.",
}

INVALID_CREDENTIALS = {
    "error": "invalid_credentials",
    "error_description": "Send a valid API key in X-Api-Key or access token in X-Access-Token.",
}

RATE_LIMITED = {
    "error": "rate_limited",
    "error_description": "This credential made as many requests as its rate limit allows per minute.",
}


ADDRESS_NOT_ALLOWED = {
    "error": "address_not_allowed",
    "error_description": "The credential may not be used from this source address.",
}


class AddressNotAllowed(exceptions.PermissionDenied):
    """A credential used from outside its allowed networks: 403 in the API's error shape with
    X-Auth-Refused: address (credentials.api.base.exception_handler writes it)."""


class RateLimited(exceptions.Throttled):
    """A credential over its rate limit: 429 with Retry-After and the RateLimit fields
    (credentials.api.base.exception_handler writes it)."""

    def __init__(self, decision):
        super().__init__(wait=decision.reset)
        self.decision = decision


class CredentialAuthentication(BaseAuthentication):
    """DRF authentication by API key or access token: `request.user` and `request.auth` are the
    Identity, whose `scopes` are the services it may use (None: all); see credentials.scopes.HasScope."""

    def authenticate(self, request):
        if not presents_credential(request):
            return None
        try:
            identity = identify(request)
        except AddressRefused:
            raise AddressNotAllowed() from None
        except CredentialRefused:
            identity = None
        if identity is None:
            raise exceptions.AuthenticationFailed()
        decision = ratelimit.check(identity)
        if decision is not None:
            if not decision.allowed:
                raise RateLimited(decision)
            # The view's response headers (DRF's APIView sets them on whatever it answers).
            view = request.parser_context.get("view") if request.parser_context else None
            if view is not None:
                view.headers.update(decision.headers())
        return identity, identity

    def authenticate_header(self, request):
        return WWW_AUTHENTICATE


def credential_required(view):
    """Decorator for a plain Django view: 401 unless the request carries a valid credential."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            request.identity = identify(request)
        except AddressRefused:
            return address_not_allowed()
        except CredentialRefused:
            request.identity = None
        if request.identity is None:
            return unauthorized()
        decision = ratelimit.check(request.identity)
        if decision is None:
            return view(request, *args, **kwargs)
        if not decision.allowed:
            return rate_limited(decision)
        response = view(request, *args, **kwargs)
        for name, value in decision.headers().items():
            response[name] = value
        return response

    return wrapped


def unauthorized():
    """401 with the spec's body and a challenge, never cached."""
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE, **NO_STORE}
    return JsonResponse(INVALID_CREDENTIALS, status=401, headers=headers)


def insufficient_scope():
    """403 for a valid credential lacking the required scope, with the reason header."""
    headers = {"X-Auth-Refused": "scope", **NO_STORE}
    return JsonResponse(INSUFFICIENT_SCOPE, status=403, headers=headers)


def address_not_allowed():
    """403 for a valid credential used from outside its allowed networks, with the reason header."""
    headers = {"X-Auth-Refused": "address", **NO_STORE}
    return JsonResponse(ADDRESS_NOT_ALLOWED, status=403, headers=headers)


def rate_limited(decision):
    """429 for a credential over its rate limit, with Retry-After and the RateLimit fields."""
    return JsonResponse(RATE_LIMITED, status=429, headers={**decision.headers(), **NO_STORE})
