import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from credentials import hot_path, secrets
from credentials.secrets import Kind
from groups.models import Group

# Names travel in response headers (X-Auth-Credential), so they stay within printable ASCII. On
# the model, so that the admin site's forms keep to it as the portal's do.
name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9 ._-]*\Z",
    "Use letters, digits, spaces, dots, hyphens and underscores, starting with a letter or digit.",
)


class Slot(models.TextChoices):
    PRIMARY = "primary", "Primary key"
    SECONDARY = "secondary", "Secondary key"

    @property
    def other(self):
        return Slot.SECONDARY if self == Slot.PRIMARY else Slot.PRIMARY


def stored_fields(raw):
    """What the database keeps of a value that can be shown again: never the value itself."""
    return {"digest": secrets.digest(raw), "encrypted": secrets.encrypt(raw), "hint": secrets.hint(raw)}


class ApiKeyCredential(models.Model):
    """A named API key credential of a group, holding a primary and a secondary key."""

    kind = "API key"
    delete_consequence = "both of its keys stop working at once."

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="api_key_credentials")
    name = models.CharField(max_length=100, validators=[name_validator])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="api_key_name_unique_in_group")]

    def __str__(self):
        return self.name

    @classmethod
    @transaction.atomic
    def create_with_keys(cls, group, name, created_by):
        """Create the credential and both of its keys; returns it and the new values by slot."""
        credential = cls.objects.create(group=group, name=name, created_by=created_by)
        values = {}
        for slot in Slot:
            values[slot] = secrets.generate(Kind.API_KEY)
            ApiKey.objects.create(credential=credential, slot=slot, **stored_fields(values[slot]))
        return credential, values

    def key(self, slot):
        """This credential's key in `slot`, using prefetched keys when there are any."""
        return next(key for key in self.keys.all() if key.slot == slot)

    def regenerate(self, slot):
        """Replace the key in `slot` only; the old value stops working at once. Returns the new one.

        One UPDATE: concurrent regenerations of a slot are serialised by the row's write lock.
        """
        raw = secrets.generate(Kind.API_KEY)
        self.keys.filter(slot=slot).update(
            **stored_fields(raw), created_at=timezone.now(), last_used_at=None, last_used_address=None
        )
        return raw

    def reveal(self, slot):
        """The value in `slot` in clear, decrypted from its stored copy."""
        return secrets.decrypt(self.key(slot).encrypted)

    def rotation_warnings(self, slot):
        """Why regenerating `slot` now may break applications, as sentences for the confirmation."""
        key, other = self.key(slot), self.key(Slot(slot).other)
        return rotation_warnings(slot, key.last_used_at, key.last_used_address, other.last_used_at)


def recent_use_since():
    """Uses after this time make the Regenerate confirmation warn (RECENT_USE_WARNING)."""
    return timezone.now() - timedelta(seconds=settings.RECENT_USE_WARNING)


def rotation_warnings(slot, last_used_at, last_used_address, other_last_used_at, recent_since=None):
    """ApiKeyCredential.rotation_warnings from the two slots' last uses, for pages that list many
    keys without loading them as models (the Authentication Information tab)."""
    slot = Slot(slot)
    warnings = []
    if last_used_at and last_used_at >= (recent_since or recent_use_since()):
        warnings.append(
            f"The {slot.label.lower()} was used {last_used_at:%Y-%m-%d %H:%M} UTC"
            f" from {last_used_address or 'an unknown address'}: applications still using"
            " it will be refused once it is regenerated."
        )
    if other_last_used_at is None:
        warnings.append(
            f"The {slot.other.label.lower()} has not been used since it was issued:"
            " applications may not have switched to it yet."
        )
    return warnings


class ApiKeyQuerySet(models.QuerySet):
    def verify(self, raw, source_address=None):
        """The key matching `raw`, or None: one indexed query (hot_path.api_key), no ORM compile.

        The key carries its credential's and group's names as credential_name, group_slug and
        group_name, and records its use at most once per LAST_USED_INTERVAL.
        """
        digest = secrets.digest_of(raw, Kind.API_KEY)
        return None if digest is None else self.verify_digest(digest, source_address)

    def verify_digest(self, digest, source_address=None):
        """verify() for a value already checked and digested (by the verification memory)."""
        stale_before = timezone.now() - timedelta(seconds=settings.LAST_USED_INTERVAL)
        row = hot_path.fetch_one(hot_path.api_key, [hot_path.db_time(stale_before), digest])
        if row is None or not secrets.same(row[1], digest):
            return None
        key = ApiKey(pk=row[0], digest=row[1], slot=row[2], credential_id=row[4])
        key.credential_name, key.group_slug, key.group_name = row[5:8]
        if row[3]:
            key.touch(source_address)
        return key


