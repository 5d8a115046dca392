"""What a pasted value is: the credential behind an API key, client secret, access token, refresh
token or client ID, or behind a hint (prefix and last four characters, as the tab masks values).

Every lookup is one query restricted to the groups given, so a value of a group the caller may not
see costs the same as an unknown one and answers the same: nothing. Full values go by their keyed
digest (a malformed one costs no query), compared again in constant time.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from credentials import scopes, secrets
from credentials.models import AccessToken, ApiKey, ClientSecret, ClientUsage, OAuthClient, RefreshToken, Slot
from credentials.secrets import Kind
from groups.models import Group

CLIENT_ID = re.compile(r"gpc_[0-9A-Za-z]{22}\Z")
# A masked value as the tab shows it, `gps_…QjgX`; three dots or none also do.
HINT = re.compile(r"(gpk|gps|gpc)_(?:…|\.\.\.)?([0-9A-Za-z]{4})\Z")

KINDS = {
    "api_key": _("API key"),
    "client_secret": _("Client Secret"),
    "access_token": _("access token"),
    "refresh_token": _("refresh token"),
    "client_id": _("Client ID"),
}
CURRENT_SECRET, PREVIOUS_SECRET = _("Current secret"), _("Previous secret")


@dataclass(frozen=True)
class Match:
    """One credential a value or hint points to, with what the Identify page shows of it."""

    kind: str  # a key of KINDS
    group: Group
    credential: str
    slot: str  # a label: the key's slot, or which secret; "" for tokens and client IDs
    hint: str  # the masked value as the tab shows it; "" for tokens, which have none
    created_at: datetime
    valid: bool
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    last_used_address: str | None = None
    client_id: str | None = None
    # The services a token may use (credentials.scopes), None for all; tokens only.
    scopes: frozenset | None = None

    @property
    def kind_label(self):
        return KINDS[self.kind]

    @property
    def uses_recorded(self):
        """Whether last uses are recorded for this kind: tokens' uses are not."""
        return self.kind not in ("access_token", "refresh_token")


def identify(value, groups):
    """The credentials `value` (a full value, client ID or hint) points to within `groups`."""
    value = value.strip()
    if value[:4] in ("gpa_", "gpr_"):
        return tokens(value, groups)
    if digest := secrets.digest_of(value, Kind.API_KEY):
        return [_key(key) for key in _keys(groups).filter(digest=digest) if secrets.same(key.digest, digest)]
    if digest := secrets.digest_of(value, Kind.CLIENT_SECRET):
        found = _secrets(groups).filter(digest=digest)
        return [_secret(secret) for secret in found if secrets.same(secret.digest, digest)]
    if CLIENT_ID.match(value):
        found = _clients(groups).filter(client_id=value)
        return [_client(client) for client in found if secrets.same(client.client_id, value)]
    if hint := HINT.match(value):
        return _by_hint(hint[1], hint[2], groups)
    return []


def tokens(value, groups):
    """The access or refresh token `value` is, within `groups`, live or not (RFC 7662 asks only
    about tokens: introspection uses this too)."""
    if digest := secrets.digest_of(value, Kind.ACCESS_TOKEN):
        found = AccessToken.objects.filter(digest=digest, client__group__in=groups)
        found = found.select_related("client__group")
        return [_access(token) for token in found if secrets.same(token.digest, digest)]
    if digest := secrets.digest_of(value, Kind.REFRESH_TOKEN):
        found = RefreshToken.objects.filter(digest=digest, family__client__group__in=groups)
        found = found.select_related("family__client__group")
        return [_refresh(token) for token in found if secrets.same(token.digest, digest)]
    return []


def _by_hint(prefix, last4, groups):
    """Every value of this kind ending in these four characters: hints are not unique."""
    stored = secrets.hint(f"{prefix}_{last4}")
    if prefix == "gpk":
        return [_key(key) for key in _keys(groups).filter(hint=stored)]
    if prefix == "gps":
        return [_secret(secret) for secret in _secrets(groups).filter(hint=stored)]
    # LIKE may ignore case (SQLite): the suffix is checked again exactly.
    found = _clients(groups).filter(client_id__endswith=last4)
    return [_client(client) for client in found if client.client_id.endswith(last4)]


def _keys(groups):
    return ApiKey.objects.filter(credential__group__in=groups).select_related("credential__group")


def _secrets(groups):
    return ClientSecret.objects.filter(client__group__in=groups).select_related("client__group")


def _clients(groups):
    return OAuthClient.objects.filter(group__in=groups).select_related("group")


def _key(key):
    return Match(
        "api_key",
        key.credential.group,
        key.credential.name,
        Slot(key.slot).label,
        key.hint,
        key.created_at,
        valid=True,
        last_used_at=key.last_used_at,
        last_used_address=key.last_used_address,
    )


def _last_use(client, **secret):
    """The latest token issued to `client` (with `secret_id`: by that secret), as Match fields."""
    use = ClientUsage.objects.filter(client=client, **secret).order_by("-last_used_at").first()
    if use is None:
        return {}
    return {"last_used_at": use.last_used_at, "last_used_address": use.last_used_address or None}


def _secret(secret):
    client = secret.client
    return Match(
        "client_secret",
        client.group,
        client.name,
        CURRENT_SECRET if secret.expires_at is None else PREVIOUS_SECRET,
        secret.hint,
        secret.created_at,
        valid=secret.expires_at is None or secret.expires_at > timezone.now(),
        expires_at=secret.expires_at,
        client_id=client.client_id,
        **_last_use(client, secret_id=secret.pk),
    )


def _client(client):
    hint = f"gpc_…{client.client_id[-4:]}"
    return Match(
        "client_id", client.group, client.name, "", hint, client.created_at, True, **_last_use(client)
    )


def _access(token):
    client = token.client
    return Match(
        "access_token",
        client.group,
        client.name,
        "",
        "",
        token.created_at,
        valid=token.revoked_at is None and token.expires_at > timezone.now(),
        expires_at=token.expires_at,
        client_id=client.client_id,
        scopes=scopes.narrowed(scopes.parse(token.scope), scopes.parse(client.scopes)),
    )


def _refresh(token):
    family = token.family
    client = family.client
    live = token.used_at is None and family.revoked_at is None and family.expires_at > timezone.now()
    return Match(
        "refresh_token",
        client.group,
        client.name,
        "",
        "",
        token.created_at,
        valid=live,
        expires_at=family.expires_at,
        client_id=client.client_id,
        scopes=scopes.narrowed(scopes.parse(family.scope), scopes.parse(client.scopes)),
    )


def introspection(value, client):
    """RFC 7662 2.2: the claims of `value` if it is a live token of a client of `client`'s group,
    else None, whatever the reason (unknown, malformed, revoked, expired, another group's)."""
    match = next((m for m in tokens(value, Group.objects.filter(pk=client.group_id)) if m.valid), None)
    if match is None:
        return None
    claims = {"active": True, "client_id": match.client_id}
    if match.kind == "access_token":
        claims["token_type"] = "Bearer"  # noqa: S105 (a token type, RFC 6749 7.1)
    if match.scopes is not None:  # RFC 7662 2.2; absent when the token may use every service
        claims["scope"] = scopes.stored(match.scopes)
    return {
        **claims,
        "exp": int(match.expires_at.timestamp()),
        "iat": int(match.created_at.timestamp()),
        "group": match.group.slug,
        "credential": match.credential,
    }
