from django.urls import path

from automation import api

# <slot:…> and <username:…> are the converters credentials.urls and groups.urls register, which the
# portal's URLconf includes first.
app_name = "manage"

# Mounted at /api/manage/v1/ by the portal's URLconf (the portal pool: not the API pool's).
urlpatterns = [
    path("groups/", api.GroupList.as_view(), name="groups"),
    path("groups/<slug:slug>/", api.GroupDetail.as_view(), name="group"),
    path("groups/<slug:slug>/suspend/", api.GroupSuspend.as_view(), name="suspend-group"),
    path("groups/<slug:slug>/resume/", api.GroupResume.as_view(), name="resume-group"),
    path("groups/<slug:slug>/policy/", api.GroupPolicy.as_view(), name="policy"),
    path("groups/<slug:slug>/services/", api.ServiceList.as_view(), name="services"),
    path("groups/<slug:slug>/services/<str:service>/", api.ServiceDetail.as_view(), name="service"),
    path("groups/<slug:slug>/members/", api.MemberList.as_view(), name="members"),
    path("groups/<slug:slug>/members/<username:username>/", api.MemberDetail.as_view(), name="member"),
    path("groups/<slug:slug>/api-keys/", api.ApiKeyList.as_view(), name="api-keys"),
    path("groups/<slug:slug>/api-keys/<uuid:public_id>/", api.ApiKeyDetail.as_view(), name="api-key"),
    path(
        "groups/<slug:slug>/api-keys/<uuid:public_id>/expiry/",
        api.ApiKeyExpiry.as_view(),
        name="api-key-expiry",
    ),
    path(
        "groups/<slug:slug>/api-keys/<uuid:public_id>/scopes/",
        api.ApiKeyScopes.as_view(),
        name="api-key-scopes",
    ),
    path(
        "groups/<slug:slug>/api-keys/<uuid:public_id>/rate-limit/",
        api.ApiKeyRateLimit.as_view(),
        name="api-key-rate-limit",
    ),
    path(
        "groups/<slug:slug>/api-keys/<uuid:public_id>/networks/",
        api.ApiKeyNetworks.as_view(),
        name="api-key-networks",
    ),
    path(
        "groups/<slug:slug>/api-keys/<uuid:public_id>/<slot:slot>/regenerate/",
        api.ApiKeyRegenerate.as_view(),
        name="regenerate-key",
    ),
    path(
        "groups/<slug:slug>/api-keys/<uuid:public_id>/<slot:slot>/reveal/",
        api.ApiKeyReveal.as_view(),
        name="reveal-key",
    ),
    path("groups/<slug:slug>/oauth-clients/", api.OAuthClientList.as_view(), name="oauth-clients"),
    path(
        "groups/<slug:slug>/oauth-clients/<uuid:public_id>/",
        api.OAuthClientDetail.as_view(),
        name="oauth-client",
    ),
    path(
        "groups/<slug:slug>/oauth-clients/<uuid:public_id>/secret/regenerate/",
        api.OAuthSecretRegenerate.as_view(),
        name="regenerate-secret",
    ),
    path(
        "groups/<slug:slug>/oauth-clients/<uuid:public_id>/scopes/",
        api.OAuthClientScopes.as_view(),
        name="oauth-client-scopes",
    ),
    path(
        "groups/<slug:slug>/oauth-clients/<uuid:public_id>/rate-limit/",
        api.OAuthClientRateLimit.as_view(),
        name="oauth-client-rate-limit",
    ),
    path(
        "groups/<slug:slug>/oauth-clients/<uuid:public_id>/networks/",
        api.OAuthClientNetworks.as_view(),
        name="oauth-client-networks",
    ),
    path(
        "groups/<slug:slug>/oauth-clients/<uuid:public_id>/end-grace/",
        api.OAuthGraceEnd.as_view(),
        name="end-grace",
    ),
    path(
        "groups/<slug:slug>/oauth-clients/<uuid:public_id>/unlock/",
        api.OAuthClientUnlock.as_view(),
        name="unlock-oauth-client",
    ),
    path("groups/<slug:slug>/activity/", api.ActivityList.as_view(), name="activity"),
]
