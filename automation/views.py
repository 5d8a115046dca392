"""The API tokens page: a user's personal access tokens, made, listed and revoked.

A new token's value crosses the redirect after creating it encrypted in the session, and the list
page takes it out and shows it once; nothing else keeps it (the database has its digest only).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET

from accounts.sessions import recent_password_required
from accounts.submissions import once
from automation.forms import TokenForm
from automation.models import PersonalAccessToken
from credentials import secrets

# The session's note of the token just made: its value, encrypted, until the list shows it.
NEW_TOKEN = "new_personal_access_token"  # noqa: S105 (a session key)


@login_required
@require_GET
@never_cache
@sensitive_variables()
def token_list(request):
    sealed = request.session.pop(NEW_TOKEN, None)
    context = {
        "tokens": request.user.personal_access_tokens.all(),
        "new_value": secrets.decrypt(sealed) if sealed else None,
    }
    return render(request, "automation/tokens.html", context)


@login_required
@recent_password_required
@never_cache
@sensitive_variables()
@once
def token_new(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        token, raw = PersonalAccessToken.objects.create_for(
            request.user, data["name"], data["expires_at"], read_only=data["access"] == "read"
        )
        request.session[NEW_TOKEN] = secrets.encrypt(raw)
        messages.success(
            request,
            gettext("Token %(name)s created. Copy it now: it will not be shown again.")
            % {"name": token.name},
        )
        return redirect("automation:tokens")
    return render(request, "automation/token_new.html", {"form": form})


@login_required
@once
def token_revoke(request, public_id):
    """Ask for confirmation on GET; on POST end the token (one's own only: 404 for anyone else's)."""
    token = get_object_or_404(request.user.personal_access_tokens, public_id=public_id)
    if request.method != "POST":
        return render(request, "automation/token_revoke.html", {"token": token})
    if token.revoke():
        messages.success(
            request, gettext("Token %(name)s revoked: it no longer works.") % {"name": token.name}
        )
    else:
        messages.info(request, gettext("Token %(name)s was revoked already.") % {"name": token.name})
    return redirect("automation:tokens")
