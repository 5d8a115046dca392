import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from accounts.forms import PasswordForm
from accounts.sessions import AUTHENTICATED_AT


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
    context = {"form": form, "next": next_url, "minutes": settings.REAUTHENTICATE_AFTER // 60}
    return render(request, "registration/reauthenticate.html", context)


class SignOutView(auth_views.LogoutView):
    """Django's sign-out, which then says so on the Sign in page it leads to."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, gettext("You are signed out."))
        return response
