"""Credentials and tokens, with their rules: each rule is a model or manager method here, called
by the portal's views and the API alike. The hot path's statements are in credentials.sql."""

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connection, models, transaction
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from credentials import networks, secrets, sql, usage
from credentials import scopes as scope_names
from credentials.secrets import Kind
from groups.models import Action, Activity, Group, Service, Versioned, service_removed, suspension_changed
from portal import metrics
from portal.times import local_text

# Names travel in response headers (X-Auth-Credential), so they stay within printable ASCII. On
# the model, so that the admin site's forms keep to it as the portal's do.
name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9 ._-]*\Z",
    _("Use letters, digits, spaces, dots, hyphens and underscores, starting with a letter or digit."),
)


class Slot(models.TextChoices):
    PRIMARY = "primary", _("Primary key")
    SECONDARY = "secondary", _("Secondary key")

    @property
    def other(self):
        return Slot.SECONDARY if self == Slot.PRIMARY else Slot.PRIMARY

    @property
    def in_sentence(self):
        """The label as a sentence writes it: "primary key" in English, unchanged in Japanese."""
        return SLOT_IN_SENTENCE[self]


SLOT_IN_SENTENCE = {Slot.PRIMARY: _("primary key"), Slot.SECONDARY: _("secondary key")}


def stored_fields(raw):
    """What the database keeps of a value that can be shown again: never the value itself."""
    return {"digest": secrets.digest(raw), "encrypted": secrets.encrypt(raw), "hint": secrets.hint(raw)}


# The highest rate limit one may set, in requests per minute.
RATE_LIMIT_MAX = 1_000_000


class CredentialRefused(Exception):
    """A credential that was found but may not pass: `reason` is "expired", "revoked" (an access
    token) or "suspended" (its group). Its caller answers as to a wrong one; only the metrics tell
    them apart (portal.metrics)."""

    def __init__(self, reason, method, group_slug):
        super().__init__(reason)
        self.reason, self.method, self.group_slug = reason, method, group_slug


def _refusal(row, method):
    """The CredentialRefused for an identity row that may not pass, or None."""
    for reason in ("suspended", "revoked", "expired"):
        if row.get(reason):
            return CredentialRefused(reason, method, row["group_slug"])
    return None


@dataclass(frozen=True)
class Identity:
    """Who a credential says the caller is: a group, by which method and credential."""

    group_slug: str
    group_name: str
    method: str
    credential: str
    slot: str | None
    # When the access token or API key credential expires: no memory of it may outlive that.
    # None for a credential that never expires.
    expires_at: datetime | None = None
    # The API key (slot) whose uses credentials.usage counts; not part of who the caller is. None
    # for access tokens.
    key_pk: int | None = field(default=None, compare=False)
    # The services (scopes) the credential may use: a frozenset of names, or None for all of them.
    scopes: frozenset | None = None
    # The credential's rate limit in requests per minute (None: no limit) and its primary key,
    # which names its counter (credentials.ratelimit): how it is served, not who the caller is.
    rate_limit: int | None = field(default=None, compare=False)
    credential_pk: int | None = field(default=None, compare=False)
    # The networks it may be used from (credentials.networks.parsed), None: anywhere. Checked at
    # every use, from memory too (credentials.verification).
    networks: tuple | None = field(default=None, compare=False)

    # Lets DRF's IsAuthenticated accept an Identity as request.user.
    is_authenticated = True

    def as_dict(self):
        return {
            "group": {"slug": self.group_slug, "name": self.group_name},
            "auth": {"method": self.method, "credential": self.credential, "slot": self.slot},
            # null: every service of the group, including any defined later (docs/deploy.md, "Scopes").
            "scopes": None if self.scopes is None else sorted(self.scopes),
        }

    def allows(self, scope):
        """Whether the credential may use service `scope` (every one when it is unrestricted)."""
        return scope_names.allows(self.scopes, scope)


class RateLimited(Versioned):
    """A credential with an optional rate limit, counted over all its keys or tokens together
    (credentials.ratelimit)."""

    # Requests per minute; None (blank) is no limit.
    rate_limit = models.PositiveIntegerField(
        _("Rate limit"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(RATE_LIMIT_MAX)],
    )

    # The source networks it may be used from (credentials.networks): CIDR ranges separated by
    # spaces; None: anywhere. On the row so that verification stays one indexed lookup.
    allowed_networks = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: anywhere)

    class Meta:
        abstract = True

    def set_allowed_networks(self, text, seen_version, user):
        """Allow the credential only from the ranges in `text` (blank: anywhere), if it is still at
        `seen_version` (else EditConflict); every worker applies it within VERIFY_CACHE_SECONDS.
        Activity records it."""
        stored = networks.cleaned(text)
        with transaction.atomic():
            self.claim(seen_version, user)
            type(self)._base_manager.filter(pk=self.pk).update(allowed_networks=stored)
            self.allowed_networks = stored
            target = f"{self} ({stored or 'any address'})"
            Activity.objects.record(self.group, Action.NETWORKS_CHANGED, target, actor=user)

    def set_rate_limit(self, rate_limit, seen_version, user):
        """Change the limit (None: none) if the credential is still at `seen_version` (else
        EditConflict); every worker applies it within VERIFY_CACHE_SECONDS. Activity records it."""
        with transaction.atomic():
            self.claim(seen_version, user)
            type(self)._base_manager.filter(pk=self.pk).update(rate_limit=rate_limit)
            self.rate_limit = rate_limit
            limit = f"{rate_limit} requests per minute" if rate_limit else "no limit"
            Activity.objects.record(self.group, Action.RATE_LIMIT_CHANGED, f"{self} ({limit})", actor=user)


