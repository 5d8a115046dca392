from allauth.mfa.base import views as mfa
from allauth.mfa.recovery_codes import views as recovery_codes
from allauth.mfa.totp import views as totp
from allauth.mfa.webauthn import views as passkeys
from allauth.socialaccount import views as social
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.decorators.http import require_http_methods

from accounts import sso, views
from accounts.sessions import recent_password_required


def form_page(view):
    """allauth's page and its form: GET and POST only, as the portal's own pages."""
    return require_http_methods(["GET", "POST"])(view)


def own(view):
    """A page of one's own account."""
    return login_required(form_page(view))


def fresh(view):
    """A page of one's own account that changes a second factor: behind a recent password, as Show is."""
    return login_required(recent_password_required(form_page(view)))


# Two-factor authentication: allauth's views under the names its code uses, on the portal's templates.
two_factor = [
    path("", own(views.TwoFactorView.as_view()), name="mfa_index"),
    path("everyone/", views.require_everywhere, name="mfa_require_everywhere"),
    path("authenticate/", form_page(mfa.authenticate), name="mfa_authenticate"),
    path("app/", fresh(totp.activate_totp), name="mfa_activate_totp"),
    path("app/off/", fresh(totp.deactivate_totp), name="mfa_deactivate_totp"),
    path("recovery-codes/", fresh(recovery_codes.view_recovery_codes), name="mfa_view_recovery_codes"),
    path(
        "recovery-codes/new/",
        fresh(recovery_codes.generate_recovery_codes),
        name="mfa_generate_recovery_codes",
    ),
    path("passkeys/", own(passkeys.list_webauthn), name="mfa_list_webauthn"),
    path("passkeys/add/", fresh(passkeys.add_webauthn), name="mfa_add_webauthn"),
    path("passkeys/<int:pk>/", fresh(passkeys.edit_webauthn), name="mfa_edit_webauthn"),
    path("passkeys/<int:pk>/remove/", fresh(passkeys.remove_webauthn), name="mfa_remove_webauthn"),
    path("passkeys/sign-in/", form_page(passkeys.login_webauthn), name="mfa_login_webauthn"),
]

# Sign in and out; one's password, language and time zone. No self-service reset by e-mail: the
# portal mails only invitations (groups.models.Invitation), and a staff user sets a new password in
# the admin site.
# Single sign-on (OpenID Connect), and allauth's pages for its failures and a username it must ask for.
single_sign_on = [
    path("<str:provider_id>/login/", sso.login, name="openid_connect_login"),
    path("<str:provider_id>/login/callback/", sso.callback, name="openid_connect_callback"),
    path("error/", form_page(social.login_error), name="socialaccount_login_error"),
    path("cancelled/", form_page(social.login_cancelled), name="socialaccount_login_cancelled"),
    path("username/", form_page(social.signup), name="socialaccount_signup"),
]

urlpatterns = [
    path("two-factor/", include(two_factor)),
    path("oidc/", include(single_sign_on)),
    path("reauthenticate/", views.reauthenticate, name="reauthenticate"),
    path("language/", views.set_language, name="set_language"),
    path("preferences/", views.preferences, name="preferences"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    # The names allauth's views and templates use for the same pages.
    path("login/", views.SignInView.as_view(), name="account_login"),
    path("logout/", views.SignOutView.as_view(), name="account_logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
