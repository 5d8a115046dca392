"""The token API: POST /v2/tokens (OAuth 2.0 client credentials), its revocation endpoint, and the
conventional method's POST and PATCH /v1/tokens. The rules are the models' managers; these views
read the request and write the answer."""

from functools import partial

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema

from credentials import identify
from credentials import scopes as scope_names
from credentials.api import parsing, schema
from credentials.api.base import ApiError, TokenEndpoint, empty_response, invalid_request, json_response
from credentials.models import (
    AddressNotAllowed,
    ClientLocked,
    InvalidClient,
    InvalidScope,
    OAuthClient,
    RefreshError,
    RefreshToken,
)
from portal.addresses import source_address


@sensitive_variables()
def _as_client(request, authenticate, client_id, secret):
    """`authenticate(client_id, secret, address)`'s answer, or its refusal as the API gives it."""
    try:
        return authenticate(client_id, secret, source_address(request) or "")
    except ClientLocked as locked:
        raise ApiError(
            "temporarily_unavailable",
            "Too many failed client authentications from this address: try again later.",
            status=429,
            headers={"Retry-After": str(locked.retry_after)},
        ) from None
    except AddressNotAllowed:
        raise address_not_allowed() from None
    except InvalidClient:
        raise parsing.invalid_client() from None
    except InvalidScope:  # RFC 6749 5.2
        raise ApiError("invalid_scope", "The client may not have every scope requested.") from None


def address_not_allowed():
    """RFC 6749 5.2's invalid_client for a client used from outside its allowed networks."""
    description = "The client may not be used from this source address."
    return ApiError("invalid_client", description, 401, {"WWW-Authenticate": parsing.BASIC_CHALLENGE})


def _with_scope(body, scope, name="scope"):
    """`body` with the granted scope when one limits the token (RFC 6749 5.1)."""
    return body if scope is None else {**body, name: scope}


