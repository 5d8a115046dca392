from django.contrib.auth.views import LoginView
from django.urls import include, path
from oauth2_provider import urls as oauth2_urls

from tests.oidc_provider import views

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("control/user/", views.user),
    path("control/client/", views.client),
    path("control/mode/", views.mode),
    path("", include((oauth2_urls.base_urlpatterns + oauth2_urls.oidc_urlpatterns, "oauth2_provider"))),
]
