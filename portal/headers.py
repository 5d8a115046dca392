"""Content-Security-Policy for every response: scripts, styles and images from this site only.

No page of the portal has an inline script, inline style or event-handler attribute, so the policy
needs no 'unsafe-inline' and no nonce. Swagger UI (its files are served from this site too)
additionally draws its icons from data: URLs, and fetches only the schema from here.
"""

from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

PORTAL = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


@lru_cache(maxsize=4)
def policy(issuer):
    """The portal's policy; with single sign-on, its forms may also lead to the identity provider
    (the sign-in button posts here, and the answer redirects there: browsers check both)."""
    if not issuer:
        return PORTAL
    parts = urlsplit(issuer)
    return PORTAL.replace("form-action 'self'", f"form-action 'self' {parts.scheme}://{parts.netloc}")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy(settings.OIDC_ISSUER))
        return response
