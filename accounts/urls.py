from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

# Sign in and out; one's password, language and time zone. No self-service reset by e-mail: the
# portal mails only invitations (groups.models.Invitation), and a staff user sets a new password in
# the admin site.
urlpatterns = [
    path("reauthenticate/", views.reauthenticate, name="reauthenticate"),
    path("language/", views.set_language, name="set_language"),
    path("preferences/", views.preferences, name="preferences"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
