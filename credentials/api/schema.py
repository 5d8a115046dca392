"""How the APIs describe themselves in the OpenAPI document (/api/schema/, Swagger UI at /api/docs/).

The shapes here are the token API's contract: views parse requests by hand to return RFC 6749's
exact errors, and these serializers document what they accept and answer. Their texts are lazy, so
the document is written in the language of each request (credentials.api.reference); field names
and error codes are values and stay as they are.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

# The operations' tags, named with the same texts as SPECTACULAR_SETTINGS["TAGS"].
TOKENS_OAUTH = _("Tokens (OAuth 2.0)")
TOKENS_CONVENTIONAL = _("Tokens (conventional method)")
SERVICE_APIS = _("Service APIs")

# The HTTP Basic scheme of the token endpoints, declared in SPECTACULAR_SETTINGS.
CLIENT_CREDENTIALS = "ClientCredentials"


# The X-Api-Key and X-Access-Token schemes of the service APIs, declared in SPECTACULAR_SETTINGS.
SERVICE_AUTH = [{"ApiKey": []}, {"AccessToken": []}]


class CredentialAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents a DRF view that uses CredentialAuthentication with the same two schemes."""

    target_class = "credentials.authentication.CredentialAuthentication"
    name = ["ApiKey", "AccessToken"]

    def get_security_requirement(self, auto_schema):
        return SERVICE_AUTH

    def get_security_definition(self, auto_schema):
        schemes = settings.SPECTACULAR_SETTINGS["APPEND_COMPONENTS"]["securitySchemes"]
        return [schemes[name] for name in self.name]


class OAuthError(serializers.Serializer):
    error = serializers.CharField(help_text=_("An RFC 6749 5.2 error code, e.g. invalid_client."))
    error_description = serializers.CharField(
        help_text=_(
            "What went wrong, for a developer: in English whatever Accept-Language says "
            "(RFC 6749 5.2 allows only ASCII here)."
        )
    )


class ClientCredentialsRequest(serializers.Serializer):
    grant_type = serializers.ChoiceField(
        choices=["client_credentials"],
        required=False,
        help_text=_("Optional; client_credentials if omitted."),
    )
    # Empty defaults keep Swagger UI from filling in sample values, which would be sent next to the
    # Authorize dialog's HTTP Basic credentials: empty form fields are not sent.
    client_id = serializers.CharField(
        required=False,
        default="",
        help_text=_("Only without HTTP Basic: the Client ID (never both methods)."),
    )
    client_secret = serializers.CharField(
        required=False,
        default="",
        help_text=_("Only without HTTP Basic: the Client Secret (never both methods)."),
    )
    scope = serializers.CharField(
        required=False,
        default="",
        help_text=_("Optional: the group's services the token may use, space-separated (RFC 6749 3.3)."),
    )


class AccessTokenResponse(serializers.Serializer):
    access_token = serializers.CharField(help_text=_("Send it as X-Access-Token to the service APIs."))
    token_type = serializers.ChoiceField(choices=["Bearer"])
    expires_in = serializers.IntegerField(help_text=_("Seconds until the access token expires (3600)."))
    scope = serializers.CharField(
        required=False,
        help_text=_("The services the token may use, when a scope was asked for or the client is limited."),
    )


class RevokeRequest(serializers.Serializer):
    token = serializers.CharField(
        min_length=1, help_text=_("An access token or refresh token issued to this client.")
    )
    token_type_hint = serializers.ChoiceField(choices=["access_token", "refresh_token"], required=False)
    client_id = serializers.CharField(required=False, default="", help_text=_("Only without HTTP Basic."))
    client_secret = serializers.CharField(required=False, default="", help_text=_("Only without HTTP Basic."))


class ConventionalTokenRequest(serializers.Serializer):
    clientId = serializers.CharField(min_length=1, help_text=_("The Client ID."))
    clientSecret = serializers.CharField(min_length=1, help_text=_("The Client Secret."))
    scope = serializers.CharField(
        required=False,
        help_text=_("Optional: the group's services the token may use, space-separated (RFC 6749 3.3)."),
    )


class RefreshRequest(serializers.Serializer):
    refreshToken = serializers.CharField(
        min_length=1, help_text=_("The refresh token from the last response.")
    )


