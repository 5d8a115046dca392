"""The Authentication Information tab of a group and the actions on its credentials.

Every form that acts redirects (Post/Redirect/Get) and acts once (accounts.submissions.once), so a
reload, a double click or back-and-resubmit never repeats it. A new or shown value crosses the
redirect as a Reveal: encrypted, for this user, shown once by the tab it redirects to. In clear it
is only ever in the body of that page (or of Copy's JSON answer), marked no-store.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Prefetch
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from accounts.sessions import recent_password_required
from accounts.submissions import once
from credentials import identify, snippets, tab
from credentials.forms import (
    CreateCredentialForm,
    ExpiryForm,
    IdentifyForm,
    NetworksForm,
    RateLimitForm,
    RegenerateSecretForm,
    ScopesForm,
    UnlockForm,
)
from credentials.models import ApiKey, ApiKeyCredential, ClientSecret, OAuthClient, Reveal, Slot
from credentials.tab import SECRET_ROW
from groups.access import group_for, group_for_owner, group_for_write, visible_groups
from groups.forms import seen_version
from groups.models import EditConflict
from groups.responses import conflict
from portal.times import local_text


def _api_key_credentials(group):
    keys = Prefetch("keys", queryset=ApiKey.objects.order_by("slot"))
    return group.api_key_credentials.select_related("created_by").prefetch_related(keys)


def _oauth_clients(group):
    return group.oauth_clients.select_related("created_by").prefetch_related(
        Prefetch("secrets", queryset=ClientSecret.objects.order_by("-created_at", "-id"))
    )


API_KEY_INTRO = gettext_lazy("The credential gets a primary and a secondary key. Both work at the same time.")
OAUTH_CLIENT_INTRO = gettext_lazy(
    "The client gets a Client ID and a Client Secret. Both work with OAuth 2.0 (POST /v2/tokens) "
    "and the conventional method (POST /v1/tokens)."
)


def _render_tab(request, group, revealed=None):
    """The tab, with `revealed` {(credential public id, slot or SECRET_ROW): value} shown in clear."""
    context = {
        "group": group,
        **tab.context(group, revealed or {}, snippets.api_base_url(request)),
        "can_manage": group.can_manage_credentials,
        "regenerate_form": RegenerateSecretForm(),
        "show_enabled": settings.CREDENTIALS_SHOW,
    }
    return render(request, "credentials/auth_info.html", context)


def _names(group):
    """The names of the group's services, for the scope checkboxes."""
    return group.services.values_list("name", flat=True)


@login_required
@recent_password_required
@once
def api_key_scopes(request, slug, public_id):
    """The services an API key credential may use: the form on GET, the change on POST."""
    group = group_for_write(request, slug)
    return _scopes(request, group, get_object_or_404(group.api_key_credentials, public_id=public_id))


@login_required
@recent_password_required
@once
def oauth_client_scopes(request, slug, public_id):
    """The services an OAuth client's tokens may use, those issued already included."""
    group = group_for_write(request, slug)
    return _scopes(request, group, get_object_or_404(group.oauth_clients, public_id=public_id))


def _change(request, group, credential, form, template, change):
    """The page of one setting of `credential`: its form on GET or when refused; on POST,
    `change(cleaned_data)` (the model's method: version check and Activity) returns the message,
    and the browser goes back to the tab."""
    if request.method != "POST" or not form.is_valid():
        version = seen_version(request) or credential.version
        context = {"group": group, "credential": credential, "form": form, "version": version}
        return render(request, template, context)
    try:
        message = change(form.cleaned_data)
    except EditConflict as error:
        return conflict(request, error, reverse("credentials:auth-info", args=[group.slug]))
    messages.success(request, message)
    return redirect("credentials:auth-info", group.slug)


def _scopes(request, group, credential):
    def change(data):
        credential.set_scopes(data["scopes"], seen_version(request), request.user)
        if credential.scopes is None:
            return gettext("%(name)s may use every service now.") % {"name": credential.name}
        return gettext("%(name)s may use these services now: %(services)s.") % {
            "name": credential.name,
            "services": credential.scopes or gettext("none"),
        }

    form = ScopesForm(request.POST or None, services=_names(group)).initial_for(credential.scopes)
    return _change(request, group, credential, form, "credentials/credential_scopes.html", change)


