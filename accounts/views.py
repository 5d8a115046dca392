import time

from allauth.account.views import LoginView
from allauth.mfa.base.views import IndexView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render, resolve_url
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import sso, two_factor
from accounts.forms import PasswordForm, PreferenceForm
from accounts.models import Preference
from accounts.sessions import AUTHENTICATED_AT
from accounts.submissions import once


@never_cache
@sensitive_post_parameters("password")
@login_required
@require_http_methods(["GET", "POST"])
def reauthenticate(request):
    """The password page in front of Show and Regenerate."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = resolve_url(settings.LOGIN_REDIRECT_URL)
    form = PasswordForm(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        request.session.cycle_key()
        request.session[AUTHENTICATED_AT] = time.time()
        return redirect(next_url)
    context = {
        "form": form,
        "next": next_url,
        "minutes": settings.REAUTHENTICATE_AFTER // 60,
        "single_sign_on": sso.provider_name(),
    }
    return render(request, "registration/reauthenticate.html", context)


@method_decorator(require_http_methods(["GET", "POST"]), name="dispatch")
class SignInView(LoginView):
    """allauth's sign-in (the second step, where the account has one), on the portal's page."""

    template_name = "registration/login.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["single_sign_on"] = sso.provider_name()
        context["password_sign_in"] = settings.PASSWORD_SIGN_IN
        return context


class SignOutView(auth_views.LogoutView):
    """Django's sign-out, which then says so on the Sign in page it leads to."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, gettext("You are signed out."))
        return response


@require_POST
def set_language(request):
    """The switcher: Django's set_language (the language cookie, a safe redirect back), and for a
    signed-in user the choice kept on the account, so that it follows them to another browser."""
    response = i18n_views.set_language(request)
    language = request.POST.get(i18n_views.LANGUAGE_QUERY_PARAMETER)
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        Preference.objects.choose_language(request.user, language)
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
@once
def preferences(request):
    """The account's language and time zone."""
    form = PreferenceForm(request.POST or None, instance=Preference.objects.of(request.user))
    if request.method == "POST" and form.is_valid():
        preference = form.save()
        if preference.language:  # its message in the language just chosen
            translation.activate(preference.language)
        response = redirect("preferences")
        # The sign-in page follows the account's language too.
        if preference.language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, preference.language, **language_cookie())
        else:
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        messages.success(request, gettext("Your preferences are saved."))
        return response
    return render(request, "accounts/preferences.html", {"form": form})


def language_cookie():
    """The language cookie's attributes, as Django's set_language sets them."""
    return {
        "max_age": settings.LANGUAGE_COOKIE_AGE,
        "path": settings.LANGUAGE_COOKIE_PATH,
        "domain": settings.LANGUAGE_COOKIE_DOMAIN,
        "secure": settings.LANGUAGE_COOKIE_SECURE,
        "httponly": settings.LANGUAGE_COOKIE_HTTPONLY,
        "samesite": settings.LANGUAGE_COOKIE_SAMESITE,
    }


class TwoFactorView(IndexView):
    """allauth's list of one's second factors, with the requirements that apply, and for staff the
    switch that requires one for everyone."""

    template_name = "mfa/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["required_everywhere"] = two_factor.required_everywhere()
        context["has_second_factor"] = two_factor.has_second_factor(self.request.user)
        return context


@never_cache
@login_required
@require_POST
def require_everywhere(request):
    """Staff require a second factor of everyone, or stop requiring it."""
    if not request.user.is_staff:
        raise PermissionDenied(gettext("Only staff can require two-factor authentication for everyone."))
    required = request.POST.get("required") == "on"
    if required and not two_factor.has_second_factor(request.user):
        messages.error(request, gettext("Set up two-factor authentication for yourself first."))
    elif two_factor.require_everywhere(required, request.user):
        now = gettext("Two-factor authentication is now required for everyone.")
        no_longer = gettext("Two-factor authentication is no longer required for everyone.")
        messages.success(request, now if required else no_longer)
    return redirect("mfa_index")


@require_http_methods(["GET", "POST"])
def admin_sign_in(request):
    """The admin site signs in on the portal's page, so that staff pass its second factor, single
    sign-on and limits there too; `next` leads back to the admin page asked for."""
    query = request.GET.urlencode()
    return redirect(f"{resolve_url('login')}?{query}" if query else "login")