class ApiKeyCredential(RateLimited):
    """A named API key credential of a group, holding a primary and a secondary key."""

    kind = _("API key")
    delete_consequence = _("both of its keys stop working at once.")
    deleted_action = Action.API_KEY_DELETED

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="api_key_credentials")
    name = models.CharField(max_length=100, validators=[name_validator])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Both keys are refused from this time on (credentials.sql.API_KEY_IDENTITY); None: never.
    expires_at = models.DateTimeField(null=True, blank=True)
    # The services it may use, space-separated (credentials.scopes); None: all of the group's.
    # Kept on the row so that verification stays one indexed lookup.
    scopes = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: all; "": none)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="api_key_name_unique_in_group")]
        verbose_name = "API key credential"

    def __str__(self):
        return self.name

    @classmethod
    @transaction.atomic
    def create_with_keys(
        cls, group, name, created_by, expires_at=None, scopes=None, rate_limit=None, allowed_networks=None
    ):
        """Create the credential and both of its keys, expiring at `expires_at` (None: never),
        limited to services `scopes` (None: all), to `rate_limit` requests a minute (None: no
        limit) and to the ranges in `allowed_networks` (None: anywhere); returns it and the new
        values by slot."""
        credential = cls.objects.create(
            group=group,
            name=name,
            created_by=created_by,
            expires_at=expires_at,
            scopes=scope_names.stored(scopes),
            rate_limit=rate_limit,
            allowed_networks=networks.cleaned(allowed_networks),
        )
        values = {}
        for slot in Slot:
            values[slot] = secrets.generate(Kind.API_KEY)
            ApiKey.objects.create(credential=credential, slot=slot, **stored_fields(values[slot]))
        Activity.objects.record(group, Action.API_KEY_CREATED, name, actor=created_by)
        return credential, values

    def key(self, slot):
        """This credential's key in `slot`, using prefetched keys when there are any."""
        return next(key for key in self.keys.all() if key.slot == slot)

    def regenerate(self, slot, seen_version, user):
        """Replace the key in `slot` only, if the credential is still at `seen_version` (else
        EditConflict); the old value stops working at once. Returns the new one."""
        raw = secrets.generate(Kind.API_KEY)
        with transaction.atomic():
            self.claim(seen_version, user)
            self.keys.filter(slot=slot).update(
                **stored_fields(raw), created_at=timezone.now(), last_used_at=None, last_used_address=None
            )
            Activity.objects.record(self.group, Action.API_KEY_REGENERATED, f"{self} {slot} key", actor=user)
        return raw

    def set_expiry(self, expires_at, seen_version, user):
        """Make both keys expire at `expires_at` (None: never), if the credential is still at
        `seen_version` (else EditConflict); Activity records it."""
        with transaction.atomic():
            self.claim(seen_version, user)
            self.expires_at = expires_at
            self.save(update_fields=["expires_at"])
            ends = "never" if expires_at is None else expires_at.strftime("%Y-%m-%d %H:%M UTC")
            Activity.objects.record(
                self.group, Action.API_KEY_EXPIRY_CHANGED, f"{self} (expires {ends})", actor=user
            )

    def set_scopes(self, names, seen_version, user):
        """Limit the credential to services `names` (None: all), if it is still at `seen_version`."""
        set_scopes(self, names, seen_version, user)

    def reveal(self, slot, for_copy=False):
        """The value in `slot` in clear, decrypted from its stored copy; Activity records it as
        shown, or as copied when Copy asked for it (the value then went to the clipboard)."""
        action = Action.API_KEY_COPIED if for_copy else Action.API_KEY_SHOWN
        Activity.objects.record(self.group, action, f"{self} {slot} key")
        return secrets.decrypt(self.key(slot).encrypted)

    def rotation_warnings(self, slot):
        """Why regenerating `slot` now may break applications, as sentences for the confirmation."""
        key, other = self.key(slot), self.key(Slot(slot).other)
        return rotation_warnings(slot, key.last_used_at, key.last_used_address, other.last_used_at)


def set_scopes(credential, names, seen_version, user):
    """Store `names` (None: all) as an API key credential's or OAuth client's scopes, if it is still
    at `seen_version` (else EditConflict); Activity records it. Verification sees the change
    within VERIFY_CACHE_SECONDS, as for any change."""
    with transaction.atomic():
        credential.claim(seen_version, user)
        credential.scopes = scope_names.stored(names)
        credential.save(update_fields=["scopes"])
        described = "all services" if names is None else (credential.scopes or "no services")
        target = f"{credential} ({described})"
        Activity.objects.record(credential.group, Action.SCOPES_CHANGED, target, actor=user)


def max_age_end(created_at, max_age_days):
    """When a value issued at `created_at` passes a maximum age of `max_age_days` days."""
    return created_at + timedelta(days=max_age_days)


def recent_use_since():
    """Uses after this time make the Regenerate confirmation warn (RECENT_USE_WARNING)."""
    return timezone.now() - timedelta(seconds=settings.RECENT_USE_WARNING)


def rotation_warnings(slot, last_used_at, last_used_address, other_last_used_at, recent_since=None):
    """ApiKeyCredential.rotation_warnings from the two slots' last uses, for pages that list many
    keys without loading them as models (the Authentication Information tab)."""
    slot = Slot(slot)
    warnings = []
    if last_used_at and last_used_at >= (recent_since or recent_use_since()):
        text = gettext(
            "The %(key)s was used %(at)s from %(address)s: applications still using it will be"
            " refused once it is regenerated."
        )
        address = last_used_address or gettext("an unknown address")
        warnings.append(text % {"key": slot.in_sentence, "at": local_text(last_used_at), "address": address})
    if other_last_used_at is None:
        text = gettext(
            "The %(key)s has not been used since it was issued: applications may not have switched to it yet."
        )
        warnings.append(text % {"key": slot.other.in_sentence})
    return warnings


class ApiKeyManager(models.Manager):
    def identity(self, digest, address=None):
        """The Identity of the key with this digest, or None: one indexed query (credentials.sql).
        Raises CredentialRefused for a key that may not pass. Records the key's use at most once
        per LAST_USED_INTERVAL."""
        now = timezone.now()
        stale_before = now - timedelta(seconds=settings.LAST_USED_INTERVAL)
        row = sql.one(sql.API_KEY_IDENTITY, digest=digest, stale_before=stale_before, now=now)
        if row is None or not secrets.same(row["digest"], digest):
            return None
        refused = _refusal(row, "api_key")
        if refused is not None:
            raise refused
        expires_at = sql.as_datetime(row["expires_at"])
        if row["max_age_enforced"] and row["max_credential_age_days"]:
            # A key past the group's maximum age has expired, and no memory of it outlives the
            # moment it passes that age.
            refused_from = max_age_end(sql.as_datetime(row["key_created_at"]), row["max_credential_age_days"])
            if refused_from <= now:
                raise CredentialRefused("expired", "api_key", row["group_slug"])
            expires_at = refused_from if expires_at is None else min(expires_at, refused_from)
        if row["stale"]:
            self.touch(row["id"], address, now)
        return Identity(
            row["group_slug"],
            row["group_name"],
            "api_key",
            row["credential"],
            row["slot"],
            expires_at,
            key_pk=row["id"],
            scopes=scope_names.parse(row["scopes"]),
            rate_limit=row["rate_limit"],
            credential_pk=row["credential_pk"],
            networks=networks.parsed(row["allowed_networks"]),
        )

    def touch(self, pk, address, now):
        """Record a use of key `pk`, unless one was recorded within LAST_USED_INTERVAL: the condition
        keeps concurrent workers from all writing in the same interval."""
        stale = now - timedelta(seconds=settings.LAST_USED_INTERVAL)
        self.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=pk).update(
            last_used_at=now, last_used_address=address
        )