class ApiKey(models.Model):
    """One slot of an API key credential. The value itself is never stored in clear."""

    credential = models.ForeignKey(ApiKeyCredential, on_delete=models.CASCADE, related_name="keys")
    slot = models.CharField(max_length=10, choices=Slot.choices)
    digest = models.CharField(max_length=64, unique=True)
    encrypted = models.TextField()
    hint = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.GenericIPAddressField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["slot"]
        constraints = [models.UniqueConstraint(fields=["credential", "slot"], name="one_key_per_slot")]

    def __str__(self):
        return f"{self.credential} {self.slot} ({self.hint})"

    def touch(self, source_address):
        """Record a use now, unless one was recorded within LAST_USED_INTERVAL.

        The condition in the UPDATE keeps concurrent workers from all writing in the same interval.
        """
        now = timezone.now()
        stale = now - timedelta(seconds=settings.LAST_USED_INTERVAL)
        ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=self.pk).update(
            last_used_at=now, last_used_address=source_address
        )


class OAuthClient(models.Model):
    """An OAuth client of a group: a public client ID and a secret, for /v2/tokens and /v1/tokens."""

    kind = "OAuth client"
    delete_consequence = (
        "its Client ID and Client Secret stop working at once and all its tokens are revoked."
    )

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="oauth_clients")
    name = models.CharField(max_length=100, validators=[name_validator])
    client_id = models.CharField(max_length=40, unique=True, default=secrets.generate_client_id)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="oauth_client_name_unique_in_group")
        ]

    def __str__(self):
        return self.name

    @classmethod
    @transaction.atomic
    def create_with_secret(cls, group, name, created_by):
        """Create the client and its first secret; returns it and the secret's value."""
        client = cls.objects.create(group=group, name=name, created_by=created_by)
        raw = secrets.generate(Kind.CLIENT_SECRET)
        ClientSecret.objects.create(client=client, **stored_fields(raw))
        return client, raw

    def current_secret(self):
        """The secret that stays valid, using prefetched secrets when there are any."""
        return next(secret for secret in self.secrets.all() if secret.expires_at is None)

    def old_secrets(self):
        """Replaced secrets still inside their grace period, newest first."""
        now = timezone.now()
        return [s for s in self.secrets.all() if s.expires_at is not None and s.expires_at > now]

    def reveal_secret(self):
        return secrets.decrypt(self.current_secret().encrypted)

    def regenerate_secret(self, grace_seconds=0, revoke_tokens=True):
        """Issue a new secret. Older secrets end now or after `grace_seconds`; tokens issued so far
        are revoked unless `revoke_tokens` is False. Returns the new value."""
        raw = secrets.generate(Kind.CLIENT_SECRET)
        now = timezone.now()
        with transaction.atomic():
            # Locking the client row serialises two simultaneous regenerations: each replaces
            # the secret the other one issued, and no administrator sees a value that never worked.
            OAuthClient.objects.select_for_update().filter(pk=self.pk).first()
            # Every older secret ends by the chosen time: "now" ends them all (the emergency case).
            if grace_seconds:
                ends = now + timedelta(seconds=grace_seconds)
                self.secrets.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=ends)).update(
                    expires_at=ends
                )
            else:
                self.secrets.all().delete()
            ClientSecret.objects.create(client=self, **stored_fields(raw))
            if revoke_tokens:
                self.revoke_tokens()
        return raw

    def revoke_tokens(self):
        """Revoke every access and refresh token issued to this client so far."""
        now = timezone.now()
        AccessToken.objects.filter(client=self, revoked_at__isnull=True).update(revoked_at=now)
        TokenFamily.objects.filter(client=self, revoked_at__isnull=True).update(revoked_at=now)

    def revoke_token(self, raw):
        """RFC 7009 2.1: revoke this client's access token (only it) or refresh token (its whole
        family, access tokens included). Other clients' tokens and garbage are ignored."""
        now = timezone.now()
        digest = secrets.digest_of(raw, Kind.ACCESS_TOKEN)
        if digest is not None:
            AccessToken.objects.filter(client=self, digest=digest, revoked_at__isnull=True).update(
                revoked_at=now
            )
        else:
            token = RefreshToken.objects.lookup(raw)
            if token is not None and token.family.client_id == self.pk:
                token.family.revoke(now)

    def issue_access_token(self):
        """A new access token for this client (RFC 6749 4.4.3); returns it and its value."""
        issued = AccessToken.objects.issue(self.pk)
        hot_path.checkpoint_now_and_then()
        return issued

    def issue_token_pair(self):
        """The conventional method's first issue: an access token and a refresh token starting a
        new family whose absolute expiry (REFRESH_TOKEN_TTL from now) no rotation extends.
        Three INSERTs (hot_path) in one transaction."""
        now = timezone.now()
        expires_at = now + timedelta(seconds=settings.REFRESH_TOKEN_TTL)
        times = [hot_path.db_time(now), hot_path.db_time(expires_at)]
        with hot_path.one_writer_at_a_time(), transaction.atomic():
            family_id = hot_path.insert(hot_path.new_token_family, [self.pk, *times])
            return TokenFamily.issue_pair(self.pk, family_id, expires_at, now)