def _render_new(request, group, form, kind, intro):
    context = {"group": group, "form": form, "kind": kind, "intro": intro}
    return render(request, "credentials/credential_new.html", context)


def _reveal(request, group, values):
    """Redirect to the tab, which shows `values` {(public id, slot or SECRET_ROW): value} once."""
    reveal_id = Reveal.objects.seal(request.user, group, values)
    return redirect(reverse("credentials:auth-info", args=[group.slug]) + f"?reveal={reveal_id}")


def _already_shown():
    if settings.CREDENTIALS_SHOW:
        return gettext("That value was shown once already and is not in this page again: use Show to see it.")
    return gettext(
        "That value was shown once already and cannot be shown again: regenerate it if it was not copied."
    )


_COPY_NOW = {
    "keys": (
        gettext_lazy("Copy its keys now."),
        gettext_lazy(
            "Copy its keys now: Show is turned off on this portal, so they will not be shown again. "
            "If one is lost, regenerate it."
        ),
    ),
    "secret": (
        gettext_lazy("Copy its client secret now."),
        gettext_lazy(
            "Copy its client secret now: Show is turned off on this portal, so it will not be shown "
            "again. If it is lost, regenerate it."
        ),
    ),
    "new": (
        gettext_lazy("Copy the new one now."),
        gettext_lazy(
            "Copy the new one now: Show is turned off on this portal, so it will not be shown again. "
            "If it is lost, regenerate it."
        ),
    ),
}


def _then(first, second):
    """Two sentences of one message, spaced as the active language spaces sentences."""
    return pgettext("two sentences in a row", "%(first)s %(second)s") % {"first": first, "second": second}


def _copy_now(what):
    """What the message with a new value asks: copy `what` ("keys", "secret", "new") now, and in
    show-once mode why this page is the only chance (Show is off, so nothing shows a value again)."""
    shown, once_only = _COPY_NOW[what]
    return str(shown if settings.CREDENTIALS_SHOW else once_only)


def _require_show_enabled():
    if not settings.CREDENTIALS_SHOW:
        raise PermissionDenied(gettext("Show is turned off on this portal: regenerate the value instead."))


def _for_copy(request):
    """Whether a Show comes from Copy (portal.js asks for JSON) rather than from the Show form. Copy
    of a value already on the page reads it there and records nothing: it reveals nothing new."""
    return not request.accepts("text/html")


def _shown(request, group, revealed):
    """Answer a Show with the tab showing it (a form post) or the value (Copy's JSON request)."""
    if not _for_copy(request):
        return _reveal(request, group, revealed)
    (value,) = revealed.values()
    return JsonResponse({"value": value})


def _delete(request, group, credential):
    """Ask for confirmation on GET; on POST delete it, if nobody changed it since the page was
    shown, and go back to the tab."""
    if request.method != "POST":
        context = {
            "group": group,
            "credential": credential,
            "version": seen_version(request) or credential.version,
        }
        return render(request, "credentials/credential_delete.html", context)
    try:
        credential.delete_as_seen(seen_version(request), request.user)
    except EditConflict as error:
        return conflict(request, error, reverse("credentials:auth-info", args=[group.slug]))
    deleted = gettext("%(kind)s %(name)s deleted: %(consequence)s")
    messages.success(
        request,
        deleted
        % {"kind": credential.kind, "name": credential.name, "consequence": credential.delete_consequence},
    )
    return redirect("credentials:auth-info", group.slug)


@login_required
@never_cache
@sensitive_variables()
def authentication_information(request, slug):
    """The tab; `?reveal=` shows, once, the values the action that redirected here made or showed."""
    group = group_for(request, slug)
    revealed = None
    if "reveal" in request.GET:
        revealed = Reveal.objects.take(request.GET["reveal"], request.user, group)
        if revealed is None:
            messages.info(request, _already_shown())
    return _render_tab(request, group, revealed)


