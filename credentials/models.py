import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from credentials import secrets
from credentials.secrets import Kind
from groups.models import Group


class Slot(models.TextChoices):
    PRIMARY = "primary", "Primary key"
    SECONDARY = "secondary", "Secondary key"

    @property
    def other(self):
        return Slot.SECONDARY if self == Slot.PRIMARY else Slot.PRIMARY


class ApiKeyCredential(models.Model):
    """A named API key credential of a group, holding a primary and a secondary key."""

    RESET_ON_REGENERATE = ("created_at", "last_used_at", "last_used_address")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="api_key_credentials")
    name = models.CharField(max_length=100)
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
            ApiKey.objects.create(credential=credential, slot=slot, **ApiKey.fields_for(values[slot]))
        return credential, values

    def key(self, slot):
        """This credential's key in `slot`, using prefetched keys when there are any."""
        return next(key for key in self.keys.all() if key.slot == slot)

    def regenerate(self, slot):
        """Replace the key in `slot` only; the old value stops working at once. Returns the new one."""
        raw = secrets.generate(Kind.API_KEY)
        with transaction.atomic():
            # The row lock makes two simultaneous regenerations of one slot happen one after the
            # other, so neither administrator is shown a value that the other one replaced.
            key = ApiKey.objects.select_for_update().get(credential=self, slot=slot)
            for field, value in ApiKey.fields_for(raw).items():
                setattr(key, field, value)
            key.created_at, key.last_used_at, key.last_used_address = timezone.now(), None, None
            key.save(
                update_fields=[*ApiKey.fields_for(raw), "created_at", "last_used_at", "last_used_address"]
            )
        return raw

    def reveal(self, slot):
        """The value in `slot` in clear, decrypted from its stored copy."""
        return secrets.decrypt(self.key(slot).encrypted)

    def rotation_warnings(self, slot):
        """Why regenerating `slot` now may break applications, as sentences for the confirmation."""
        key, other = self.key(slot), self.key(Slot(slot).other)
        warnings = []
        recent = timezone.now() - timedelta(seconds=settings.RECENT_USE_WARNING)
        if key.last_used_at and key.last_used_at >= recent:
            warnings.append(
                f"The {key.get_slot_display().lower()} was used {key.last_used_at:%Y-%m-%d %H:%M} UTC"
                f" from {key.last_used_address or 'an unknown address'}: applications still using"
                " it will be refused once it is regenerated."
            )
        if other.last_used_at is None:
            warnings.append(
                f"The {other.get_slot_display().lower()} has not been used since it was issued:"
                " applications may not have switched to it yet."
            )
        return warnings


class ApiKeyQuerySet(models.QuerySet):
    def verify(self, raw, source_address=None):
        """The key matching `raw` with its credential and group, or None. At most one query."""
        if not secrets.is_well_formed(raw, Kind.API_KEY):
            return None
        digest = secrets.digest(raw)
        key = self.select_related("credential__group").filter(digest=digest).first()
        if key is None or not secrets.digests_match(key.digest, digest):
            return None
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

    @staticmethod
    def fields_for(raw):
        return {"digest": secrets.digest(raw), "encrypted": secrets.encrypt(raw), "hint": secrets.hint(raw)}

    def touch(self, source_address):
        """Record use at most once per LAST_USED_INTERVAL, so verifying is rarely a write.

        The condition in the UPDATE keeps concurrent workers from all writing in the same interval.
        """
        now = timezone.now()
        stale = now - timedelta(seconds=settings.LAST_USED_INTERVAL)
        if self.last_used_at and self.last_used_at >= stale:
            return
        ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=self.pk).update(
            last_used_at=now, last_used_address=source_address
        )