class ApiKey(models.Model):
    """One slot of an API key credential. The value itself is never stored in clear."""

    credential = models.ForeignKey(ApiKeyCredential, on_delete=models.CASCADE, related_name="keys")
    slot = models.CharField(max_length=10, choices=Slot.choices)
    # Unique by a constraint (Meta): unique=True would also add a pattern (LIKE) index on
    # PostgreSQL, which no query uses and every INSERT updates. So for every digest here.
    digest = models.CharField(max_length=64)
    encrypted = models.TextField()
    hint = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.GenericIPAddressField(null=True, blank=True)

    objects = ApiKeyManager()

    class Meta:
        ordering = ["slot"]
        constraints = [
            models.UniqueConstraint(fields=["credential", "slot"], name="one_key_per_slot"),
            models.UniqueConstraint(fields=["digest"], name="api_key_digest_unique"),
        ]

    def __str__(self):
        return f"{self.credential} {self.slot} ({self.hint})"


class InvalidClient(Exception):
    """Unknown client ID or wrong secret: the two are never told apart (RFC 6749 5.2)."""


class ClientLocked(Exception):
    """Too many consecutive failures for this (client ID, address): 429 for `retry_after` seconds."""

    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class NewTokens:
    """Fresh values for a token request, and the named parameters their INSERTs take
    (credentials.sql): an access token and, for the conventional method, a refresh token whose
    family ends REFRESH_TOKEN_TTL from now."""

    access_token: str
    refresh_token: str | None
    params: dict

    @classmethod
    def make(cls, refresh=True, scope=None):
        """Fresh values; with `refresh` False (POST /v2/tokens), the access token's alone. `scope`:
        the names granted (None: the client's grant at each use)."""
        now = timezone.now()
        access = secrets.generate(Kind.ACCESS_TOKEN)
        params = {
            "now": now,
            "scope": scope_names.stored(scope),
            "access_digest": secrets.digest(access),
            "access_expires_at": now + timedelta(seconds=settings.ACCESS_TOKEN_TTL),
        }
        if not refresh:
            return cls(access, None, params)
        raw = secrets.generate(Kind.REFRESH_TOKEN)
        params["refresh_digest"] = secrets.digest(raw)
        params["family_expires_at"] = now + timedelta(seconds=settings.REFRESH_TOKEN_TTL)
        return cls(access, raw, params)

    def pair(self, family_expires_at, scope=None):
        return IssuedPair(self.access_token, self.refresh_token, family_expires_at, scope)

    def insert_pair(self, client_pk, family_id, parent_id=None, scope=None):
        """The access token and refresh token of family `family_id`, replacing `parent_id`; the
        access token has the family's `scope`."""
        params = self.params | {"scope": scope}
        access_id = sql.one(sql.INSERT_ACCESS_TOKEN, client_pk=client_pk, family_id=family_id, **params)
        sql.one(
            sql.INSERT_REFRESH_TOKEN,
            family_id=family_id,
            parent_id=parent_id,
            access_id=access_id["id"],
            **self.params,
        )