@login_required
@recent_password_required
@never_cache
@sensitive_variables()
@once
def api_key_create(request, slug):
    group = group_for_write(request, slug)
    form = CreateCredentialForm(
        request.POST or None, existing=group.api_key_credentials, services=_names(group)
    )
    if request.method == "POST" and form.is_valid():
        try:
            name, expires_at, scopes, rate_limit, allowed_networks = (
                form.cleaned_data[field]
                for field in ("name", "expires_at", "scopes", "rate_limit", "allowed_networks")
            )
            credential, values = ApiKeyCredential.create_with_keys(
                group, name, request.user, expires_at, scopes, rate_limit, allowed_networks
            )
        except IntegrityError:  # the same name, created at the same moment by someone else
            return _render_new(
                request, group, form.name_taken(), gettext("an API key credential"), API_KEY_INTRO
            )
        created = gettext("API key %(name)s created. %(copy_now)s")
        messages.success(request, created % {"name": credential.name, "copy_now": _copy_now("keys")})
        return _reveal(
            request, group, {(credential.public_id, slot): value for slot, value in values.items()}
        )
    return _render_new(request, group, form, gettext("an API key credential"), API_KEY_INTRO)


@login_required
@never_cache
@require_POST
@recent_password_required
@sensitive_variables()
@once
def api_key_show(request, slug, public_id, slot):
    group = group_for_write(request, slug)
    _require_show_enabled()
    credential = get_object_or_404(_api_key_credentials(group), public_id=public_id)
    value = credential.reveal(slot, for_copy=_for_copy(request))
    revealed = {(credential.public_id, slot): value}
    return _shown(request, group, revealed)


@login_required
@never_cache
@recent_password_required
@sensitive_variables()
@once
def api_key_regenerate(request, slug, public_id, slot):
    group = group_for_write(request, slug)
    credential = get_object_or_404(_api_key_credentials(group), public_id=public_id)
    if request.method != "POST":
        key = credential.key(slot)
        key.warnings = credential.rotation_warnings(slot)
        version = seen_version(request) or credential.version
        context = {"group": group, "credential": credential, "key": key, "version": version}
        return render(request, "credentials/api_key_regenerate.html", context)
    try:
        value = credential.regenerate(slot, seen_version(request), request.user)
    except EditConflict as error:
        return conflict(request, error, reverse("credentials:auth-info", args=[group.slug]))
    regenerated = gettext("%(key)s of %(name)s regenerated: the old one no longer works.") % {
        "key": Slot(slot).label,
        "name": credential.name,
    }
    if not settings.CREDENTIALS_SHOW:
        regenerated = _then(regenerated, _copy_now("new"))
    messages.success(request, regenerated)
    return _reveal(request, group, {(credential.public_id, slot): value})


@login_required
@recent_password_required
@once
def api_key_expiry(request, slug, public_id):
    """The expiry of an API key credential's two keys: the form on GET, the change on POST."""
    group = group_for_write(request, slug)
    credential = get_object_or_404(group.api_key_credentials, public_id=public_id)

    def change(data):
        credential.set_expiry(data["expires_at"], seen_version(request), request.user)
        if credential.expires_at is None:
            return gettext("The keys of %(name)s never expire now.") % {"name": credential.name}
        return gettext("The keys of %(name)s expire %(at)s.") % {
            "name": credential.name,
            "at": local_text(credential.expires_at),
        }

    form = ExpiryForm(request.POST or None)
    return _change(request, group, credential, form, "credentials/api_key_expiry.html", change)


def _suspension_rule():
    """What a 403 on Suspend or Resume says (staff act as owners)."""
    return gettext("Only the group's owners can suspend or resume it")


@login_required
@recent_password_required
@once
def group_suspend(request, slug):
    """Ask for confirmation on GET; on POST suspend the group: every credential refused, every
    token revoked (Group.suspend)."""
    group = group_for_owner(request, slug, _suspension_rule(), "suspension")
    if request.method != "POST":
        return render(request, "credentials/group_suspend.html", {"group": group})
    if group.suspend(request.user):
        messages.success(
            request,
            gettext("%(name)s suspended: every credential is refused and every token was revoked.")
            % {"name": group.name},
        )
    else:
        messages.info(request, gettext("%(name)s was suspended already.") % {"name": group.name})
    return redirect("credentials:auth-info", group.slug)


@login_required
@require_POST
@recent_password_required
@once
def group_resume(request, slug):
    """Accept the group's credentials again; the revoked tokens stay revoked (Group.resume)."""
    group = group_for_owner(request, slug, _suspension_rule(), "suspension")
    if group.resume(request.user):
        messages.success(
            request,
            gettext(
                "%(name)s resumed: its API keys and client secrets work again. Tokens revoked by"
                " the suspension stay revoked: applications request new ones."
            )
            % {"name": group.name},
        )
    else:
        messages.info(request, gettext("%(name)s was not suspended.") % {"name": group.name})
    return redirect("credentials:auth-info", group.slug)


