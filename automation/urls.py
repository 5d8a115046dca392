from django.urls import path

from automation import views

app_name = "automation"

# One's own personal access tokens, under /accounts/tokens/ (the top bar's "API tokens").
urlpatterns = [
    path("", views.token_list, name="tokens"),
    path("new/", views.token_new, name="token-new"),
    path("<uuid:public_id>/revoke/", views.token_revoke, name="token-revoke"),
]