@dataclass(frozen=True)
class IssuedPair:
    """What POST and PATCH /v1/tokens answer with; the family's expiry is never extended. `scope`:
    the text to answer (RFC 6749 5.1), None when nothing limits the tokens."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    scope: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    """What POST /v2/tokens answers with; `scope` as in IssuedPair."""

    access_token: str
    scope: str | None = None


class InvalidScope(Exception):
    """A requested scope the client may not have: `invalid_scope` (RFC 6749 5.2), nothing issued."""


class OAuthClientManager(models.Manager):
    """Client authentication at the token endpoints (RFC 6749 2.3.1), one method per endpoint.

    On PostgreSQL the usual request (the right secret, no failures on record for its client ID
    and address) is one statement that authenticates and writes; elsewhere, and for every other
    case, the writes follow the authentication.
    """

    def issue_access_token(self, client_id, secret, address, method="/v2/tokens", scope=None):
        """POST /v2/tokens (RFC 6749 4.4): a new access token (IssuedToken) limited to the names in
        `scope` (None: the client's grant). `method` names the endpoint and client authentication
        method in the secret's usage. Raises InvalidScope, issuing nothing, for a name the client
        may not have."""
        new = NewTokens.make(refresh=False, scope=scope)
        writes = sql.AUTHENTICATE_AND_ISSUE_ACCESS_TOKEN if scope is None else None  # checked first
        row = self._authenticate(client_id, secret, address, writes, new)
        answered = self._granted(row, scope)
        if row.get("access_id") is None:  # not written by the authentication's statement
            AccessToken.objects.issue(row["client_pk"], new)
        usage.counter.count_secret(row["client_pk"], row["secret_pk"], address or None, method)
        metrics.TOKENS_ISSUED.labels("v2/tokens").inc()
        return IssuedToken(new.access_token, answered)

    def issue_token_pair(self, client_id, secret, address, scope=None):
        """POST /v1/tokens: an access token and a refresh token starting a new family, limited to
        `scope` as for issue_access_token."""
        new = NewTokens.make(scope=scope)
        writes = sql.AUTHENTICATE_AND_ISSUE_TOKEN_PAIR if scope is None else None
        row = self._authenticate(client_id, secret, address, writes, new)
        answered = self._granted(row, scope)
        if row.get("refresh_id") is None:  # not written by the authentication's statement
            TokenFamily.objects.start(row["client_pk"], new)
        usage.counter.count_secret(row["client_pk"], row["secret_pk"], address or None, "/v1/tokens")
        metrics.TOKENS_ISSUED.labels("v1/tokens").inc()
        return new.pair(new.params["family_expires_at"], answered)

    def _granted(self, row, requested):
        """RFC 6749 3.3: the scope to answer for a request of `requested` (None: not sent) by the
        authenticated client of `row`, or InvalidScope. An unrestricted client may have any of its
        group's services: the one query this costs is made only when a scope is requested."""
        granted = scope_names.parse(row["scopes"])
        if requested is None:
            return row["scopes"]
        if granted is None:
            granted = frozenset(
                Service.objects.filter(group_id=row["group_id"]).values_list("name", flat=True)
            )
        if not requested <= granted:
            raise InvalidScope()
        return scope_names.stored(requested)

    def authenticate(self, client_id, secret, address):
        """The client these credentials authenticate (POST /v2/tokens/revoke)."""
        row = self._authenticate(client_id, secret, address)
        return self.get(pk=row["client_pk"])

    def _authenticate(self, client_id, secret, address, writes=None, new=None):
        """The authentication's row (credentials.sql.CLIENT_AUTHENTICATION), with what `writes`
        wrote if it ran; raises ClientLocked or InvalidClient. An unknown client ID and a wrong
        secret cost the same and are counted the same."""
        digest = secrets.digest_of(secret, Kind.CLIENT_SECRET)  # None for garbage: it matches no row
        now = new.params["now"] if new else timezone.now()
        pair = {"client_key": Lockout.key_for(client_id), "address": address}
        params = {**pair, "digest": digest, "now": now}
        if _in_one_statement(writes, client_id):
            row = sql.one(writes, **new.params | params | {"client_id": client_id})
        else:
            row = sql.one(sql.CLIENT_AUTHENTICATION, **params)
        if row["locked"]:
            self._record_refusal(client_id, address, now)
            raise Lockout.objects.locked(**pair, now=now)
        if not _authenticates(row, client_id, digest):
            self._record_refusal(client_id, address, now)
            Lockout.objects.count_failure(client_id, address, now)
            raise InvalidClient()
        if row["suspended"]:  # the right secret of a suspended group: refused, but not a guess
            self._record_refusal(client_id, address, now)
            raise InvalidClient()
        if not networks.allows(networks.parsed(row["allowed_networks"]), address):
            usage.counter.count_refusal(usage.REFUSED_CLIENT, row["client_pk"], address or None)
            raise AddressNotAllowed()
        if row["max_age_enforced"] and row["max_credential_age_days"]:
            created_at = sql.as_datetime(row["secret_created_at"])
            if max_age_end(created_at, row["max_credential_age_days"]) <= now:  # past the policy's age
                self._record_refusal(client_id, address, now)
                raise InvalidClient()
        if row["lockout_id"] is not None:
            Lockout.objects.succeeded(**pair, now=now)
        return row

    def _record_refusal(self, client_id, address, now):
        """A refused token request in Activity, counted per client, address and minute. IDs that
        match no client are counted together, outside any group: a caller cannot make rows up."""
        clients = self.filter(client_id=client_id).select_related("group")
        client = None if "\x00" in client_id else clients.first()
        group, target = (client.group, client.name) if client else (None, "an unknown client ID")
        Activity.objects.tally(group, Action.CLIENT_AUTH_FAILED, target, address=address or None, now=now)
        metrics.CLIENT_AUTH_FAILURES.inc()


def _in_one_statement(writes, client_id):
    """Whether the authentication's statement also writes: PostgreSQL's data-modifying WITH
    queries (SQLite has none). PostgreSQL refuses text with NUL bytes; no client has such an ID."""
    return writes is not None and connection.vendor == "postgresql" and "\x00" not in client_id


def _authenticates(row, client_id, digest):
    """Whether the authentication's row found a working secret with this digest, of the client
    with this ID."""
    found = row["client_pk"] is not None
    return found and secrets.same(row["digest"], digest) and secrets.same(row["client_id"], client_id)


class OAuthClient(RateLimited):
    """An OAuth client of a group: a public client ID and a secret, for /v2/tokens and /v1/tokens."""

    kind = _("OAuth client")
    delete_consequence = _(
        "its Client ID and Client Secret stop working at once and all its tokens are revoked."
    )
    deleted_action = Action.OAUTH_CLIENT_DELETED

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="oauth_clients")
    name = models.CharField(max_length=100, validators=[name_validator])
    client_id = models.CharField(max_length=40, unique=True, default=secrets.generate_client_id)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The services its tokens may use, as ApiKeyCredential.scopes; None: all of the group's.
    scopes = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: all; "": none)

    objects = OAuthClientManager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="oauth_client_name_unique_in_group")
        ]
        verbose_name = "OAuth client"

    def __str__(self):
        return self.name

    @classmethod
    @transaction.atomic
    def create_with_secret(
        cls, group, name, created_by, expires_at=None, scopes=None, rate_limit=None, allowed_networks=None
    ):
        """Create the client and its first secret, expiring at `expires_at` (None: never), limited
        to services `scopes` (None: all), to `rate_limit` requests a minute (None: no limit) and to
        the ranges in `allowed_networks` (None: anywhere); returns it and the secret's value."""
        client = cls.objects.create(
            group=group,
            name=name,
            created_by=created_by,
            scopes=scope_names.stored(scopes),
            rate_limit=rate_limit,
            allowed_networks=networks.cleaned(allowed_networks),
        )
        raw = secrets.generate(Kind.CLIENT_SECRET)
        ClientSecret.objects.create(client=client, expires_at=expires_at, **stored_fields(raw))
        Activity.objects.record(group, Action.OAUTH_CLIENT_CREATED, name, actor=created_by)
        return client, raw

    def current_secret(self):
        """The newest secret, expired or not (None once purged), using prefetched secrets when
        there are any. The older ones are replaced secrets."""
        return next(iter(self.secrets.all()), None)

    def old_secrets(self):
        """Replaced secrets still inside their grace period, newest first."""
        now = timezone.now()
        return [s for s in self.secrets.all()[1:] if s.expires_at is not None and s.expires_at > now]

    def set_scopes(self, names, seen_version, user):
        """Limit the client's tokens, issued or to come, to services `names` (None: all), if it is
        still at `seen_version`."""
        set_scopes(self, names, seen_version, user)

    def reveal_secret(self, for_copy=False):
        """The current secret in clear, decrypted from its stored copy (None if it expired and was
        purged); Activity records it as shown, or as copied when Copy asked for it."""
        current = self.current_secret()
        if current is None:
            return None
        action = Action.OAUTH_SECRET_COPIED if for_copy else Action.OAUTH_SECRET_SHOWN
        Activity.objects.record(self.group, action, self.name)
        return secrets.decrypt(current.encrypted)

    def regenerate_secret(self, seen_version, user, grace_seconds=0, revoke_tokens=True, expires_at=None):
        """Issue a new secret, expiring at `expires_at` (None: never), if the client is still at
        `seen_version` (else EditConflict). Older secrets end now or after `grace_seconds`, or at
        their own expiry if earlier; tokens issued so far are revoked unless `revoke_tokens` is
        False. Returns the new value."""
        raw = secrets.generate(Kind.CLIENT_SECRET)
        now = timezone.now()
        with transaction.atomic():
            self.claim(seen_version, user)
            # Every older secret ends by the chosen time: "now" ends them all (the emergency case).
            if grace_seconds:
                ends = now + timedelta(seconds=grace_seconds)
                self.secrets.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=ends)).update(
                    expires_at=ends
                )
            else:
                self.secrets.all().delete()
            ClientSecret.objects.create(client=self, expires_at=expires_at, **stored_fields(raw))
            if revoke_tokens:
                self.revoke_tokens()
            ends = f"after {_duration(grace_seconds)}" if grace_seconds else "at once"
            tokens = "revoked" if revoke_tokens else "kept"
            target = f"{self.name} (the old secret stops working {ends}; tokens {tokens})"
            Activity.objects.record(self.group, Action.OAUTH_SECRET_REGENERATED, target, actor=user)
        return raw

    def end_grace(self, seen_version, user):
        """Refuse the replaced secrets still in their grace period from now on, if the client is
        still at `seen_version` (else EditConflict). Returns how many ended; Activity records it."""
        with transaction.atomic():
            self.claim(seen_version, user)
            current = self.secrets.order_by("-created_at", "-id").values("pk")[:1]
            ended, _ = self.secrets.filter(expires_at__isnull=False).exclude(pk__in=current).delete()
            if ended:
                target = f"{self.name} (the previous secret is refused from now on)"
                Activity.objects.record(self.group, Action.OAUTH_GRACE_ENDED, target, actor=user)
        return ended

    def rotation_warnings(self):
        """Why regenerating the secret now may break applications, as sentences for the confirmation."""
        current = self.current_secret()
        if current is None:
            return []
        uses = ClientUsage.objects.filter(client=self, secret_id=current.pk)
        last = uses.order_by("-last_used_at").first()
        return secret_rotation_warnings(last.last_used_at, last.last_used_address) if last else []

    def unlock(self, address):
        """Lift the lock of this client from `address`; whether there was one. Activity records it."""
        if not Lockout.objects.unlock(self.client_id, address):
            return False
        where = address or "an unknown address"
        Activity.objects.record(self.group, Action.CLIENT_UNLOCKED, f"{self.name} from {where}")
        return True

    def revoke_tokens(self):
        """Revoke every access and refresh token issued to this client so far."""
        now = timezone.now()
        AccessToken.objects.filter(client=self, revoked_at__isnull=True).update(revoked_at=now)
        TokenFamily.objects.filter(client=self, revoked_at__isnull=True).update(revoked_at=now)
        metrics.REVOCATIONS.labels("client").inc()

    def revoke_token(self, raw):
        """RFC 7009 2.1: revoke this client's access token (only it) or refresh token (its whole
        family, access tokens included). Other clients' tokens and garbage are ignored."""
        now = timezone.now()
        digest = secrets.digest_of(raw, Kind.ACCESS_TOKEN)
        if digest is not None:
            tokens = AccessToken.objects.filter(client=self, digest=digest, revoked_at__isnull=True)
            if tokens.update(revoked_at=now):
                Activity.objects.tally(self.group, Action.TOKEN_REVOKED, f"{self}: access token", now=now)
                metrics.REVOCATIONS.labels("access_token").inc()
            return
        digest = secrets.digest_of(raw, Kind.REFRESH_TOKEN)
        token = (
            RefreshToken.objects.filter(digest=digest).select_related("family").first() if digest else None
        )
        if token is not None and token.family.client_id == self.pk and token.family.revoked_at is None:
            token.family.revoke(now)
            target = f"{self}: refresh token chain"
            Activity.objects.tally(self.group, Action.TOKEN_REVOKED, target, now=now)
            metrics.REVOCATIONS.labels("refresh_chain").inc()


