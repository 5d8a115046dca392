from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from credentials import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="groups:list"), name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("groups/", include("groups.urls")),
    path("groups/<slug:slug>/", include("credentials.urls")),
    path("v1/whoami", api.whoami, name="whoami"),
    path("v1/verify", api.verify, name="verify"),
    path("admin/", admin.site.urls),
]
