"""Personal access tokens: a user's own credential for the management API (/api/manage/v1/).

A token acts as its user, with the same groups and roles and never more; a read-only one can only
read. Only its keyed digest is stored (credentials.secrets): the value is shown once, when made.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from credentials import secrets
from credentials.secrets import Kind
from groups.models import Action, Activity

# The longest a token may live: an expiry is required, so a forgotten token ends by itself.
MAX_LIFETIME = timedelta(days=365)
# How often a token's last use is written: every request would be a write per API call.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class PersonalAccessTokenQuerySet(models.QuerySet):
    def working(self, now=None):
        """Tokens neither revoked nor expired."""
        return self.filter(revoked_at=None, expires_at__gt=now or timezone.now())


class PersonalAccessTokenManager(models.Manager.from_queryset(PersonalAccessTokenQuerySet)):
    def create_for(self, user, name, expires_at, read_only):
        """A new token of `user`; returns it and its value, which exists nowhere else. Activity
        records it with no group: a token is its user's, not a group's."""
        raw = secrets.generate(Kind.PERSONAL_ACCESS_TOKEN)
        with transaction.atomic():
            token = self.create(
                user=user,
                name=name,
                read_only=read_only,
                expires_at=expires_at,
                digest=secrets.digest(raw),
                hint=secrets.hint(raw),
            )
            Activity.objects.record(None, Action.TOKEN_CREATED, token, actor=user)
        return token, raw

    def authenticate(self, raw, address):
        """The working token of an active user with this value, or None; notes its use. A
        malformed value costs no query (the checksum), an unknown one a lookup by digest."""
        digest = secrets.digest_of(raw, Kind.PERSONAL_ACCESS_TOKEN)
        if digest is None:
            return None
        token = self.working().filter(digest=digest, user__is_active=True).select_related("user").first()
        if token is None or not secrets.same(token.digest, digest):
            return None
        token.touch(address)
        return token


class PersonalAccessToken(models.Model):
    """A user's token for the management API: named, read-only or read-write, with an expiry."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_access_tokens"
    )
    name = models.CharField(_("Name"), max_length=100)
    read_only = models.BooleanField(default=True)
    # Keyed digest of the value (credentials.secrets.digest); the value itself is never stored.
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_address = models.GenericIPAddressField(null=True, blank=True)

    objects = PersonalAccessTokenManager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.hint})"

    @property
    def is_working(self):
        return self.revoked_at is None and self.expires_at > timezone.now()

    def touch(self, address):
        """Note a use, at most once per LAST_USED_RESOLUTION unless the address changed."""
        now = timezone.now()
        recent = self.last_used_at and now - self.last_used_at < LAST_USED_RESOLUTION
        if recent and self.last_used_address == address:
            return
        self.last_used_at, self.last_used_address = now, address
        type(self).objects.filter(pk=self.pk).update(last_used_at=now, last_used_address=address)

    def revoke(self):
        """End the token from now on; False if it was revoked already. Activity records it, with
        no group, as its creation."""
        now = timezone.now()
        with transaction.atomic():
            if not type(self).objects.filter(pk=self.pk, revoked_at=None).update(revoked_at=now):
                return False
            Activity.objects.record(None, Action.TOKEN_REVOKED_BY_USER, self, actor=self.user)
        self.revoked_at = now
        return True
