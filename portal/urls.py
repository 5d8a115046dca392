from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from credentials.api import services, tokens
from portal.sessions import reauthenticate
from portal.views import healthz

urlpatterns = [
    # The hot paths first: Django tries the patterns in order.
    path("v1/verify", services.Verify.as_view(), name="verify"),
    path("v1/whoami", services.WhoAmI.as_view(), name="whoami"),
    path("v1/tokens", tokens.TokensV1.as_view(), name="tokens-v1"),
    path("v2/tokens", tokens.TokenV2.as_view(), name="token-v2"),
    path("v2/tokens/revoke", tokens.RevokeV2.as_view(), name="revoke-v2"),
    path("healthz", healthz, name="healthz"),
    path("", RedirectView.as_view(pattern_name="groups:list"), name="home"),
    path("accounts/reauthenticate/", reauthenticate, name="reauthenticate"),
    # Sign in and out and change one's password. No self-service reset by e-mail: the portal sends
    # no mail, and a staff user sets a new password in the admin site.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("groups/", include("groups.urls")),
    path("groups/<slug:slug>/", include("credentials.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

# Every uncaught error: a generic page or JSON body, and 503 when the database is unreachable.
handler500 = "portal.views.server_error"
