"""The JSON APIs: the token API applications call with a client ID and secret, and the service
APIs they call with a credential. Errors are {"error", "error_description"} (RFC 6749 5.2)."""

import base64
import json
import re
from urllib.parse import unquote_plus

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import BadRequest, TooManyFieldsSent
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from credentials import schema
from credentials.authentication import INVALID_CREDENTIALS, NO_STORE, CredentialAuthentication, unauthorized
from credentials.client_auth import ClientLocked, InvalidClient, authenticate_client
from credentials.models import IssueAccessToken, IssueTokenPair, RefreshError, RefreshToken
from credentials.verification import identify
from groups.activity import record
from groups.models import Action

BASIC_CHALLENGE = 'Basic realm="tokens", charset="UTF-8"'


# RFC 6749 5.2: error_description may only use %x20-21 / %x23-5B / %x5D-7E.
_NOT_ALLOWED_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5B\x5D-\x7E]")


def _description(text):
    return _NOT_ALLOWED_IN_DESCRIPTION.sub("'", str(text))


class ApiError(Exception):
    """An error answer of the API views: {"error", "error_description"} (RFC 6749 5.2)."""

    def __init__(self, error, description, status=400, headers=None):
        super().__init__(description)
        self.error, self.description, self.status, self.headers = error, description, status, headers or {}