class ClientSecretQuerySet(models.QuerySet):
    def working(self, now):
        """The current secrets (no expiry) and the replaced ones still in their grace period."""
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


class ClientSecret(models.Model):
    """A client's secret: the current one (no expiry) or a replaced one in its grace period."""

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="secrets")
    digest = models.CharField(max_length=64, unique=True)
    encrypted = models.TextField()
    hint = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = ClientSecretQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.client} secret ({self.hint})"


class TokenFamily(models.Model):
    """The chain of tokens descended from one POST /v1/tokens: rotation never outlives it, and
    reuse of a rotated refresh token revokes all of it (RFC 9700 4.14.2)."""

    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="token_families")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "token families"

    def __str__(self):
        return f"token family {self.pk} of {self.client}"

    @staticmethod
    def issue_pair(client_id, family_id, expires_at, now, parent_id=None):
        """A new access token and refresh token of client `client_id` in family `family_id`
        (which ends at `expires_at`), issued at `now`; `parent_id` is the refresh token they
        replace. Two INSERTs (hot_path), inside the caller's transaction."""
        access, access_raw = AccessToken.objects.issue(client_id, family_id, now)
        refresh_raw, refresh_params = _new_refresh_token_params(now)
        refresh_id = hot_path.insert(
            hot_path.new_refresh_token, [family_id, parent_id, access.pk, *refresh_params, False]
        )
        return TokenPair(access_raw, refresh_raw, access.pk, refresh_id, family_id, expires_at)

    def revoke(self, now):
        TokenFamily.objects.filter(pk=self.pk).update(revoked_at=now)
        AccessToken.objects.filter(family=self, revoked_at__isnull=True).update(revoked_at=now)


@dataclass(frozen=True)
class TokenPair:
    """What POST and PATCH /v1/tokens answer with: the two values, the new rows' ids and the
    family's absolute expiry."""

    access_token: str
    refresh_token: str
    access_id: int
    refresh_id: int
    family_id: int
    expires_at: datetime


class IssueAccessToken:
    """POST /v2/tokens's write, for client_auth.authenticate_client: an access token for the
    client the request authenticates, whose value it answers. On PostgreSQL it is written by the
    query that authenticates (hot_path.authenticated_access_token), with the values params()
    makes; elsewhere by write()."""

    statement = staticmethod(hot_path.authenticated_access_token)

    def params(self):
        self.raw, params = _new_access_token_params(timezone.now())
        return params

    def written(self, ids):
        return self.raw

    def write(self, client):
        return client.issue_access_token()[1]