@receiver(suspension_changed)
def revoke_group_tokens(sender, group, now, **kwargs):
    """A group suspended or resumed: revoke every access token and token family of its clients
    (groups.models.Group.suspend), in the caller's transaction."""
    AccessToken.objects.filter(client__group=group, revoked_at__isnull=True).update(revoked_at=now)
    TokenFamily.objects.filter(client__group=group, revoked_at__isnull=True).update(revoked_at=now)


@receiver(service_removed)
def remove_scope(sender, group, name, **kwargs):
    """A service removed from a group (groups.models.Service.remove): take its name out of every
    credential's and token's scopes, in the caller's transaction."""
    rows = [
        (ApiKeyCredential.objects.filter(group=group), "scopes"),
        (OAuthClient.objects.filter(group=group), "scopes"),
        (AccessToken.objects.filter(client__group=group, revoked_at__isnull=True), "scope"),
        (TokenFamily.objects.filter(client__group=group, revoked_at__isnull=True), "scope"),
    ]
    for queryset, column in rows:
        for pk, text in queryset.filter(**{f"{column}__contains": name}).values_list("pk", column):
            queryset.model.objects.filter(pk=pk).update(**{column: scope_names.removed(text, name)})


def _duration(seconds):
    """A grace period as Activity writes it: "1 hour", "7 days"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


def secret_rotation_warnings(last_used_at, last_used_address, now=None):
    """OAuthClient.rotation_warnings from its current secret's last token, for the tab too. An
    application asks for a token about once per ACCESS_TOKEN_TTL, so a token issued within that
    (or RECENT_USE_WARNING, if longer) means the secret is likely still in use."""
    now = now or timezone.now()
    recent = timedelta(seconds=max(settings.RECENT_USE_WARNING, settings.ACCESS_TOKEN_TTL))
    if last_used_at is None or last_used_at < now - recent:
        return []
    ago = (
        gettext("less than a minute")
        if now - last_used_at < timedelta(minutes=1)
        else timesince(last_used_at, now)
    )
    text = gettext(
        "A token was issued with this secret %(ago)s ago from %(address)s: applications still using it"
        " will fail unless a grace period is chosen."
    )
    return [text % {"ago": ago, "address": last_used_address or gettext("an unknown address")}]


class ClientSecretQuerySet(models.QuerySet):
    def working(self, now):
        """The current secrets (no expiry) and the replaced ones still in their grace period."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class ClientSecret(models.Model):
    """A client's secret: the current one (the newest; it expires at `expires_at` if set) or a
    replaced one, which works until `expires_at`, the end of its grace period."""

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="secrets")
    digest = models.CharField(max_length=64)  # unique: Meta, as ApiKey.digest
    encrypted = models.TextField()
    hint = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ClientSecretQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["digest"], name="client_secret_digest_unique")]

    def __str__(self):
        return f"{self.client} secret ({self.hint})"