class ConventionalTokenResponse(serializers.Serializer):
    accessToken = serializers.CharField(help_text=_("Send it as X-Access-Token."))
    refreshToken = serializers.CharField(help_text=_("Use once with PATCH /v1/tokens."))
    tokenType = serializers.ChoiceField(choices=["Bearer"])
    expiresIn = serializers.IntegerField(help_text=_("Seconds until the access token expires."))
    refreshTokenExpiresIn = serializers.IntegerField(
        help_text=_("Seconds until the refresh token chain expires: one day after POST, never extended.")
    )
    scope = serializers.CharField(
        required=False,
        help_text=_("The services the token may use, when a scope was asked for or the client is limited."),
    )


class WhoAmIGroup(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class WhoAmIAuth(serializers.Serializer):
    method = serializers.ChoiceField(choices=["api_key", "access_token"])
    credential = serializers.CharField(help_text=_("The API key credential's or OAuth client's name."))
    slot = serializers.ChoiceField(choices=["primary", "secondary"], allow_null=True)


class WhoAmIResponse(serializers.Serializer):
    group = WhoAmIGroup()
    auth = WhoAmIAuth()
    scopes = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text=_("The services the credential may use; null when it may use every service of the group."),
    )


class InvalidCredentials(serializers.Serializer):
    error = serializers.ChoiceField(choices=["invalid_credentials"])
    error_description = serializers.CharField(help_text=_("In English whatever Accept-Language says."))


def error(description, *codes):
    return OpenApiResponse(
        OAuthError,
        description=description,
        examples=[OpenApiExample(code, value={"error": code, "error_description": "..."}) for code in codes],
    )


TOKEN_ERRORS = {
    400: error(
        _("Malformed request, unsupported grant type, or a scope the client may not have."),
        "invalid_request",
        "unsupported_grant_type",
        "invalid_scope",
    ),
    401: error(_("Unknown client or wrong secret (never told apart)."), "invalid_client"),
    405: error(_("Method not allowed."), "invalid_request"),
    413: error(_("Request body too large."), "invalid_request"),
    429: error(
        _("Too many failed client authentications from this address: see Retry-After."),
        "temporarily_unavailable",
    ),
}
UNAUTHORIZED = OpenApiResponse(
    InvalidCredentials,
    description=_("Missing, invalid, expired or revoked credential (with WWW-Authenticate)."),
)


class RateLimitedError(serializers.Serializer):
    error = serializers.ChoiceField(choices=["rate_limited"])
    error_description = serializers.CharField(help_text=_("In English whatever Accept-Language says."))


RATE_LIMITED = OpenApiResponse(
    RateLimitedError,
    description=_(
        "The credential made as many requests as its rate limit allows per minute: Retry-After "
        "says in how many seconds to try again, and the RateLimit fields describe the limit."
    ),
)


class IntrospectRequest(serializers.Serializer):
    token = serializers.CharField(min_length=1, help_text=_("The access token or refresh token to describe."))
    token_type_hint = serializers.ChoiceField(
        choices=["access_token", "refresh_token"], required=False, help_text=_("Optional: the prefix tells.")
    )
    client_id = serializers.CharField(required=False, default="", help_text=_("Only without HTTP Basic."))
    client_secret = serializers.CharField(required=False, default="", help_text=_("Only without HTTP Basic."))


class IntrospectionResponse(serializers.Serializer):
    active = serializers.BooleanField(help_text=_("false for any token that is not live and of this group."))
    client_id = serializers.CharField(required=False, help_text=_("The client the token was issued to."))
    token_type = serializers.ChoiceField(
        choices=["Bearer"], required=False, help_text=_("Access tokens only (a refresh token has none).")
    )
    exp = serializers.IntegerField(required=False, help_text=_("When it expires (seconds since the epoch)."))
    iat = serializers.IntegerField(
        required=False, help_text=_("When it was issued (seconds since the epoch).")
    )
    group = serializers.CharField(required=False, help_text=_("The slug of the client's group."))
    credential = serializers.CharField(required=False, help_text=_("The OAuth client's name."))
    scope = serializers.CharField(
        required=False,
        help_text=_("Access tokens of a limited client or request: the services it may use."),
    )
