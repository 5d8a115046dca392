from django.urls import path, register_converter

from credentials import views
from credentials.converters import SlotConverter

register_converter(SlotConverter, "slot")

app_name = "credentials"

# Mounted under /groups/<slug>/: the Authentication Information tab and its actions.
urlpatterns = [
    path("", views.authentication_information, name="auth-info"),
    path("api-keys/new/", views.api_key_create, name="create-api-key"),
    path("api-keys/<uuid:public_id>/<slot:slot>/show/", views.api_key_show, name="show-key"),
    path(
        "api-keys/<uuid:public_id>/<slot:slot>/regenerate/",
        views.api_key_regenerate,
        name="regenerate-key",
    ),
    path("api-keys/<uuid:public_id>/delete/", views.api_key_delete, name="delete-api-key"),
]
