from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import admin_sign_in
from credentials.api.reference import ReferenceView, SchemaView
from credentials.views import identify_credential
from portal import api_urls

urlpatterns = [
    # The API first (the hot paths, tried first): the same patterns the API pool serves alone.
    *api_urls.urlpatterns,
    path("", RedirectView.as_view(pattern_name="groups:list"), name="home"),
    path("accounts/tokens/", include("automation.urls")),
    path("accounts/", include("accounts.urls")),
    path("groups/", include("groups.urls")),
    path("groups/<slug:slug>/", include("credentials.urls")),
    path("identify/", identify_credential, name="identify"),
    # The management API, for scripts with a personal access token: the portal pool only.
    path("api/manage/v1/", include("automation.api_urls")),
    # The API Reference, in the page's language.
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", ReferenceView.as_view(url_name="schema"), name="api-docs"),
    # Before the admin site's own sign-in, which would skip the second factor.
    path("admin/login/", admin_sign_in, name="admin-sign-in"),
    path("admin/", admin.site.urls),
]

# Refusals in the portal's layout with their reason (JSON for the API's addresses); the 405 page is
# portal.middleware's, since Django has no handler for it.
handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = api_urls.handler500