def exception_handler(exc, context):
    """Every error of the DRF views (verify, whoami) in the spec's shape: {"error",
    "error_description"}, never cached."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response.data = INVALID_CREDENTIALS
    elif isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        response.status_code = 400
        response.data = {"error": "invalid_request", "error_description": "The request body is not valid."}
    else:
        # RFC 6749 5.2 registers no code for these (405, 406, 429...): invalid_request fits all.
        response.data = {"error": "invalid_request", "error_description": _description(exc.detail)}
    for name, value in NO_STORE.items():
        response[name] = value
    return response


def _invalid_request(description):
    return ApiError("invalid_request", description)


# ASCII digits, few enough for int(): str.isdigit() also accepts "²", and int() refuses 4301 digits.
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")


def _check_size(request):
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not _CONTENT_LENGTH.fullmatch(length) or int(length) > settings.TOKEN_REQUEST_MAX_BYTES:
        raise ApiError("invalid_request", "The request body is too large.", status=413)


def _media_type(request):
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


def _form(request):
    """The form parameters, each at most once; empty values count as omitted (RFC 6749 3.2)."""
    _check_size(request)
    media_type = _media_type(request)
    # A body without a Content-Type is not guessed at (a bare `curl -X POST` sends no body at all).
    if media_type != "application/x-www-form-urlencoded" and (media_type or request.body):
        raise _invalid_request("Send the parameters as application/x-www-form-urlencoded.")
    if "client_secret" in request.GET:
        raise _invalid_request("Client credentials must not be sent in the URL.")
    try:
        data = request.POST  # empty without a Content-Type (a bare `curl -X POST`)
    except TooManyFieldsSent:  # DATA_UPLOAD_MAX_NUMBER_FIELDS, under the size limit
        raise _invalid_request("The request has too many parameters.") from None
    except BadRequest:  # a charset other than UTF-8
        raise _invalid_request("The request body is not valid.") from None
    params = {}
    for name, values in data.lists():
        if len(values) > 1:
            raise _invalid_request("A parameter is repeated.")
        if values[0] != "":
            params[name] = values[0]
    return params


@sensitive_variables()
def _client_credentials(request, params):
    """(client ID, secret) from HTTP Basic or the form, never both (RFC 6749 2.3.1)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    in_form = "client_id" in params or "client_secret" in params
    if header[:6].lower() == "basic ":
        if in_form:
            raise _invalid_request("Use one client authentication method: HTTP Basic or form fields.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except ValueError:  # not base64 (binascii.Error), not UTF-8, or not even ASCII text
            raise _invalid_client() from None
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            raise _invalid_client()
        # Appendix B: both parts are form-urlencoded before base64.
        return unquote_plus(client_id), unquote_plus(secret)
    if in_form:
        return params.get("client_id", ""), params.get("client_secret", "")
    raise _invalid_client()


def _invalid_client(status=401):
    description = "Client authentication failed: unknown client or wrong secret."
    return ApiError("invalid_client", description, status, {"WWW-Authenticate": BASIC_CHALLENGE})


@sensitive_variables()
def _authenticated_client(request, client_id, secret, issue=None):
    """authenticate_client's answer (the client, or what `issue` issued to it), or its refusal."""
    try:
        return authenticate_client(request, client_id, secret, issue)
    except ClientLocked as locked:
        raise ApiError(
            "temporarily_unavailable",
            "Too many failed client authentications from this address: try again later.",
            status=429,
            headers={"Retry-After": str(locked.retry_after)},
        ) from None
    except InvalidClient:
        raise _invalid_client() from None


class Endpoint(APIView):
    """An API view: an APIView, so that drf-spectacular documents it from its annotations, that
    serves requests on Django's own request and response. DRF's request wrapper, negotiation,
    renderer and exception handling were a tenth of a token request, and most of what a cached
    verification added to a do-nothing view (docs/performance.md); these views need none of them:
    they read their own headers and bodies and answer JSON or nothing.

    Errors are ApiError, answered in the spec's shape; anything else reaches the project's
    last-resort handler, as from any view. They act for no portal user, even when a portal
    session cookie comes along.
    """

    def dispatch(self, request, *args, **kwargs):
        request.user = AnonymousUser()
        method = request.method.lower()
        handler = getattr(self, method, None) if method in self.http_method_names else None
        refusal = self.refusal(request)
        if refusal is not None:
            return refusal
        try:
            if method == "options":  # as Django's View answers it
                return HttpResponse(headers={"Allow": self._allow(), "Content-Length": "0", **NO_STORE})
            if handler is None:
                message = f'Method "{request.method}" not allowed.'
                raise ApiError("invalid_request", message, status=405, headers={"Allow": self._allow()})
            return handler(request)
        except ApiError as error:
            return error_response(error)

    def _allow(self):
        return ", ".join(self._allowed_methods())

    def refusal(self, request):
        """The answer refusing the request before its method runs (the service APIs), or None."""
        return None


class TokenEndpoint(Endpoint):
    """The token endpoints: their clients authenticate in the body or with HTTP Basic, which each
    method checks itself; error reports hide the POST body (and every local variable of the
    methods marked so)."""

    @classmethod
    def as_view(cls, **initkwargs):
        # On the view function once, rather than on dispatch at every call (method_decorator).
        return sensitive_post_parameters()(super().as_view(**initkwargs))


class ServiceEndpoint(Endpoint):
    """The service APIs: an API key or access token first (credentials.verification.identify,
    and answered as credential_required answers), then the method. `request.identity` is the
    Identity. The authentication and permission classes are what the OpenAPI document shows; the
    check is refusal()."""

    authentication_classes = [CredentialAuthentication]
    permission_classes = [IsAuthenticated]

    def refusal(self, request):
        request.identity = identify(request)
        return unauthorized() if request.identity is None else None


def json_response(body, status=200, headers=None):
    """A JSON answer that is never cached, written as DRF writes it (compact, UTF-8)."""
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    headers = {**NO_STORE, **(headers or {})}
    return HttpResponse(content, content_type="application/json", status=status, headers=headers)


def error_response(error):
    body = {"error": error.error, "error_description": _description(error.description)}
    return json_response(body, status=error.status, headers=error.headers)


class TokenV2(TokenEndpoint):
    @extend_schema(
        operation_id="issue_token_v2",
        summary="Issue an access token (OAuth 2.0 client credentials)",
        description="RFC 6749 4.4. Authenticate with HTTP Basic (Username = Client ID, Password = "
        "Client Secret: the lock icon) or with the client_id and client_secret fields, never both. "
        "The access token is valid for one hour; ask again the same way when it expires.",
        tags=["Tokens (OAuth 2.0)"],
        auth=[{schema.CLIENT_CREDENTIALS: []}],
        request={"application/x-www-form-urlencoded": schema.ClientCredentialsRequest},
        responses={200: schema.AccessTokenResponse, **schema.TOKEN_ERRORS},
        examples=[
            OpenApiExample(
                "Issued",
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
        params = _form(request)
        grant_type = params.get("grant_type", "client_credentials")
        client_id, secret = _client_credentials(request, params)
        if grant_type != "client_credentials":
            raise ApiError("unsupported_grant_type", "Only client_credentials is supported here.")
        raw = _authenticated_client(request, client_id, secret, IssueAccessToken())
        return json_response(
            {"access_token": raw, "token_type": "Bearer", "expires_in": settings.ACCESS_TOKEN_TTL}
        )


class RevokeV2(TokenEndpoint):
    @extend_schema(
        operation_id="revoke_token",
        summary="Revoke an access token or refresh token (RFC 7009)",
        description="Answers 200 whether or not the token was valid. Revoking a refresh token revokes "
        "its whole chain, access tokens included. Client authentication as for POST /v2/tokens.",
        tags=["Tokens (OAuth 2.0)"],
        auth=[{schema.CLIENT_CREDENTIALS: []}],
        request={"application/x-www-form-urlencoded": schema.RevokeRequest},
        responses={200: OpenApiResponse(description="Revoked, or was not valid."), **schema.TOKEN_ERRORS},
    )
    @sensitive_variables()
    def post(self, request):
        """Token revocation (RFC 7009): 200 whether or not the token was valid, so nothing leaks."""
        params = _form(request)
        client_id, secret = _client_credentials(request, params)
        raw = params.get("token")
        if raw is None:
            raise _invalid_request("The token parameter is required.")
        client = _authenticated_client(request, client_id, secret)
        client.revoke_token(raw)
        response = HttpResponse(status=200, headers=NO_STORE)
        del response["Content-Type"]  # no body
        return response


def _json_object(request, *fields):
    _check_size(request)
    if _media_type(request) != "application/json":
        raise _invalid_request("Send a JSON body with Content-Type: application/json.")
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):
        raise _invalid_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _invalid_request("The request body must be a JSON object.")
    values = [body.get(field) for field in fields]
    missing = [field for field, value in zip(fields, values, strict=True) if not _is_text(value)]
    if missing:
        raise _invalid_request(f"{', '.join(missing)} must be a non-empty string.")
    return values


def _is_text(value):
    """A non-empty string of Unicode text. JSON's escapes can spell lone surrogates ("\\ud800"),
    which no database driver can encode (RFC 8259 8.2)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _conventional_body(pair):
    remaining = (pair.expires_at - timezone.now()).total_seconds()
    return {
        "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token,
        "tokenType": "Bearer",
        "expiresIn": settings.ACCESS_TOKEN_TTL,
        "refreshTokenExpiresIn": max(0, round(remaining)),
    }


CONVENTIONAL_ERRORS = {code: response for code, response in schema.TOKEN_ERRORS.items() if code != 400}


class TokensV1(TokenEndpoint):
    """The conventional method: POST issues a pair for a client ID and secret, PATCH refreshes."""

    @extend_schema(
        operation_id="issue_tokens_v1",
        summary="Issue an access token and a refresh token (conventional method)",
        description="Kept for interface compatibility; OAuth 2.0 (POST /v2/tokens) is recommended and "
        "uses the same Client ID and Client Secret. The refresh token works once with PATCH "
        "/v1/tokens, for one day from this request.",
        tags=["Tokens (conventional method)"],
        auth=[],
        request={"application/json": schema.ConventionalTokenRequest},
        responses={
            201: schema.ConventionalTokenResponse,
            400: schema.error("Malformed request.", "invalid_request"),
            **CONVENTIONAL_ERRORS,
        },
        examples=[
            OpenApiExample(
                "Client ID and Client Secret",
                value={"clientId": "gpc_…", "clientSecret": "gps_…"},
                request_only=True,
            )
        ],
    )
    @sensitive_variables()
    def post(self, request):
        client_id, secret = _json_object(request, "clientId", "clientSecret")
        pair = _authenticated_client(request, client_id, secret, IssueTokenPair())
        return json_response(_conventional_body(pair), status=201)

    @extend_schema(
        operation_id="refresh_tokens_v1",
        summary="Refresh: a new access token and refresh token for a refresh token (conventional method)",
        description="The refresh token sent stops working; the new one keeps the original expiry. "
        "A refresh token used twice revokes every token descended from the same POST.",
        tags=["Tokens (conventional method)"],
        auth=[],
        request={"application/json": schema.RefreshRequest},
        responses={
            200: schema.ConventionalTokenResponse,
            400: schema.error(
                "Malformed request, or unknown, expired, used or revoked refresh token.",
                "invalid_request",
                "invalid_grant",
            ),
            405: schema.TOKEN_ERRORS[405],
            413: schema.TOKEN_ERRORS[413],
        },
        examples=[OpenApiExample("Refresh token", value={"refreshToken": "gpr_…"}, request_only=True)],
    )
    @sensitive_variables()
    def patch(self, request):
        (raw,) = _json_object(request, "refreshToken")
        try:
            pair = RefreshToken.objects.rotate(raw)
        except RefreshError as error:
            if error.revoked_family is not None:
                client = error.revoked_family.client
                record(request, client.group, Action.REFRESH_TOKEN_REUSE, client.name)
            raise ApiError("invalid_grant", error.description) from None
        return json_response(_conventional_body(pair))


class WhoAmI(ServiceEndpoint):
    @extend_schema(
        operation_id="whoami",
        summary="Who am I: a sample service API",
        description="Answers with the group and credential that authenticated the call. Send an API "
        "key (X-Api-Key) or an access token (X-Access-Token, or Authorization: Bearer).",
        tags=["Service APIs"],
        responses={200: schema.WhoAmIResponse, 401: schema.UNAUTHORIZED},
    )
    def get(self, request):
        return json_response(request.identity.as_dict())


class Verify(ServiceEndpoint):
    @extend_schema(
        operation_id="verify",
        summary="Verify a credential (for gateways)",
        description="For nginx auth_request and Envoy ext_authz: 204 with X-Auth-Group, X-Auth-Method "
        "and X-Auth-Credential for a valid API key or access token, else 401. Never 429: rate limits "
        "belong in the gateway.",
        tags=["Service APIs"],
        responses={
            204: OpenApiResponse(
                description="Valid. The group is in X-Auth-Group, the method in X-Auth-Method "
                "(api_key or access_token) and the credential's name in X-Auth-Credential."
            ),
            401: schema.UNAUTHORIZED,
        },
    )
    def get(self, request):
        identity = request.identity
        headers = {
            "X-Auth-Group": _header_value(identity.group_slug),
            "X-Auth-Method": identity.method,
            "X-Auth-Credential": _header_value(identity.credential),
            "Cache-Control": "no-store",
        }
        response = HttpResponse(status=204, headers=headers)
        del response["Content-Type"]  # no body
        return response


# Names are validated (credentials.models.name_validator), but a row written around validation (a
# shell, a restore) must not break the gateway: a newline would make Django refuse the header (a
# 500 that nginx reports), and other controls are invalid in HTTP.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _header_value(text):
    return _CONTROL_CHARACTERS.sub(" ", text)