@login_required
@recent_password_required
@once
def api_key_delete(request, slug, public_id):
    group = group_for_write(request, slug)
    credential = get_object_or_404(group.api_key_credentials, public_id=public_id)
    return _delete(request, group, credential)


@login_required
@recent_password_required
@never_cache
@sensitive_variables()
@once
def oauth_client_create(request, slug):
    group = group_for_write(request, slug)
    form = CreateCredentialForm(request.POST or None, existing=group.oauth_clients, services=_names(group))
    if request.method == "POST" and form.is_valid():
        try:
            name, expires_at, scopes, rate_limit, allowed_networks = (
                form.cleaned_data[field]
                for field in ("name", "expires_at", "scopes", "rate_limit", "allowed_networks")
            )
            client, value = OAuthClient.create_with_secret(
                group, name, request.user, expires_at, scopes, rate_limit, allowed_networks
            )
        except IntegrityError:  # the same name, created at the same moment by someone else
            return _render_new(
                request, group, form.name_taken(), gettext("an OAuth client"), OAUTH_CLIENT_INTRO
            )
        created = gettext("OAuth client %(name)s created. %(copy_now)s")
        messages.success(request, created % {"name": client.name, "copy_now": _copy_now("secret")})
        return _reveal(request, group, {(client.public_id, SECRET_ROW): value})
    return _render_new(request, group, form, gettext("an OAuth client"), OAUTH_CLIENT_INTRO)


@login_required
@never_cache
@require_POST
@recent_password_required
@sensitive_variables()
@once
def oauth_secret_show(request, slug, public_id):
    group = group_for_write(request, slug)
    _require_show_enabled()
    client = get_object_or_404(_oauth_clients(group), public_id=public_id)
    value = client.reveal_secret(for_copy=_for_copy(request))
    if value is None:  # its only secret expired and was purged: nothing to show
        raise Http404(gettext("This client has no secret: regenerate it."))
    return _shown(request, group, {(client.public_id, SECRET_ROW): value})


@login_required
@never_cache
@recent_password_required
@sensitive_variables()
@once
def oauth_secret_regenerate(request, slug, public_id):
    group = group_for_write(request, slug)
    client = get_object_or_404(_oauth_clients(group), public_id=public_id)
    form = RegenerateSecretForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        version = seen_version(request) or client.version
        context = {"group": group, "client": client, "regenerate_form": form, "version": version}
        context["warnings"] = client.rotation_warnings()
        return render(request, "credentials/oauth_secret_regenerate.html", context)
    grace, revoke = form.cleaned_data["grace_seconds"], form.cleaned_data["revoke_tokens"]
    try:
        value = client.regenerate_secret(
            seen_version(request), request.user, grace, revoke, form.cleaned_data["expires_at"]
        )
    except EditConflict as error:
        return conflict(request, error, reverse("credentials:auth-info", args=[group.slug]))
    if grace:
        regenerated = gettext(
            "Client secret of %(name)s regenerated: the old one stops working in %(grace)s."
        )
    else:
        regenerated = gettext("Client secret of %(name)s regenerated: the old one stops working at once.")
    regenerated %= {"name": client.name, "grace": form.GRACE_PERIODS[grace]}
    if revoke:
        regenerated = _then(regenerated, gettext("Tokens issued so far were revoked."))
    if not settings.CREDENTIALS_SHOW:
        regenerated = _then(regenerated, _copy_now("new"))
    messages.success(request, regenerated)
    return _reveal(request, group, {(client.public_id, SECRET_ROW): value})


@login_required
@recent_password_required
@once
def oauth_grace_end(request, slug, public_id):
    """Ask for confirmation on GET; on POST refuse the client's replaced secrets from now on."""
    group = group_for_write(request, slug)
    client = get_object_or_404(_oauth_clients(group), public_id=public_id)
    if request.method != "POST":
        context = {"group": group, "client": client, "version": seen_version(request) or client.version}
        return render(request, "credentials/oauth_grace_end.html", context)
    try:
        ended = client.end_grace(seen_version(request), request.user)
    except EditConflict as error:
        return conflict(request, error, reverse("credentials:auth-info", args=[group.slug]))
    if ended:
        messages.success(
            request,
            gettext("Grace period of %(name)s ended: the previous secret is refused.")
            % {"name": client.name},
        )
    else:
        messages.info(
            request, gettext("%(name)s has no previous secret still working.") % {"name": client.name}
        )
    return redirect("credentials:auth-info", group.slug)