class TokenV2(TokenEndpoint):
    @extend_schema(
        operation_id="issue_token_v2",
        summary=_("Issue an access token (OAuth 2.0 client credentials)"),
        description=_(
            "RFC 6749 4.4. Authenticate with HTTP Basic (Username = Client ID, Password = "
            "Client Secret: the lock icon) or with the client_id and client_secret fields, never both. "
            "The access token is valid for one hour; ask again the same way when it expires."
        ),
        tags=[schema.TOKENS_OAUTH],
        auth=[{schema.CLIENT_CREDENTIALS: []}],
        request={"application/x-www-form-urlencoded": schema.ClientCredentialsRequest},
        responses={200: schema.AccessTokenResponse, **schema.TOKEN_ERRORS},
        examples=[
            OpenApiExample(
                "Issued",
                summary=_("Issued"),
                value={"access_token": "gpa_…", "token_type": "Bearer", "expires_in": 3600},
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    @sensitive_variables()
    def post(self, request):
        """OAuth 2.0 client credentials grant (RFC 6749 4.4). `grant_type` defaults to
        client_credentials."""
        params = parsing.form(request)
        grant_type = params.get("grant_type", "client_credentials")
        client_id, secret = parsing.client_credentials(request, params)
        if grant_type != "client_credentials":
            raise ApiError("unsupported_grant_type", "Only client_credentials is supported here.")
        method = f"/v2/tokens {parsing.client_auth_method(request)}"
        scope = scope_names.requested(params.get("scope"))
        issue = partial(OAuthClient.objects.issue_access_token, method=method, scope=scope)
        issued = _as_client(request, issue, client_id, secret)
        body = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": settings.ACCESS_TOKEN_TTL,
        }
        return json_response(_with_scope(body, issued.scope))


class RevokeV2(TokenEndpoint):
    @extend_schema(
        operation_id="revoke_token",
        summary=_("Revoke an access token or refresh token (RFC 7009)"),
        description=_(
            "Answers 200 whether or not the token was valid. Revoking a refresh token revokes "
            "its whole chain, access tokens included. Client authentication as for POST /v2/tokens."
        ),
        tags=[schema.TOKENS_OAUTH],
        auth=[{schema.CLIENT_CREDENTIALS: []}],
        request={"application/x-www-form-urlencoded": schema.RevokeRequest},
        responses={200: OpenApiResponse(description=_("Revoked, or was not valid.")), **schema.TOKEN_ERRORS},
    )
    @sensitive_variables()
    def post(self, request):
        """Token revocation (RFC 7009): 200 whether or not the token was valid, so nothing leaks."""
        params = parsing.form(request)
        client_id, secret = parsing.client_credentials(request, params)
        raw = params.get("token")
        if raw is None:
            raise invalid_request("The token parameter is required.")
        client = _as_client(request, OAuthClient.objects.authenticate, client_id, secret)
        client.revoke_token(raw)
        return empty_response(200, {})


def _conventional_body(pair):
    remaining = (pair.expires_at - timezone.now()).total_seconds()
    body = {
        "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token,
        "tokenType": "Bearer",
        "expiresIn": settings.ACCESS_TOKEN_TTL,
        "refreshTokenExpiresIn": max(0, round(remaining)),
    }
    return _with_scope(body, pair.scope)


CONVENTIONAL_ERRORS = {code: response for code, response in schema.TOKEN_ERRORS.items() if code != 400}


class TokensV1(TokenEndpoint):
    """The conventional method: POST issues a pair for a client ID and secret, PATCH refreshes."""

    @extend_schema(
        operation_id="issue_tokens_v1",
        summary=_("Issue an access token and a refresh token (conventional method)"),
        description=_(
            "Kept for interface compatibility; OAuth 2.0 (POST /v2/tokens) is recommended and "
            "uses the same Client ID and Client Secret. The refresh token works once with PATCH "
            "/v1/tokens, for one day from this request."
        ),
        tags=[schema.TOKENS_CONVENTIONAL],
        auth=[],
        request={"application/json": schema.ConventionalTokenRequest},
        responses={
            201: schema.ConventionalTokenResponse,
            400: schema.error(
                _("Malformed request, or a scope the client may not have."),
                "invalid_request",
                "invalid_scope",
            ),
            **CONVENTIONAL_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Client ID and Client Secret",
                summary=_("Client ID and Client Secret"),
                value={"clientId": "gpc_…", "clientSecret": "gps_…"},
                request_only=True,
            )
        ],
    )
    @sensitive_variables()
    def post(self, request):
        client_id, secret, scope = parsing.json_object(
            request, "clientId", "clientSecret", optional=["scope"]
        )
        issue = partial(OAuthClient.objects.issue_token_pair, scope=scope_names.requested(scope))
        pair = _as_client(request, issue, client_id, secret)
        return json_response(_conventional_body(pair), status=201)

    @extend_schema(
        operation_id="refresh_tokens_v1",
        summary=_("Refresh: a new access token and refresh token for a refresh token (conventional method)"),
        description=_(
            "The refresh token sent stops working; the new one keeps the original expiry. "
            "A refresh token used twice revokes every token descended from the same POST."
        ),
        tags=[schema.TOKENS_CONVENTIONAL],
        auth=[],
        request={"application/json": schema.RefreshRequest},
        responses={
            200: schema.ConventionalTokenResponse,
            400: schema.error(
                _("Malformed request, or unknown, expired, used or revoked refresh token."),
                "invalid_request",
                "invalid_grant",
            ),
            405: schema.TOKEN_ERRORS[405],
            413: schema.TOKEN_ERRORS[413],
        },
        examples=[
            OpenApiExample(
                "Refresh token",
                summary=_("Refresh token"),
                value={"refreshToken": "gpr_…"},
                request_only=True,
            )
        ],
    )
    @sensitive_variables()
    def patch(self, request):
        (raw,) = parsing.json_object(request, "refreshToken")
        try:
            pair = RefreshToken.objects.rotate(raw, source_address(request))
        except AddressNotAllowed:
            raise address_not_allowed() from None
        except RefreshError as error:
            raise ApiError("invalid_grant", error.description) from None
        return json_response(_conventional_body(pair))


class IntrospectV2(TokenEndpoint):
    @extend_schema(
        operation_id="introspect_token",
        summary=_("Introspect an access token or refresh token (RFC 7662)"),
        description=_(
            "For a resource server: is this token live, and whose is it? The caller authenticates "
            "as an OAuth client, as for POST /v2/tokens; only tokens of clients of the same group "
            "are described. Any other token (unknown, malformed, revoked, expired, or another "
            'group\'s) is {"active": false}, whatever the reason.'
        ),
        tags=[schema.TOKENS_OAUTH],
        auth=[{schema.CLIENT_CREDENTIALS: []}],
        request={"application/x-www-form-urlencoded": schema.IntrospectRequest},
        responses={200: schema.IntrospectionResponse, **schema.TOKEN_ERRORS},
        examples=[
            OpenApiExample(
                "Active",
                value={
                    "active": True,
                    "client_id": "gpc_…",
                    "token_type": "Bearer",
                    "exp": 1795000000,
                    "iat": 1794996400,
                    "group": "payments",
                    "credential": "Checkout",
                },
                response_only=True,
                status_codes=["200"],
            ),
            OpenApiExample("Not active", value={"active": False}, response_only=True, status_codes=["200"]),
        ],
    )
    @sensitive_variables()
    def post(self, request):
        """Token introspection (RFC 7662 2.1): client authentication and lockout as for the other
        token endpoints; `token_type_hint` may be sent and is not needed (the prefix tells)."""
        params = parsing.form(request)
        client_id, secret = parsing.client_credentials(request, params)
        raw = params.get("token")
        if raw is None:
            raise invalid_request("The token parameter is required.")
        client = _as_client(request, OAuthClient.objects.authenticate, client_id, secret)
        return json_response(identify.introspection(raw, client) or {"active": False})