class Usage(models.Model):
    """Requests in one UTC hour and the last of them, added to by credentials.usage's flushes.
    Hours older than usage.KEPT are deleted by purge_expired_tokens."""

    hour = models.DateTimeField(db_index=True)
    requests = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField()
    last_used_address = models.CharField(max_length=45, blank=True)  # "" when unknown
    # The endpoint (verify, whoami; /v2/tokens with the client authentication method, /v1/tokens).
    last_method = models.CharField(max_length=40)

    class Meta:
        abstract = True


class KeyUsage(Usage):
    """Requests per hour accepted with one API key slot."""

    key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="usage")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "hour"], name="key_usage_per_hour")]

    def __str__(self):
        return f"{self.requests} requests of key {self.key_id} at {self.hour:%Y-%m-%d %H}h"


class ClientUsage(Usage):
    """Tokens issued per hour to one OAuth client, by the secret that authenticated the request."""

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="usage")
    # The ClientSecret's id, kept after the secret itself is deleted: the client's history stays.
    secret_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "secret_id", "hour"], name="client_usage_per_hour")
        ]

    def __str__(self):
        return f"{self.requests} tokens of client {self.client_id} at {self.hour:%Y-%m-%d %H}h"


class AddressRefusal(models.Model):
    """Requests per hour refused because they came from outside a credential's allowed networks,
    and the last of them: counted in each worker's memory and added by credentials.usage's
    flushes, so that refused requests never cost a write each. Exactly one credential is set."""

    api_key_credential = models.ForeignKey(
        ApiKeyCredential, null=True, blank=True, on_delete=models.CASCADE, related_name="address_refusals"
    )
    oauth_client = models.ForeignKey(
        OAuthClient, null=True, blank=True, on_delete=models.CASCADE, related_name="address_refusals"
    )
    hour = models.DateTimeField(db_index=True)
    refused = models.PositiveIntegerField(default=0)
    last_refused_at = models.DateTimeField()
    last_refused_address = models.CharField(max_length=45, blank=True)  # "" when unknown

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key_credential", "hour"], name="key_refusals_per_hour"),
            models.UniqueConstraint(fields=["oauth_client", "hour"], name="client_refusals_per_hour"),
            models.CheckConstraint(
                condition=Q(api_key_credential__isnull=True) ^ Q(oauth_client__isnull=True),
                name="refusal_of_one_credential",
            ),
        ]

    def __str__(self):
        return f"{self.refused} requests refused by address at {self.hour:%Y-%m-%d %H}h"


class AddressNotAllowed(InvalidClient):
    """The right secret or refresh token from outside the client's allowed networks: refused at
    token issue as invalid_client, but not a guess (no lockout failure)."""


class TokenFamilyManager(models.Manager):
    def start(self, client_pk, new=None):
        """A new family for client `client_pk` and its first pair (`new`, or fresh values)."""
        new = new or NewTokens.make()
        with transaction.atomic():
            family = sql.one(sql.INSERT_TOKEN_FAMILY, client_pk=client_pk, **new.params)
            new.insert_pair(client_pk, family["id"], scope=new.params["scope"])
        return new.pair(new.params["family_expires_at"])


class TokenFamily(models.Model):
    """The chain of tokens descended from one POST /v1/tokens: rotation never outlives it, and
    reuse of a rotated refresh token revokes all of it (RFC 9700 4.14.2)."""

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="token_families")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The scope asked for at the first issue, kept by every rotation; None: the client's grant.
    scope = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: the client's grant)

    objects = TokenFamilyManager()

    class Meta:
        verbose_name_plural = "token families"

    def __str__(self):
        return f"token family {self.pk} of {self.client}"

    def revoke(self, now):
        TokenFamily.objects.filter(pk=self.pk).update(revoked_at=now)
        AccessToken.objects.filter(family=self, revoked_at__isnull=True).update(revoked_at=now)


class AccessTokenManager(models.Manager):
    def issue(self, client_pk, new=None):
        """A new access token of client `client_pk`, with `new`'s values or fresh ones; returns it."""
        new = new or NewTokens.make(refresh=False)
        sql.one(sql.INSERT_ACCESS_TOKEN, client_pk=client_pk, family_id=None, **new.params)
        return new.access_token

    def identity(self, digest):
        """The Identity of the live access token with this digest, or None: one indexed query.
        Raises CredentialRefused for a token that is revoked, expired or of a suspended group."""
        row = sql.one(sql.ACCESS_TOKEN_IDENTITY, digest=digest, now=timezone.now())
        if row is None or not secrets.same(row["digest"], digest):
            return None
        refused = _refusal(row, "access_token")
        if refused is not None:
            raise refused
        expires_at = sql.as_datetime(row["expires_at"])
        # What the token asked for, within what its client may use now.
        scopes = scope_names.narrowed(scope_names.parse(row["scope"]), scope_names.parse(row["scopes"]))
        return Identity(
            row["group_slug"],
            row["group_name"],
            "access_token",
            row["credential"],
            None,
            expires_at,
            scopes=scopes,
            rate_limit=row["rate_limit"],
            credential_pk=row["credential_pk"],
            networks=networks.parsed(row["allowed_networks"]),
        )