@login_required
@recent_password_required
@once
def oauth_client_delete(request, slug, public_id):
    group = group_for_write(request, slug)
    client = get_object_or_404(group.oauth_clients, public_id=public_id)
    return _delete(request, group, client)


def _rate_limit(request, group, credential):
    def change(data):
        limit = data["rate_limit"]
        credential.set_rate_limit(limit, seen_version(request), request.user)
        if limit:
            return gettext("%(name)s may now make %(limit)s requests per minute.") % {
                "name": credential.name,
                "limit": limit,
            }
        return gettext("%(name)s has no rate limit now.") % {"name": credential.name}

    form = RateLimitForm(request.POST or None, initial={"rate_limit": credential.rate_limit})
    return _change(request, group, credential, form, "credentials/rate_limit.html", change)


def _networks(request, group, credential):
    def change(data):
        allowed = data["allowed_networks"]
        credential.set_allowed_networks(allowed, seen_version(request), request.user)
        if allowed:
            return gettext("%(name)s may now be used only from %(networks)s.") % {
                "name": credential.name,
                "networks": allowed,
            }
        return gettext("%(name)s may now be used from any address.") % {"name": credential.name}

    form = NetworksForm(request.POST or None, initial={"allowed_networks": credential.allowed_networks})
    return _change(request, group, credential, form, "credentials/networks.html", change)


@login_required
@once
def api_key_networks(request, slug, public_id):
    group = group_for_write(request, slug)
    credential = get_object_or_404(group.api_key_credentials, public_id=public_id)
    return _networks(request, group, credential)


@login_required
@once
def oauth_client_networks(request, slug, public_id):
    group = group_for_write(request, slug)
    client = get_object_or_404(group.oauth_clients, public_id=public_id)
    return _networks(request, group, client)


@login_required
@once
def api_key_rate_limit(request, slug, public_id):
    group = group_for_write(request, slug)
    credential = get_object_or_404(group.api_key_credentials, public_id=public_id)
    return _rate_limit(request, group, credential)


@login_required
@once
def oauth_client_rate_limit(request, slug, public_id):
    group = group_for_write(request, slug)
    client = get_object_or_404(group.oauth_clients, public_id=public_id)
    return _rate_limit(request, group, client)


@login_required
@require_POST
@once
def oauth_client_unlock(request, slug, public_id):
    group = group_for_write(request, slug)
    client = get_object_or_404(group.oauth_clients, public_id=public_id)
    form = UnlockForm(request.POST)
    if form.is_valid() and client.unlock(form.cleaned_data["address"]):
        where = form.cleaned_data["address"] or gettext("an unknown address")
        messages.success(
            request, gettext("%(name)s unlocked for %(address)s.") % {"name": client.name, "address": where}
        )
    else:
        messages.info(request, gettext("That address was not locked."))
    return redirect("credentials:auth-info", group.slug)


def identify_count_key(user):
    """The cache key counting `user`'s lookups on the Identify page this minute."""
    return f"identify:{user.pk}:{int(time.time() // 60)}"


def _too_many_lookups(user):
    """Whether `user` made more than IDENTIFY_PER_MINUTE lookups this minute (a cache counter, so
    every worker counts together): pasting is for a leaked value or two, not for guessing."""
    key = identify_count_key(user)
    cache.add(key, 0, timeout=60)
    try:
        return cache.incr(key) > settings.IDENTIFY_PER_MINUTE
    except ValueError:  # expired between add and incr: a new minute
        return False


@login_required
@require_http_methods(["GET", "POST"])
@sensitive_post_parameters("value")
@never_cache
def identify_credential(request):
    """Identify a credential: whose a pasted value or hint is, among the groups the user may see.
    A value of any other group gets the same answer as garbage, and is never stored or echoed."""
    form = IdentifyForm(request.POST if request.method == "POST" else None)
    context = {"form": form, "matches": None}
    if form.is_valid():
        if _too_many_lookups(request.user):
            context["too_many"] = True
            return render(request, "credentials/identify.html", context, status=429)
        context["matches"] = identify.identify(form.cleaned_data["value"], visible_groups(request.user))
    return render(request, "credentials/identify.html", context)
