from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    VIEWER = "viewer", "Viewer"


# What each role may do. Staff users act as owners of every group.
CREDENTIAL_WRITERS = {Role.OWNER, Role.ADMIN}
MEMBER_WRITERS = {Role.OWNER}


# Slugs that would collide with the URLs under /groups/.
RESERVED_SLUGS = {"new"}


class Group(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        # The Group Information page opens on its Authentication Information tab.
        return reverse("credentials:auth-info", args=[self.slug])


class EditConflict(Exception):
    """Someone else changed or deleted the object after the administrator saw it: nothing was done."""

    def __init__(self, what, changed_by=None, changed_at=None, deleted=False):
        self.what, self.changed_by, self.changed_at, self.deleted = what, changed_by, changed_at, deleted
        super().__init__(self.message)

    @property
    def message(self):
        if self.deleted:
            return f"{self.what} was deleted after you opened this page. Nothing was done."
        if self.changed_at is None:  # never changed: the form did not say which version it showed
            return f"This page is out of date for {self.what}. Nothing was done: reload it and try again."
        who = self.changed_by or "someone"
        return (
            f"{self.what} was changed by {who} at {self.changed_at:%Y-%m-%d %H:%M:%S} UTC after you"
            " opened this page. Nothing was done: check it and try again."
        )


class Versioned(models.Model):
    """An object whose changes carry the version the administrator saw, so that two people
    changing it at once cannot both win (optimistic concurrency)."""

    version = models.PositiveIntegerField(default=1)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def claim(self, seen_version, user):
        """Move to the next version if the object is still at `seen_version`, else EditConflict.

        Call it first in the change's transaction: the UPDATE's row lock holds off any other
        change until this one commits, and the other's UPDATE then finds the new version.
        """
        now = timezone.now()
        user = user if user is not None and user.is_authenticated else None
        rows = type(self)._base_manager.filter(pk=self.pk, version=seen_version)
        if not rows.update(version=F("version") + 1, changed_by=user, changed_at=now):
            current = type(self)._base_manager.filter(pk=self.pk).select_related("changed_by").first()
            if current is None:
                raise EditConflict(str(self), deleted=True)
            changed_by = current.changed_by.get_username() if current.changed_by else None
            raise EditConflict(str(self), changed_by, current.changed_at)
        self.version, self.changed_by, self.changed_at = seen_version + 1, user, now

    def delete_as_seen(self, seen_version, user):
        """Delete the object if it is still at `seen_version`, else EditConflict."""
        with transaction.atomic():
            self.claim(seen_version, user)
            self.delete()


class Membership(Versioned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "group"], name="one_membership_per_user")]

    def __str__(self):
        return f"{self.user} in {self.group} ({self.role})"

    def is_last_owner(self):
        """True when removing or demoting this member would leave the group without an owner.

        Call it inside the change's transaction, after claiming this membership: it locks the
        group's row, so two owners demoting or removing each other at the same moment are served
        one after the other, and the second one counts the owners the first one left. Not the
        owner rows: each change already holds its own member's row from the claim, and taking the
        other's too would deadlock. NO KEY, so that rows referring to the group can still be added.
        """
        if self.role != Role.OWNER:
            return False
        Group.objects.select_for_update(no_key=True).get(pk=self.group_id)
        owners = self.group.memberships.filter(role=Role.OWNER)
        return list(owners.values_list("pk", flat=True)) == [self.pk]


class Action(models.TextChoices):
    GROUP_CREATED = "group.created", "created the group"
    MEMBER_ADDED = "member.added", "added member"
    MEMBER_ROLE_CHANGED = "member.role_changed", "changed the role of"
    MEMBER_REMOVED = "member.removed", "removed member"
    API_KEY_CREATED = "api_key.created", "created API key"
    API_KEY_SHOWN = "api_key.shown", "showed"
    API_KEY_REGENERATED = "api_key.regenerated", "regenerated"
    API_KEY_DELETED = "api_key.deleted", "deleted API key"
    OAUTH_CLIENT_CREATED = "oauth_client.created", "created OAuth client"
    OAUTH_SECRET_SHOWN = "oauth_client.secret_shown", "showed the client secret of"
    OAUTH_SECRET_REGENERATED = "oauth_client.secret_regenerated", "regenerated the client secret of"
    OAUTH_CLIENT_DELETED = "oauth_client.deleted", "deleted OAuth client"
    CLIENT_LOCKED = "oauth_client.locked", "locked after failed authentications:"
    CLIENT_UNLOCKED = "oauth_client.unlocked", "unlocked"
    REFRESH_TOKEN_REUSE = "oauth_client.refresh_reuse", "revoked a token chain after refresh token reuse:"


class Activity(models.Model):
    """One recorded action: who did what to which target, when and from where. Never a secret."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # The actor's name at the time, kept when the user is later deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    target = models.CharField(max_length=200)
    source_address = models.GenericIPAddressField(null=True, blank=True)
    # How many times it happened in one window, for events counted rather than repeated (a
    # client locked from several addresses).
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["group", "-created_at"], name="activity_group_newest")]
        verbose_name_plural = "activities"

    def __str__(self):
        return f"{self.actor_name or 'system'} {self.action} {self.target}"