class AccessToken(models.Model):
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="access_tokens")
    # Indexed only where set (Meta): /v2/tokens issues tokens of no family, the most written rows.
    family = models.ForeignKey(
        TokenFamily,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="access_tokens",
        db_index=False,
    )
    digest = models.CharField(max_length=64)  # unique: Meta, as ApiKey.digest
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The scope it was issued for (RFC 6749 3.3), space-separated; None: the client's grant at use.
    scope = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: the client's grant)

    objects = AccessTokenManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["digest"], name="access_token_digest_unique")]
        indexes = [
            models.Index(fields=["family"], condition=Q(family__isnull=False), name="access_token_family")
        ]

    def __str__(self):
        return f"access token {self.pk} of {self.client_id}"


class RefreshError(Exception):
    """The refresh token is unknown, expired, used or revoked: `invalid_grant` (RFC 6749 5.2)."""

    def __init__(self, description):
        super().__init__(description)
        self.description = description


class RefreshTokenManager(models.Manager):
    def rotate(self, raw, address):
        """PATCH /v1/tokens: exchange a refresh token for a new pair (RFC 9700 4.14.2).

        The unused token of a live family rotates: it is marked used and a pair is issued that
        keeps the family's expiry. The token rotated just before, presented again once within
        REFRESH_GRACE_SECONDS, gets a fresh pair while its first rotation's pair is revoked, so a
        client whose response was lost is not stranded. Any other use of a used token is reuse:
        its whole family is revoked, and Activity records it.

        Every rotation of a family takes the family's row lock first, so concurrent requests with
        one token are served one after the other (SQLite serialises every write transaction).
        """
        digest = secrets.digest_of(raw, Kind.REFRESH_TOKEN)
        if digest is None:
            raise RefreshError("The refresh token is not valid.")
        new = NewTokens.make()
        refused = False
        with transaction.atomic():
            if connection.vendor == "postgresql":
                row = sql.one(sql.ROTATE_CURRENT, digest=digest, **new.params)
            else:
                row = self._rotate_current(digest, new)
            if row is None:
                row = self._rotate_used(digest, new, address)
            # From outside the client's networks: nothing of the rotation stays, the token still works.
            if row is not None and not networks.allows(networks.parsed(row["allowed_networks"]), address):
                transaction.set_rollback(True)
                refused = True
        if refused:
            usage.counter.count_refusal(usage.REFUSED_CLIENT, row["client_id"], address)
            raise AddressNotAllowed()
        if row is None:  # the family's revocation is committed: the caller is told the token is dead
            metrics.REFRESH_REUSE.inc()
            raise RefreshError("The refresh token was already used.")
        metrics.REFRESH_ROTATIONS.inc()
        return new.pair(sql.as_datetime(row["family_expires_at"]), row["scope"])

    def _rotate_current(self, digest, new):
        """sql.ROTATE_CURRENT's rule in three statements, for databases without data-modifying WITH."""
        row = sql.one(sql.CURRENT_REFRESH_TOKEN, digest=digest, now=new.params["now"])
        if row is None or not sql.run(sql.MARK_USED, id=row["id"], now=new.params["now"]):
            return None
        new.insert_pair(row["client_id"], row["family_id"], parent_id=row["id"], scope=row["scope"])
        return row

    def _rotate_used(self, digest, new, address):
        """A token that is not the current one of a live family: the grace retry, or reuse (the
        family is revoked and None returned); RefreshError if it is unknown or its family over."""
        now = new.params["now"]
        token = self.filter(digest=digest).first()
        if token is None:
            raise RefreshError("The refresh token is not valid.")
        family = TokenFamily.objects.select_for_update(of=("self",)).select_related("client__group")
        family = family.filter(pk=token.family_id).first()  # the lock every rotation takes first
        if family is None or family.revoked_at is not None or family.expires_at <= now:
            raise RefreshError("The refresh token has expired or was revoked.")
        token = self.select_for_update().get(pk=token.pk)
        if token.used_at is None:  # unused, yet the first step did not rotate it: decide nothing
            raise RefreshError("The refresh token is not valid.")
        grace_from = now - timedelta(seconds=settings.REFRESH_GRACE_SECONDS)
        successor = self.filter(parent=token, used_at__isnull=True).order_by("pk").first()
        if token.used_at >= grace_from and not token.grace_used and successor is not None:
            self.filter(pk=token.pk).update(grace_used=True)
            self.filter(pk=successor.pk).update(used_at=now)
            AccessToken.objects.filter(pk=successor.access_token_id).update(revoked_at=now)
            new.insert_pair(family.client_id, family.pk, parent_id=token.pk, scope=family.scope)
            return {
                "family_expires_at": family.expires_at,
                "scope": family.scope,
                "client_id": family.client_id,
                "allowed_networks": family.client.allowed_networks,
            }
        family.revoke(now)
        client = family.client
        Activity.objects.record(client.group, Action.REFRESH_TOKEN_REUSE, client.name, address=address)
        return None


class RefreshToken(models.Model):
    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="refresh_tokens")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # The access token issued with this refresh token, revoked if the pair is superseded by a retry.
    # Access tokens expire long before refresh tokens and are purged first: the link then empties.
    access_token = models.ForeignKey(
        AccessToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    digest = models.CharField(max_length=64)  # unique: Meta, as ApiKey.digest
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    grace_used = models.BooleanField(default=False)

    objects = RefreshTokenManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["digest"], name="refresh_token_digest_unique")]

    def __str__(self):
        return f"refresh token {self.pk} of family {self.family_id}"


