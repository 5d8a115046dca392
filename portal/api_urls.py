"""The URLs of the API pool (POOL=api): the token endpoints (introspection included), verification,
the health and readiness checks and the metrics.
The portal's URLconf (portal.urls) starts with these, so one pool can also serve everything."""

from django.urls import path

from credentials.api import services, tokens
from portal.views import healthz, metrics_view, readyz

urlpatterns = [
    # The hot paths first: Django tries the patterns in order.
    path("v1/verify", services.Verify.as_view(), name="verify"),
    path("v1/whoami", services.WhoAmI.as_view(), name="whoami"),
    path("v1/tokens", tokens.TokensV1.as_view(), name="tokens-v1"),
    path("v2/tokens", tokens.TokenV2.as_view(), name="token-v2"),
    path("v2/tokens/revoke", tokens.RevokeV2.as_view(), name="revoke-v2"),
    path("v2/tokens/introspect", tokens.IntrospectV2.as_view(), name="introspect-v2"),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
]

# The API pool serves no pages: an address or request it cannot take gets the API's error shape.
handler400 = "portal.views.api_bad_request"
handler404 = "portal.views.api_page_not_found"
# Every uncaught error: a generic page or JSON body, and 503 when the database is unreachable.
handler500 = "portal.views.server_error"
