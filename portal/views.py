import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

# Seconds a client is asked to wait when the database cannot be reached.
RETRY_AFTER = 5
API_PREFIXES = ("/v1/", "/v2/", "/api/")


@require_GET
def healthz(request):
    """Liveness for load balancers: the process answers. Touches no database or cache on purpose."""
    return HttpResponse("ok", content_type="text/plain")


def _is_api(request):
    return request.path.startswith(API_PREFIXES)


def server_error(request, exception=None):
    """The last-resort answer: generic, with no detail of what failed (Django logs that).

    An unreachable database is not a bug of this code but an outage: 503 with Retry-After, so
    that clients and gateways retry instead of reporting an error of the portal.
    """
    raised = sys.exc_info()[1]
    if isinstance(raised, OperationalError | InterfaceError):
        status, error = 503, "temporarily_unavailable"
        text = "The portal cannot reach its database just now. Try again in a few seconds."
    else:
        status, error = 500, "server_error"
        text = "Something went wrong on our side. It has been logged; try again."
    if _is_api(request):
        response = JsonResponse({"error": error}, status=status)
    else:
        # Rendered without the request: no context processor may touch the session or database.
        page = render_to_string("error.html", {"status": status, "text": text})
        response = HttpResponse(page, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    return response
