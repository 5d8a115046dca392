"""What every JSON API view here shares: the view base that serves Django's request directly,
and answers in the spec's error shape {"error", "error_description"} (RFC 6749 5.2)."""

import json
import re
import time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.views.decorators.debug import sensitive_post_parameters
from rest_framework import exceptions
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from credentials.authentication import (
    ADDRESS_NOT_ALLOWED,
    INVALID_CREDENTIALS,
    NO_STORE,
    RATE_LIMITED,
    AddressNotAllowed,
    RateLimited,
)
from portal import metrics

# RFC 6749 5.2: error_description may only use %x20-21 / %x23-5B / %x5D-7E.
_NOT_ALLOWED_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5B\x5D-\x7E]")


def _description(text):
    return _NOT_ALLOWED_IN_DESCRIPTION.sub("'", str(text))


class ApiError(Exception):
    """An error answer of the API views: {"error", "error_description"} (RFC 6749 5.2)."""

    def __init__(self, error, description, status=400, headers=None):
        super().__init__(description)
        self.error, self.description, self.status, self.headers = error, description, status, headers or {}


def invalid_request(description, status=400):
    return ApiError("invalid_request", description, status)


def json_response(body, status=200, headers=None):
    """A JSON answer that is never cached, written as DRF writes it (compact, UTF-8)."""
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    # Set here, not by CommonMiddleware, which the API pool does without: no chunked framing.
    headers = {**NO_STORE, "Content-Length": str(len(content)), **(headers or {})}
    return HttpResponse(content, content_type="application/json", status=status, headers=headers)


def error_response(error):
    body = {"error": error.error, "error_description": _description(error.description)}
    return json_response(body, status=error.status, headers=error.headers)


def empty_response(status, headers):
    response = HttpResponse(status=status, headers={**NO_STORE, **headers})
    del response["Content-Type"]  # no body
    return response


def exception_handler(exc, context):
    """Errors of the DRF views the project serves through DRF's dispatch (the OpenAPI document,
    and any service view built on CredentialAuthentication) in the spec's shape, never cached."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    negotiated = getattr(context["request"], "accepted_renderer", None) is not None
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        data = INVALID_CREDENTIALS
    elif isinstance(exc, RateLimited):
        data = RATE_LIMITED
        for name, value in exc.decision.headers().items():
            response[name] = value
    elif isinstance(exc, AddressNotAllowed):
        data = ADDRESS_NOT_ALLOWED
        response["X-Auth-Refused"] = "address"
    elif isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        response.status_code = 400
        data = {"error": "invalid_request", "error_description": "The request body is not valid."}
    elif isinstance(exc, Http404) and not negotiated:
        # DRF's answer to a ?format= no renderer of the view has, as to an unknown format suffix.
        formats = ", ".join(sorted({renderer.format for renderer in context["view"].get_renderers()}))
        description = f"Unknown format: this URL serves {formats}."
        data = {"error": "invalid_request", "error_description": description}
    else:
        # RFC 6749 5.2 registers no code for these (404, 405, 406, 429...): invalid_request fits all.
        # Django's Http404 and PermissionDenied carry no detail; DRF's handler gave them one.
        detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data["detail"]
        data = {"error": "invalid_request", "error_description": _description(detail)}
    if not negotiated:
        # Negotiation itself failed, so DRF would write this in the view's first format (YAML, HTML).
        headers = {name: value for name, value in response.items() if name.lower() != "content-type"}
        return json_response(data, status=response.status_code, headers=headers)
    response.data = data
    for name, value in NO_STORE.items():
        response[name] = value
    return response


class Endpoint(APIView):
    """An API view: an APIView so that drf-spectacular documents it from its annotations, serving
    Django's own request and response, since these views read their own headers and bodies and
    DRF's wrapper, negotiation and renderers would cost more than the work (docs/performance.md).

    Errors are ApiError; anything else reaches the project's last-resort handler. They act for no
    portal user, even when a portal session cookie comes along.
    """

    def dispatch(self, request, *args, **kwargs):
        """The answer, timed and counted per endpoint and status (portal.metrics); "error" counts
        an exception left to the last-resort handler (500, or 503 for the database)."""
        started = time.perf_counter()
        match = request.resolver_match
        endpoint = match.url_name if match is not None and match.url_name else "api"
        method = metrics.http_method(request.method, self.http_method_names)
        status = "error"
        try:
            response = self.answer(request)
            status = str(response.status_code)
            return response
        finally:
            metrics.child(metrics.API_LATENCY, endpoint, method, status).observe(
                time.perf_counter() - started
            )

    def answer(self, request):
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
        """The answer refusing the request before its method runs, or None."""
        return None


class TokenEndpoint(Endpoint):
    """The token endpoints: their clients authenticate in the body or with HTTP Basic, which each
    method checks itself; error reports hide the POST body."""

    @classmethod
    def as_view(cls, **initkwargs):
        # On the view function once, rather than on dispatch at every call (method_decorator).
        return sensitive_post_parameters()(super().as_view(**initkwargs))

    def refusal(self, request):
        return plain_http_refusal(request, "The token API answers only over HTTPS: use https://.")


def plain_http_refusal(request, description):
    """With HTTPS on, a request carrying a credential over plain HTTP is refused, not redirected:
    a redirect comes after the credential crossed in clear, and a client that follows it never
    learns that it did (portal.settings exempts these paths from the redirect)."""
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return error_response(invalid_request(description))
    return None
