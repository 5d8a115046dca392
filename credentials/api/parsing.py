"""Reading the token endpoints' requests: form and JSON bodies, and client credentials
(RFC 6749 2.3.1), with RFC 6749's exact errors for anything malformed."""

import base64
import json
import re
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import BadRequest, TooManyFieldsSent
from django.views.decorators.debug import sensitive_variables

from credentials.api.base import ApiError, invalid_request

BASIC_CHALLENGE = 'Basic realm="tokens", charset="UTF-8"'

# ASCII digits, few enough for int(): str.isdigit() also accepts "²", and int() refuses 4301 digits.
_CONTENT_LENGTH = re.compile(r"[0-9]{1,18}")


def invalid_client(status=401):
    description = "Client authentication failed: unknown client or wrong secret."
    return ApiError("invalid_client", description, status, {"WWW-Authenticate": BASIC_CHALLENGE})


def _check_size(request):
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not _CONTENT_LENGTH.fullmatch(length) or int(length) > settings.TOKEN_REQUEST_MAX_BYTES:
        raise invalid_request("The request body is too large.", status=413)


def _media_type(request):
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


def form(request):
    """The form parameters, each at most once; empty values count as omitted (RFC 6749 3.2)."""
    _check_size(request)
    media_type = _media_type(request)
    # A body without a Content-Type is not guessed at (a bare `curl -X POST` sends no body at all).
    if media_type != "application/x-www-form-urlencoded" and (media_type or request.body):
        raise invalid_request("Send the parameters as application/x-www-form-urlencoded.")
    if "client_secret" in request.GET:
        raise invalid_request("Client credentials must not be sent in the URL.")
    try:
        data = request.POST  # empty without a Content-Type (a bare `curl -X POST`)
    except TooManyFieldsSent:  # DATA_UPLOAD_MAX_NUMBER_FIELDS, under the size limit
        raise invalid_request("The request has too many parameters.") from None
    except BadRequest:  # a charset other than UTF-8
        raise invalid_request("The request body is not valid.") from None
    params = {}
    for name, values in data.lists():
        if len(values) > 1:
            raise invalid_request("A parameter is repeated.")
        if values[0] != "":
            params[name] = values[0]
    return params


@sensitive_variables()
def client_credentials(request, params):
    """(client ID, secret) from HTTP Basic or the form, never both (RFC 6749 2.3.1)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    in_form = "client_id" in params or "client_secret" in params
    if header[:6].lower() == "basic ":
        if in_form:
            raise invalid_request("Use one client authentication method: HTTP Basic or form fields.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except ValueError:  # not base64 (binascii.Error), not UTF-8, or not even ASCII text
            raise invalid_client() from None
        client_id, colon, secret = decoded.partition(":")
        if not colon:
            raise invalid_client()
        # Appendix B: both parts are form-urlencoded before base64.
        return unquote_plus(client_id), unquote_plus(secret)
    if in_form:
        return params.get("client_id", ""), params.get("client_secret", "")
    raise invalid_client()


def client_auth_method(request):
    """How the client authenticated, by RFC 7591's names: HTTP Basic or the form's fields."""
    basic = request.META.get("HTTP_AUTHORIZATION", "")[:6].lower() == "basic "
    return "client_secret_basic" if basic else "client_secret_post"


def json_object(request, *fields, optional=()):
    """The values of `fields` in a JSON object body, each a non-empty string, followed by those of
    the `optional` fields (None when absent)."""
    _check_size(request)
    if _media_type(request) != "application/json":
        raise invalid_request("Send a JSON body with Content-Type: application/json.")
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):
        raise invalid_request("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object.")
    values = [body.get(field) for field in fields]
    missing = [field for field, value in zip(fields, values, strict=True) if not _is_text(value)]
    if missing:
        raise invalid_request(f"{', '.join(missing)} must be a non-empty string.")
    extra = [body.get(field) for field in optional]
    wrong = [
        field
        for field, value in zip(optional, extra, strict=True)
        if value is not None and not _is_text(value)
    ]
    if wrong:
        raise invalid_request(f"{', '.join(wrong)} must be a non-empty string when sent.")
    return values + extra


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