class IssueTokenPair:
    """POST /v1/tokens's write, as IssueAccessToken: a new family's access token and refresh
    token, answered as a TokenPair (hot_path.authenticated_token_pair on PostgreSQL)."""

    statement = staticmethod(hot_path.authenticated_token_pair)

    def params(self):
        now = timezone.now()
        self.expires_at = now + timedelta(seconds=settings.REFRESH_TOKEN_TTL)
        self.access_raw, access_params = _new_access_token_params(now)
        self.refresh_raw, refresh_params = _new_refresh_token_params(now)
        return [hot_path.db_time(now), hot_path.db_time(self.expires_at), *access_params, *refresh_params]

    def written(self, ids):
        family_id, access_id, refresh_id = ids
        return TokenPair(self.access_raw, self.refresh_raw, access_id, refresh_id, family_id, self.expires_at)

    def write(self, client):
        return client.issue_token_pair()


def _access_token_expiry(now):
    return now + timedelta(seconds=settings.ACCESS_TOKEN_TTL)


def _new_access_token_params(now):
    """A new access token's value, and its digest, created and expires as the INSERT takes them."""
    raw = secrets.generate(Kind.ACCESS_TOKEN)
    return raw, [secrets.digest(raw), hot_path.db_time(now), hot_path.db_time(_access_token_expiry(now))]


def _new_refresh_token_params(now):
    """A new refresh token's value, and its digest and created as the INSERT takes them."""
    raw = secrets.generate(Kind.REFRESH_TOKEN)
    return raw, [secrets.digest(raw), hot_path.db_time(now)]


class RefreshError(Exception):
    """The refresh token is unknown, expired, used or revoked: `invalid_grant` (RFC 6749 5.2).

    `revoked_family` is set when the token's reuse has just revoked its family.
    """

    def __init__(self, description, revoked_family=None):
        super().__init__(description)
        self.description = description
        self.revoked_family = revoked_family


class AccessTokenQuerySet(models.QuerySet):
    def issue(self, client_id, family_id=None, now=None):
        """A new access token for client `client_id`, in token family `family_id` for the
        conventional method, issued at `now` (the clock's time by default); returns it and its
        value. One INSERT (hot_path)."""
        now = now or timezone.now()
        raw, params = _new_access_token_params(now)
        token = AccessToken(
            pk=hot_path.insert(hot_path.new_access_token, [client_id, family_id, *params]),
            client_id=client_id,
            family_id=family_id,
            digest=params[0],
            created_at=now,
            expires_at=_access_token_expiry(now),
        )
        return token, raw

    def verify(self, raw):
        """The live access token matching `raw`, or None: one indexed query (hot_path.access_token).

        The token carries its client's and group's names as client_name, group_slug and group_name.
        """
        digest = secrets.digest_of(raw, Kind.ACCESS_TOKEN)
        return None if digest is None else self.verify_digest(digest)

    def verify_digest(self, digest):
        """verify() for a value already checked and digested (by the verification memory)."""
        row = hot_path.fetch_one(hot_path.access_token, [digest, hot_path.db_time(timezone.now())])
        if row is None or not secrets.same(row[1], digest):
            return None
        token = AccessToken(pk=row[0], digest=row[1], client_id=row[2])
        token.client_name, token.group_slug, token.group_name = row[3:6]
        return token


