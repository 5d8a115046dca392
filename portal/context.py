"""The request being served, for what is written while serving it: Activity rows take their actor,
source address and request id from it, and log lines their request id.

The id ties a log line, an Activity row and the `X-Request-ID` response header together. One sent
by a trusted proxy (nginx's `$request_id`) is kept, so that the proxy's log carries it too; any
other is replaced, so that a client cannot choose the id its requests are recorded under.
"""

import re
import uuid
from contextvars import ContextVar

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver

_current = ContextVar("current_request", default=None)
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def current_request():
    """The request being served in this thread, or None (a management command, a test)."""
    return _current.get()


def current_request_id():
    request = _current.get()
    return request.id if request is not None else ""


def _request_id(request):
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    if request.META.get("REMOTE_ADDR") in settings.TRUSTED_PROXIES and WELL_FORMED_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """First in MIDDLEWARE: names the request and makes it current until it is finished."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.id = _request_id(request)
        _current.set(request)
        response = self.get_response(request)
        response.headers["X-Request-ID"] = request.id
        return response


@receiver(request_finished, dispatch_uid="forget_current_request")
def _forget(sender, **kwargs):
    """The request stays current until its response is closed: Django logs a 4xx or 5xx after the
    middleware has returned, and that line must carry the id too."""
    _current.set(None)
