"""The Authentication Information tab of a group and the actions on its credentials.

A value in clear is only ever in the body of the response to the POST that created, regenerated
or showed it, never in the session or a redirect, and every such response is marked no-store.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from accounts.sessions import recent_password_required
from credentials import tab
from credentials.forms import CredentialNameForm, RegenerateSecretForm, UnlockForm
from credentials.models import ApiKey, ApiKeyCredential, ClientSecret, Lockout, OAuthClient, Slot
from credentials.tab import SECRET_ROW
from groups.access import group_for, group_for_write
from groups.activity import record
from groups.forms import seen_version
from groups.models import Action, EditConflict
from groups.responses import conflict


def _api_key_credentials(group):
    keys = Prefetch("keys", queryset=ApiKey.objects.order_by("slot"))
    return group.api_key_credentials.select_related("created_by").prefetch_related(keys)


def _oauth_clients(group):
    return group.oauth_clients.select_related("created_by").prefetch_related(
        Prefetch("secrets", queryset=ClientSecret.objects.order_by("-created_at", "-id"))
    )


API_KEY_INTRO = "The credential gets a primary and a secondary key. Both work at the same time."
OAUTH_CLIENT_INTRO = (
    "The client gets a Client ID and a Client Secret. Both work with OAuth 2.0 (POST /v2/tokens) "
    "and the conventional method (POST /v1/tokens)."
)


def _render_tab(request, group, revealed=None):
    """The tab, with `revealed` {(credential public id, slot or SECRET_ROW): value} shown in clear."""
    context = {
        "group": group,
        **tab.context(group, revealed or {}),
        "can_manage": group.can_manage_credentials,
        "regenerate_form": RegenerateSecretForm(),
        "show_enabled": settings.CREDENTIALS_SHOW,
    }
    return render(request, "credentials/auth_info.html", context)


def _render_new(request, group, form, kind, intro):
    context = {"group": group, "form": form, "kind": kind, "intro": intro}
    return render(request, "credentials/credential_new.html", context)


def _require_show_enabled():
    if not settings.CREDENTIALS_SHOW:
        raise PermissionDenied("Show is turned off on this portal: regenerate the value instead.")


def _shown(request, group, revealed, action, target):
    """Record a Show, then answer with the tab (a form post) or the value (Copy's JSON request)."""
    record(request, group, action, target)
    if request.accepts("text/html"):
        return _render_tab(request, group, revealed)
    (value,) = revealed.values()
    return JsonResponse({"value": value})


def _delete(request, group, credential, action):
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
        with transaction.atomic():
            credential.delete_as_seen(seen_version(request), request.user)
            record(request, group, action, credential.name)
    except EditConflict as error:
        return conflict(request, error, reverse("credentials:auth-info", args=[group.slug]))
    messages.success(request, f"{credential.kind} {credential.name} deleted: {credential.delete_consequence}")
    return redirect("credentials:auth-info", group.slug)


@login_required
@never_cache
def authentication_information(request, slug):
    return _render_tab(request, group_for(request, slug))


@login_required
@recent_password_required
@never_cache
@sensitive_variables()
def api_key_create(request, slug):
    group = group_for_write(request, slug)
    form = CredentialNameForm(request.POST or None, existing=group.api_key_credentials)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                credential, values = ApiKeyCredential.create_with_keys(
                    group, form.cleaned_data["name"], request.user
                )
                record(request, group, Action.API_KEY_CREATED, credential.name)
        except IntegrityError:  # the same name, created at the same moment by someone else
            return _render_new(request, group, form.name_taken(), "an API key credential", API_KEY_INTRO)
        messages.success(request, f"API key {credential.name} created. Copy its keys now.")
        return _render_tab(
            request, group, {(credential.public_id, slot): value for slot, value in values.items()}
        )
    return _render_new(request, group, form, "an API key credential", API_KEY_INTRO)


@login_required
@never_cache
@require_POST
@recent_password_required
@sensitive_variables()
def api_key_show(request, slug, public_id, slot):
    group = group_for_write(request, slug)
    _require_show_enabled()
    credential = get_object_or_404(_api_key_credentials(group), public_id=public_id)
    value = credential.reveal(slot)
    revealed = {(credential.public_id, slot): value}
    return _shown(request, group, revealed, Action.API_KEY_SHOWN, f"{credential.name} {slot} key")


@login_required
@never_cache
@recent_password_required
@sensitive_variables()
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
        with transaction.atomic():
            value = credential.regenerate(slot, seen_version(request), request.user)
            record(request, group, Action.API_KEY_REGENERATED, f"{credential.name} {slot} key")
    except EditConflict as error:
        return conflict(request, error, reverse("credentials:auth-info", args=[group.slug]))
    messages.success(
        request, f"{Slot(slot).label} of {credential.name} regenerated: the old one no longer works."
    )
    return _render_tab(request, group, {(credential.public_id, slot): value})


@login_required
@recent_password_required
def api_key_delete(request, slug, public_id):
    group = group_for_write(request, slug)
    credential = get_object_or_404(group.api_key_credentials, public_id=public_id)
    return _delete(request, group, credential, Action.API_KEY_DELETED)


@login_required
@recent_password_required
@never_cache
@sensitive_variables()
def oauth_client_create(request, slug):
    group = group_for_write(request, slug)
    form = CredentialNameForm(request.POST or None, existing=group.oauth_clients)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                client, value = OAuthClient.create_with_secret(group, form.cleaned_data["name"], request.user)
                record(request, group, Action.OAUTH_CLIENT_CREATED, client.name)
        except IntegrityError:  # the same name, created at the same moment by someone else
            return _render_new(request, group, form.name_taken(), "an OAuth client", OAUTH_CLIENT_INTRO)
        messages.success(request, f"OAuth client {client.name} created. Copy its client secret now.")
        return _render_tab(request, group, {(client.public_id, SECRET_ROW): value})
    return _render_new(request, group, form, "an OAuth client", OAUTH_CLIENT_INTRO)


@login_required
@never_cache
@require_POST
@recent_password_required
@sensitive_variables()
def oauth_secret_show(request, slug, public_id):
    group = group_for_write(request, slug)
    _require_show_enabled()
    client = get_object_or_404(_oauth_clients(group), public_id=public_id)
    value = client.reveal_secret()
    return _shown(
        request, group, {(client.public_id, SECRET_ROW): value}, Action.OAUTH_SECRET_SHOWN, client.name
    )


@login_required
@never_cache
@recent_password_required
@sensitive_variables()
def oauth_secret_regenerate(request, slug, public_id):
    group = group_for_write(request, slug)
    client = get_object_or_404(_oauth_clients(group), public_id=public_id)
    form = RegenerateSecretForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        version = seen_version(request) or client.version
        context = {"group": group, "client": client, "regenerate_form": form, "version": version}
        return render(request, "credentials/oauth_secret_regenerate.html", context)
    grace, revoke = form.cleaned_data["grace_seconds"], form.cleaned_data["revoke_tokens"]
    try:
        with transaction.atomic():
            value = client.regenerate_secret(seen_version(request), request.user, grace, revoke)
            record(request, group, Action.OAUTH_SECRET_REGENERATED, client.name)
    except EditConflict as error:
        return conflict(request, error, reverse("credentials:auth-info", args=[group.slug]))
    ends = "at once" if not grace else f"in {dict(form.GRACE_CHOICES)[grace].removeprefix('After ')}"
    revoked = " Tokens issued so far were revoked." if revoke else ""
    messages.success(
        request, f"Client secret of {client.name} regenerated: the old one stops working {ends}.{revoked}"
    )
    return _render_tab(request, group, {(client.public_id, SECRET_ROW): value})


@login_required
@recent_password_required
def oauth_client_delete(request, slug, public_id):
    group = group_for_write(request, slug)
    client = get_object_or_404(group.oauth_clients, public_id=public_id)
    return _delete(request, group, client, Action.OAUTH_CLIENT_DELETED)


@login_required
@require_POST
def oauth_client_unlock(request, slug, public_id):
    group = group_for_write(request, slug)
    client = get_object_or_404(group.oauth_clients, public_id=public_id)
    form = UnlockForm(request.POST)
    if form.is_valid() and Lockout.objects.unlock(client.client_id, form.cleaned_data["address"]):
        where = form.cleaned_data["address"] or "an unknown address"
        record(request, group, Action.CLIENT_UNLOCKED, f"{client.name} from {where}")
        messages.success(request, f"{client.name} unlocked for {where}.")
    else:
        messages.info(request, "That address was not locked.")
    return redirect("credentials:auth-info", group.slug)
