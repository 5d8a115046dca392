import hmac
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET

from portal import addresses, metrics, readiness

# Seconds a client is asked to wait when the database cannot be reached.
RETRY_AFTER = 5
API_PREFIXES = ("/v1/", "/v2/", "/api/")

NOT_FOUND = gettext_lazy(
    "There is no page at this address, or it is not open to you. Check the address, or start again "
    "from the Group List."
)


@require_GET
def healthz(request):
    """Liveness for load balancers: the process answers. Touches no database or cache on purpose."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def readyz(request):
    """Readiness: 200 when this server can serve (portal.readiness), else 503 naming the checks
    that failed."""
    checks = readiness.checks()
    ready = readiness.ready(checks)
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JsonResponse(body, status=200 if ready else 503, headers={"Cache-Control": "no-store"})


def metrics_view(request):
    """The Prometheus metrics, for a scraper with METRICS_TOKEN or from METRICS_ALLOWED_NETWORKS;
    404 to anyone else, whatever the method, so that the address cannot be told from one that does
    not exist."""
    if not (_has_metrics_token(request) or _from_metrics_network(request)):
        return api_page_not_found(request, None)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    content, content_type = metrics.exposition(readiness.checks())
    return HttpResponse(content, content_type=content_type, headers={"Cache-Control": "no-store"})


def _has_metrics_token(request):
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    expected = settings.METRICS_TOKEN
    given = token.strip().encode()  # bytes: compare_digest refuses text that is not ASCII
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(given, expected.encode())


def _from_metrics_network(request):
    return addresses.within(settings.METRICS_ALLOWED_NETWORKS, addresses.source_address(request))


def _is_api(request):
    return request.path.startswith(API_PREFIXES)


def error_page(request, status, title, reason, error, headers=None, action=None):
    """A refusal in the portal's layout with its reason and a way back; JSON in the API's error
    shape for the API's addresses and for scripts that do not take HTML (as Copy's requests)."""
    title, reason = str(title), str(reason)
    if _is_api(request) or not request.accepts("text/html"):
        return JsonResponse({"error": error, "error_description": reason}, status=status, headers=headers)
    response = render(
        request,
        "error.html",
        {"status": status, "title": title, "reason": reason, "action": action},
        status=status,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def bad_request(request, exception):
    # Django's own message (a disallowed Host header, a malformed upload) is for the log only.
    if _is_api(request):
        return api_bad_request(request, exception)
    reason = gettext(
        "The portal could not make sense of this request. Go back, reload the page and try again."
    )
    return error_page(request, 400, gettext("Bad request"), reason, "invalid_request")


def permission_denied(request, exception):
    """403 with the reason the refusing code gave (groups.access names the role needed)."""
    reason = str(exception) or gettext("Your account is not allowed to do this.")
    # A refusal that one step lifts (accounts.two_factor.SecondFactorRequired) links to that step.
    action = getattr(exception, "action", None)
    return error_page(request, 403, gettext("Not allowed"), reason, "access_denied", action=action)


def page_not_found(request, exception):
    # One fixed text, whatever was missing: a group the user is not a member of and a group that
    # does not exist must get the same page (groups.access).
    if _is_api(request):
        return api_page_not_found(request, exception)
    return error_page(request, 404, gettext("Page not found"), NOT_FOUND, "not_found")


def method_not_allowed(request, allowed):
    """The 405 page: what the address accepts, with the Allow header kept."""
    accepted = " or ".join(method for method in allowed if method not in ("HEAD", "OPTIONS"))
    reason = gettext(
        "This address does not accept a %(method)s request, only %(accepted)s. If you followed a link or"
        " typed the address, go back and use the button on the page instead."
    ) % {"method": request.method, "accepted": accepted}
    headers = {"Allow": ", ".join(allowed)}
    return error_page(request, 405, gettext("Not available this way"), reason, "method_not_allowed", headers)


def csrf_failure(request, reason=""):
    # Django's reason names its checks (Referer, CSRF cookie); what the administrator can do is the same.
    text = gettext(
        "The form could not be accepted: the page was probably open too long, or you signed in or "
        "out in another tab. Go back, reload the page and send the form again."
    )
    return error_page(request, 403, gettext("Form not accepted"), text, "access_denied")


def api_bad_request(request, exception):
    """The API pool's 400: it serves only the API, so always the API's error shape."""
    return JsonResponse(
        {"error": "invalid_request", "error_description": "The request is malformed."}, status=400
    )


def api_page_not_found(request, exception):
    """The API pool's 404, the same for every address it does not serve: it has no pages."""
    description = "There is no API at this address."
    return JsonResponse({"error": "not_found", "error_description": description}, status=404)


def server_error(request, exception=None):
    """The last-resort answer: generic, with no detail of what failed (Django logs that).

    An unreachable database is not a bug of this code but an outage: 503 with Retry-After, so
    that clients and gateways retry instead of reporting an error of the portal.
    """
    raised = sys.exc_info()[1]
    if isinstance(raised, OperationalError | InterfaceError):
        status, error = 503, "temporarily_unavailable"
        metrics.DATABASE_ERRORS.inc()
        text = gettext("The portal cannot reach its database just now. Try again in a few seconds.")
    else:
        status, error = 500, "server_error"
        text = gettext("Something went wrong on our side. It has been logged; try again.")
    if _is_api(request):
        response = JsonResponse({"error": error}, status=status)
    else:
        # Rendered without the request: no context processor may touch the session or database.
        page = render_to_string("server_error.html", {"status": status, "text": text})
        response = HttpResponse(page, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response
