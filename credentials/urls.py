from django.urls import path, register_converter

from credentials import views
from credentials.converters import SlotConverter

register_converter(SlotConverter, "slot")

app_name = "credentials"

# Mounted under /groups/<slug>/: the Authentication Information tab and its actions.
urlpatterns = [
    path("", views.authentication_information, name="auth-info"),
    path("suspend/", views.group_suspend, name="suspend-group"),
    path("resume/", views.group_resume, name="resume-group"),
    path("api-keys/new/", views.api_key_create, name="create-api-key"),
    path("api-keys/<uuid:public_id>/<slot:slot>/show/", views.api_key_show, name="show-key"),
    path(
        "api-keys/<uuid:public_id>/<slot:slot>/regenerate/",
        views.api_key_regenerate,
        name="regenerate-key",
    ),
    path("api-keys/<uuid:public_id>/expiry/", views.api_key_expiry, name="api-key-expiry"),
    path("api-keys/<uuid:public_id>/scopes/", views.api_key_scopes, name="api-key-scopes"),
    path("api-keys/<uuid:public_id>/delete/", views.api_key_delete, name="delete-api-key"),
    path("api-keys/<uuid:public_id>/rate-limit/", views.api_key_rate_limit, name="api-key-rate-limit"),
    path("api-keys/<uuid:public_id>/networks/", views.api_key_networks, name="api-key-networks"),
    path("oauth-clients/new/", views.oauth_client_create, name="create-oauth-client"),
    path("oauth-clients/<uuid:public_id>/secret/show/", views.oauth_secret_show, name="show-secret"),
    path(
        "oauth-clients/<uuid:public_id>/secret/regenerate/",
        views.oauth_secret_regenerate,
        name="regenerate-secret",
    ),
    path(
        "oauth-clients/<uuid:public_id>/secret/end-grace/",
        views.oauth_grace_end,
        name="end-grace",
    ),
    path("oauth-clients/<uuid:public_id>/scopes/", views.oauth_client_scopes, name="oauth-client-scopes"),
    path("oauth-clients/<uuid:public_id>/delete/", views.oauth_client_delete, name="delete-oauth-client"),
    path(
        "oauth-clients/<uuid:public_id>/rate-limit/",
        views.oauth_client_rate_limit,
        name="oauth-client-rate-limit",
    ),
    path(
        "oauth-clients/<uuid:public_id>/networks/",
        views.oauth_client_networks,
        name="oauth-client-networks",
    ),
    path("oauth-clients/<uuid:public_id>/unlock/", views.oauth_client_unlock, name="unlock-oauth-client"),
]