class AccessToken(models.Model):
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE, related_name="access_tokens")
    family = models.ForeignKey(
        TokenFamily, null=True, blank=True, on_delete=models.CASCADE, related_name="access_tokens"
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    def __str__(self):
        return f"access token {self.pk} of {self.client_id}"

    def revoke(self):
        AccessToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


class RefreshTokenQuerySet(models.QuerySet):
    def lookup(self, raw):
        digest = secrets.digest_of(raw, Kind.REFRESH_TOKEN)
        if digest is None:
            return None
        row = hot_path.fetch_one(hot_path.refresh_token, [digest])
        if row is None or not secrets.same(row[1], digest):
            return None
        return RefreshToken(pk=row[0], digest=row[1], family_id=row[2])

    def rotate(self, raw):
        """PATCH /v1/tokens: exchange a refresh token for a new pair (RFC 9700 4.14.2).

        The current token of a live family rotates: it is marked used and a new pair is issued,
        keeping the family's absolute expiry. The token rotated just before, presented again within
        REFRESH_GRACE_SECONDS and only once, gets a fresh pair while the pair its first rotation
        produced is revoked: a client whose response was lost is not stranded. Any other use of a
        used token is reuse, and revokes the whole family.

        The usual rotation is one statement on PostgreSQL (_rotate_current). Elsewhere, and for
        every other case, it is hand-written statements (hot_path): the lookup, then in one
        transaction the family's row lock, marking the token used, and the two INSERTs.
        """
        if hot_path.in_one_statement():
            pair = self._rotate_current(raw)
            if pair is not None:
                return pair
        found = self.lookup(raw)  # outside the transaction: an unknown token takes no lock
        if found is None:
            raise RefreshError("The refresh token is not valid.")
        now = timezone.now()
        with hot_path.one_writer_at_a_time(), transaction.atomic():
            # Every rotation of a family runs under this row lock, taken before the token's row
            # in every request, so concurrent requests with the same token are served one after
            # the other and see each other's writes. (SQLite has no row locks: its transactions
            # here are IMMEDIATE, which serialises every writer.)
            at = hot_path.db_time(now)
            row = hot_path.fetch_one(hot_path.lock_token_family, [at, found.family_id])
            if row is None or not row[2]:
                raise RefreshError("The refresh token has expired or was revoked.")
            client_id, expires_at = row[0], hot_path.python_time(row[1])
            # Marked used only if it was not: one statement, which also locks the token's row.
            if hot_path.update(hot_path.use_refresh_token, [at, found.pk]):
                return TokenFamily.issue_pair(client_id, found.family_id, expires_at, now, found.pk)
            grace_from = now - timedelta(seconds=settings.REFRESH_GRACE_SECONDS)
            token = hot_path.fetch_one(
                hot_path.lock_used_refresh_token, [hot_path.db_time(grace_from), found.pk]
            )
            if token is None:
                raise RefreshError("The refresh token is not valid.")
            grace_used, used_within_grace = token
            successor = (
                self.filter(parent_id=found.pk, used_at__isnull=True)
                .order_by("pk")
                .values_list("pk", "access_token_id")
                .first()
            )
            if not grace_used and used_within_grace and successor is not None:
                self.filter(pk=found.pk).update(grace_used=True)
                self.filter(pk=successor[0]).update(used_at=now)
                if successor[1] is not None:
                    AccessToken(pk=successor[1]).revoke()
                return TokenFamily.issue_pair(client_id, found.family_id, expires_at, now, found.pk)
            family = TokenFamily(pk=found.family_id, client_id=client_id, expires_at=expires_at)
            family.revoke(now)
        # The revocation above is committed; the caller is told the token is not valid.
        raise RefreshError("The refresh token was already used.", revoked_family=family)

    def _rotate_current(self, raw):
        """PostgreSQL: the usual rotation (an unused token of a live family) in one statement
        (hot_path.rotate_current_refresh_token), under the same family row lock. None, with
        nothing changed, for any other token: rotate() then looks at it as before."""
        digest = secrets.digest_of(raw, Kind.REFRESH_TOKEN)
        if digest is None:
            return None
        now = timezone.now()
        at = hot_path.db_time(now)
        access_raw, access_params = _new_access_token_params(now)
        refresh_raw, refresh_params = _new_refresh_token_params(now)
        params = [digest, at, at, digest, *access_params, *refresh_params]
        row = hot_path.fetch_one(hot_path.rotate_current_refresh_token, params)
        if row is None:
            return None
        family_id, expires_at, access_id, refresh_id = row
        return TokenPair(access_raw, refresh_raw, access_id, refresh_id, family_id, expires_at)


class RefreshToken(models.Model):
    family = models.ForeignKey(TokenFamily, on_delete=models.CASCADE, related_name="refresh_tokens")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # The access token issued with this refresh token, revoked if the pair is superseded by a retry.
    # Access tokens expire long before refresh tokens and are purged first: the link then empties.
    access_token = models.ForeignKey(
        AccessToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    grace_used = models.BooleanField(default=False)

    objects = RefreshTokenQuerySet.as_manager()

    def __str__(self):
        return f"refresh token {self.pk} of family {self.family_id}"


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

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client_key", "address"], name="one_lockout_per_pair")]

    def __str__(self):
        return f"failures of client {self.client_key[:8]} from {self.address}"

    @staticmethod
    def key_for(client_id):
        return hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()

    @classmethod
    def of(cls, client_id, address):
        return cls.objects.filter(client_key=cls.key_for(client_id), address=address)