class LockoutManager(models.Manager):
    """Brute-force lockout of client authentication (RFC 6749 10.10): LOCKOUT_THRESHOLD consecutive
    failures for one (client ID, source address) lock that pair for LOCKOUT_SECONDS. Counted in
    the database under the pair's row lock, so every worker and server shares one exact count."""

    def count_failure(self, client_id, address, now):
        """Count a failed authentication; raises ClientLocked if the pair was locked already. The
        failure that locks a known client's pair records it in Activity."""
        until = now + timedelta(seconds=settings.LOCKOUT_SECONDS)
        key = Lockout.key_for(client_id)
        row = sql.one(
            sql.COUNT_FAILURE,
            client_key=key,
            address=address,
            now=now,
            stale_before=now - timedelta(seconds=settings.LOCKOUT_SECONDS),
            threshold=settings.LOCKOUT_THRESHOLD,
            locked_until=until,
        )
        if row is None:
            raise self.locked(key, address, now)
        if row["locked_until"] is not None:
            metrics.LOCKOUTS.labels("client").inc()
            self._record_lock(client_id, address, now)

    def succeeded(self, client_key, address, now):
        """A success ends the pair's run of failures, unless a lock began meanwhile: a lock ends
        only when it runs out or on unlock()."""
        with transaction.atomic():
            lockout = self.select_for_update().filter(client_key=client_key, address=address).first()
            if lockout is not None and lockout.locked_until is not None and lockout.locked_until > now:
                raise ClientLocked(lockout.retry_after(now))
            if lockout is not None:
                lockout.delete()

    def locked(self, client_key, address, now):
        """The ClientLocked to raise for a locked pair, with its Retry-After."""
        lockout = self.filter(client_key=client_key, address=address).first()
        return ClientLocked(lockout.retry_after(now) if lockout else 1)

    def unlock(self, client_id, address):
        """Lift the lock of (client ID, address) and forget its failures. Whether one was lifted."""
        deleted, _ = self.filter(client_key=Lockout.key_for(client_id), address=address).delete()
        return bool(deleted)

    def active_for(self, client_ids):
        """Current locks for these client IDs, as {client_id: [Lockout, ...]}."""
        keys = {Lockout.key_for(client_id): client_id for client_id in client_ids}
        by_client = {}
        for lockout in self.filter(client_key__in=keys, locked_until__gt=timezone.now()).order_by(
            "locked_until"
        ):
            by_client.setdefault(keys[lockout.client_key], []).append(lockout)
        return by_client

    def expired(self, now):
        """Rows that no longer count: locks that ran out, and runs of failures a lock period old
        (for client IDs that exist or not), for the purge."""
        stale = now - timedelta(seconds=settings.LOCKOUT_SECONDS)
        return self.filter(Q(locked_until__lt=now) | Q(locked_until__isnull=True, last_failure_at__lt=stale))

    def _record_lock(self, client_id, address, now):
        """One Activity row per client and lock period, counting the addresses locked."""
        if "\x00" in client_id:  # no client has such an ID (and PostgreSQL refuses it)
            return
        client = OAuthClient.objects.select_related("group").filter(client_id=client_id).first()
        if client is not None:
            since = now - timedelta(seconds=settings.LOCKOUT_SECONDS)
            with transaction.atomic():
                Activity.objects.count_within(client.group, Action.CLIENT_LOCKED, client.name, address, since)


class Lockout(models.Model):
    """Failed client authentications of one (client ID, source address) pair, and its lock.

    Client IDs are whatever a caller sent, known or not, so an unknown ID is counted and locked
    exactly like a known one and a 429 reveals nothing about which clients exist. They are kept
    as a SHA-256 digest: fixed length and safe to store whatever bytes were sent.
    """

    client_key = models.CharField(max_length=64)
    address = models.CharField(max_length=45)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    objects = LockoutManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client_key", "address"], name="one_lockout_per_pair")]

    def __str__(self):
        return f"failures of client {self.client_key[:8]} from {self.address}"

    @staticmethod
    def key_for(client_id):
        return hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()

    def retry_after(self, now):
        """Whole seconds until the lock ends, at least 1."""
        remaining = (self.locked_until - now).total_seconds() if self.locked_until else 0
        return max(1, round(remaining))


class RevealManager(models.Manager):
    def seal(self, user, group, values):
        """Keep `values` {(public id, slot or row): value} encrypted for `user`'s next page; returns
        the reveal's id, for the URL the POST redirects to."""
        rows = [[str(public_id), row, value] for (public_id, row), value in values.items()]
        reveal = self.create(user=user, group=group, sealed=secrets.encrypt(json.dumps(rows)))
        return reveal.public_id

    def take(self, public_id, user, group):
        """The values sealed under `public_id` for this user and group, once and only while fresh;
        None otherwise. Whoever deletes the row shows it: two pages cannot both."""
        fresh_since = timezone.now() - timedelta(seconds=settings.REVEAL_SECONDS)
        reveal = self.filter(public_id=public_id, user=user, group=group, created_at__gte=fresh_since).first()
        if reveal is None or not self.filter(pk=reveal.pk).delete()[0]:
            return None
        rows = json.loads(secrets.decrypt(reveal.sealed))
        return {(uuid.UUID(public_id), row): value for public_id, row, value in rows}

    def expired(self, now):
        return self.filter(created_at__lt=now - timedelta(seconds=settings.REVEAL_SECONDS))


class Reveal(models.Model):
    """New or shown values on their way from the POST that made them to the page it redirects to
    (Post/Redirect/Get): encrypted, for one user, shown once, for REVEAL_SECONDS at most."""

    public_id = models.CharField(max_length=43, unique=True, default=secrets.generate_reveal_id)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    sealed = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = RevealManager()

    def __str__(self):
        return f"values for {self.user} in {self.group}"


class ReminderManager(models.Manager):
    def claim(self, user, day):
        """Whether `user` is still owed the digest of `day` (a date), marking it sent if so: a
        second run the same day, even at the same moment, claims nothing. Returns whether it was
        claimed and the previous digest's day (None if none), for unclaim() if the mail fails."""
        with transaction.atomic():
            reminder, created = self.select_for_update().get_or_create(user=user, defaults={"sent_on": day})
            if created:
                return True, None
            if reminder.sent_on >= day:
                return False, None
            previous, reminder.sent_on = reminder.sent_on, day
            reminder.save(update_fields=["sent_on"])
            return True, previous

    def unclaim(self, user, day, previous):
        """Undo claim(): the mail of `day` was not sent, so the next run tries again."""
        if previous is None:
            self.filter(user=user, sent_on=day).delete()
        else:
            self.filter(user=user, sent_on=day).update(sent_on=previous)


class Reminder(models.Model):
    """The day (UTC) of the last "Needs attention" digest mailed to an owner (send_reminders)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    sent_on = models.DateField()

    objects = ReminderManager()

    def __str__(self):
        return f"reminder of {self.user} on {self.sent_on}"
