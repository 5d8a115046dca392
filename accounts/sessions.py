"""Portal sessions: how long they last, and a fresh password before secrets are shown or replaced.

Sign-in stamps the session with three times (seconds since the epoch): when the user signed in,
when they last typed their password, and when they were last seen. A session ends after
SESSION_IDLE_TIMEOUT without a request and SESSION_MAX_AGE after sign-in, whatever the activity.
Show, and every change to credentials or members, need a password typed within
REAUTHENTICATE_AFTER seconds.
"""

import time
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

SIGNED_IN_AT = "signed_in_at"
AUTHENTICATED_AT = "authenticated_at"
SEEN_AT = "seen_at"
# Seconds between two writes of SEEN_AT: the idle timeout is exact to within this.
SEEN_RESOLUTION = 60


@receiver(user_logged_in)
def stamp_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session.update({SIGNED_IN_AT: now, AUTHENTICATED_AT: now, SEEN_AT: now})


class SessionLifetimeMiddleware:
    """Ends a signed-in session that was idle too long or began too long ago."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.session.session_key and request.user.is_authenticated:
            session, now = request.session, time.time()
            signed_in = session.get(SIGNED_IN_AT, 0)
            seen = session.get(SEEN_AT, 0)
            if now - signed_in > settings.SESSION_MAX_AGE or now - seen > settings.SESSION_IDLE_TIMEOUT:
                logout(request)
            elif now - seen > SEEN_RESOLUTION:
                session[SEEN_AT] = now
        return self.get_response(request)


def password_is_fresh(request):
    age = time.time() - request.session.get(AUTHENTICATED_AT, 0)
    return age <= settings.REAUTHENTICATE_AFTER


def recent_password_required(view):
    """Asks for the password again when the last one typed is older than REAUTHENTICATE_AFTER.

    A page (GET) comes back to itself afterwards; an action (POST) goes back to the page its form
    was on, where it can be repeated: a POST is never replayed. Copy's JSON request gets 403
    with the address of the password page.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if password_is_fresh(request):
            return view(request, *args, **kwargs)
        if request.method == "GET":
            back = request.get_full_path()
        else:
            back = _posted_from(request, kwargs.get("slug"))
        url = f"{reverse('reauthenticate')}?{urlencode({'next': back})}"
        if not request.accepts("text/html"):
            return JsonResponse({"error": "reauthentication_required", "reauthenticate_url": url}, status=403)
        return redirect(url)

    return wrapper


def _posted_from(request, slug):
    """The page of this site that the form was posted from, else the group's page (a page with
    no group: its own address)."""
    referer = request.headers.get("Referer", "")
    if url_has_allowed_host_and_scheme(referer, {request.get_host()}, request.is_secure()):
        parts = urlsplit(referer)
        return f"{parts.path}?{parts.query}" if parts.query else parts.path
    return reverse("credentials:auth-info", args=[slug]) if slug else request.path
