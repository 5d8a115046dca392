"""The service APIs, called with an API key or an access token: /v1/whoami, a sample service, and
/v1/verify, which gateways ask (nginx auth_request, Envoy ext_authz)."""

import re

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from credentials import ratelimit
from credentials.api import schema
from credentials.api.base import Endpoint, empty_response, json_response, plain_http_refusal
from credentials.authentication import address_not_allowed, insufficient_scope, rate_limited, unauthorized
from credentials.models import CredentialRefused
from credentials.verification import AddressRefused, identify, presents_credential
from portal import metrics


class ServiceEndpoint(Endpoint):
    """A service API: an API key or access token first (credentials.verification.identify, refused
    as credential_required refuses), then the method, with `request.identity` the Identity."""

    # Whether a request may come over plain HTTP with HTTPS on (the gateway's check, on the
    # private network); otherwise it is refused rather than redirected.
    plain_http = False

    def refusal(self, request):
        if not self.plain_http:
            refused = plain_http_refusal(request, "This API answers only over HTTPS: use https://.")
            if refused is not None:
                return refused
        try:
            request.identity = identify(request)
        except AddressRefused as refused:  # checked on every request, answered from memory or not
            counted(refused.identity, metrics.ADDRESS)
            return address_not_allowed()
        except CredentialRefused as refused:  # answered as a wrong one, counted apart
            metrics.child(
                metrics.VERIFICATIONS, metrics.METHODS[refused.method], refused.reason, refused.group_slug
            ).inc()
            return unauthorized()
        if request.identity is None:
            metrics.child(metrics.VERIFICATIONS, _sent(request), metrics.WRONG, metrics.NO_GROUP).inc()
            return unauthorized()
        # Every request of a limited credential is counted, however its identity was found.
        request.rate_limit = ratelimit.check(request.identity)
        if request.rate_limit is not None and not request.rate_limit.allowed:
            counted(request.identity, metrics.RATE_LIMITED)
            return self.rate_limited(request.rate_limit)
        return None

    def rate_limited(self, decision):
        """The answer to a request over its credential's rate limit."""
        return rate_limited(decision)


def _sent(request):
    """What a request that no credential matched sent, as a label: key, token, or "-" for neither."""
    if "HTTP_X_API_KEY" in request.META:
        return "key"
    return "token" if presents_credential(request) else "-"


def counted(identity, outcome):
    """Count a verification of a known credential: its group's slug labels it."""
    metrics.child(metrics.VERIFICATIONS, metrics.METHODS[identity.method], outcome, identity.group_slug).inc()


def _rate_limit_headers(request):
    """The RateLimit fields of a passing request of a limited credential; none without a limit."""
    return {} if request.rate_limit is None else request.rate_limit.headers()


class WhoAmI(ServiceEndpoint):
    @extend_schema(
        operation_id="whoami",
        summary=_("Who am I: a sample service API"),
        description=_(
            "Answers with the group and credential that authenticated the call. Send an API "
            "key (X-Api-Key) or an access token (X-Access-Token, or Authorization: Bearer)."
        ),
        tags=[schema.SERVICE_APIS],
        auth=schema.SERVICE_AUTH,
        responses={200: schema.WhoAmIResponse, 401: schema.UNAUTHORIZED, 429: schema.RATE_LIMITED},
    )
    def get(self, request):
        counted(request.identity, metrics.ACCEPTED)
        return json_response(request.identity.as_dict(), headers=_rate_limit_headers(request))


class Verify(ServiceEndpoint):
    plain_http = True

    @extend_schema(
        operation_id="verify",
        summary=_("Verify a credential (for gateways)"),
        description=_(
            "For nginx auth_request and Envoy ext_authz: 204 with X-Auth-Group, X-Auth-Method "
            "and X-Auth-Credential for a valid API key or access token, else 401. A credential without "
            "the scope in X-Required-Scope gets 403 with X-Auth-Refused: scope; one over "
            "its rate limit gets 403 with X-Auth-Refused: rate-limited and Retry-After, never 429, "
            "which auth_request would turn into 500: the shipped gateway.conf answers 429. One used "
            "from outside its allowed networks gets 403 with X-Auth-Refused: address."
        ),
        tags=[schema.SERVICE_APIS],
        auth=schema.SERVICE_AUTH,
        parameters=[
            OpenApiParameter(
                "X-Required-Scope",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=_(
                    "Set by the gateway: the service the protected location requires. Without it no "
                    "scope is checked."
                ),
            )
        ],
        responses={
            204: OpenApiResponse(
                description=_(
                    "Valid. The group is in X-Auth-Group, the method in X-Auth-Method "
                    "(api_key or access_token) and the credential's name in X-Auth-Credential."
                )
            ),
            401: schema.UNAUTHORIZED,
            403: OpenApiResponse(
                schema.OAuthError,
                description=_(
                    "Valid, but it may not pass: X-Auth-Refused says why. scope: it may not use the "
                    "service in X-Required-Scope (error insufficient_scope). rate-limited: over its "
                    "rate limit, with Retry-After and no body. address: from outside its allowed "
                    "networks (error address_not_allowed)."
                ),
            ),
        },
    )
    def get(self, request):
        identity = request.identity
        required = request.META.get("HTTP_X_REQUIRED_SCOPE")
        if required is not None and not identity.allows(required):
            counted(identity, metrics.SCOPE)
            return insufficient_scope()
        counted(identity, metrics.ACCEPTED)
        headers = {
            "X-Auth-Group": _header_value(identity.group_slug),
            "X-Auth-Method": identity.method,
            "X-Auth-Credential": _header_value(identity.credential),
            **_rate_limit_headers(request),
        }
        if identity.networks is not None:
            # The answer holds for this source address only: the gateway does not cache it.
            headers["X-Auth-Networks"] = "restricted"
        return empty_response(204, headers)

    def rate_limited(self, decision):
        # 403, not 429: auth_request passes 401 and 403 on and turns anything else into 500.
        return empty_response(403, {"X-Auth-Refused": "rate-limited", **decision.headers()})


# Names are validated (credentials.models.name_validator), but a row written around validation (a
# shell, a restore) must not break the gateway: a newline would make Django refuse the header (a
# 500 that nginx reports), and other controls are invalid in HTTP.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _header_value(text):
    return _CONTROL_CHARACTERS.sub(" ", text)
