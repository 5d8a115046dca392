import hashlib
import re
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.dispatch import Signal
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.addresses import source_address
from portal.context import current_request, current_request_id
from portal.times import local_text


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    VIEWER = "viewer", _("Viewer")


# What each role may do. Staff users act as owners of every group.
CREDENTIAL_WRITERS = {Role.OWNER, Role.ADMIN}
MEMBER_WRITERS = {Role.OWNER}


# The longest maximum credential age a group's policy may set: ten years.
MAX_CREDENTIAL_AGE_DAYS = 3650

# Slugs that would collide with the URLs under /groups/.
RESERVED_SLUGS = {"new", "invitation"}


class GroupManager(models.Manager):
    def create_with_owner(self, owner=None, **fields):
        """A new group, with `owner` as its first owner if given; Activity records both."""
        with transaction.atomic():
            group = self.create(**fields)
            Activity.objects.record(group, Action.GROUP_CREATED, group.name)
            if owner is not None:
                Membership.objects.add(group, owner, Role.OWNER)
        return group


# Sent inside the transaction of Group.suspend and Group.resume: credentials revokes the group's
# tokens there (groups may not import credentials), so the change and the revocations commit
# together or not at all.
suspension_changed = Signal()

# Sent inside the transaction of Service.remove: credentials takes the name out of every
# credential's and token's scopes there, so no list keeps a service the group no longer has.
service_removed = Signal()


class Group(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # While set, every credential of the group is refused (credentials.sql checks it).
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The policy its owners set: key slots and client secrets older than this many days are
    # marked on the tab, or refused when `max_age_enforced` (credentials.policy); None: no limit.
    max_credential_age_days = models.PositiveIntegerField(
        _("Maximum credential age (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_CREDENTIAL_AGE_DAYS)],
    )
    max_age_enforced = models.BooleanField(_("Refuse credentials past the maximum age"), default=False)
    # Members need a second factor to show or change its credentials and members (accounts.two_factor).
    two_factor_required = models.BooleanField(_("Require two-factor authentication"), default=False)

    objects = GroupManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        # The Group Information page opens on its Authentication Information tab.
        return reverse("credentials:auth-info", args=[self.slug])

    def suspend(self, user):
        """Refuse every credential of the group and revoke every token (suspension_changed), in one
        transaction; Activity records it. False, and nothing done, if it was suspended already."""
        now = timezone.now()
        user = user if user is not None and user.is_authenticated else None
        with transaction.atomic():
            rows = Group.objects.filter(pk=self.pk, suspended_at__isnull=True)
            if not rows.update(suspended_at=now, suspended_by=user):
                return False
            self.suspended_at, self.suspended_by = now, user
            suspension_changed.send(sender=Group, group=self, now=now)
            Activity.objects.record(self, Action.GROUP_SUSPENDED, self.name, actor=user)
        return True

    def resume(self, user):
        """Accept the group's credentials again; tokens revoked by the suspension stay revoked.
        Activity records it. False, and nothing done, if it was not suspended."""
        with transaction.atomic():
            if not Group.objects.filter(pk=self.pk, suspended_at__isnull=False).update(
                suspended_at=None, suspended_by=None
            ):
                return False
            # A token issued by a request that read the group before the suspension committed
            # could have missed the revocation: revoke again, so that none survives the resume.
            suspension_changed.send(sender=Group, group=self, now=timezone.now())
            self.suspended_at, self.suspended_by = None, None
            Activity.objects.record(self, Action.GROUP_RESUMED, self.name, actor=user)
        return True

    def set_policy(self, max_credential_age_days, max_age_enforced, user, two_factor_required=None):
        """Set the maximum credential age (None: none), warned or enforced, and whether members need a
        second factor (None: unchanged); every worker applies the age within VERIFY_CACHE_SECONDS.
        Activity records a change; saving the same policy records nothing."""
        enforced = bool(max_age_enforced and max_credential_age_days)
        with transaction.atomic():
            rows = Group.objects.select_for_update().filter(pk=self.pk)
            fields = ("max_credential_age_days", "max_age_enforced", "two_factor_required")
            current = rows.values_list(*fields).first()
            if two_factor_required is None:
                two_factor_required = current[2]
            wanted = (max_credential_age_days, enforced, bool(two_factor_required))
            if current == wanted:
                return False
            rows.update(**dict(zip(fields, wanted, strict=True)))
            self.max_credential_age_days, self.max_age_enforced, self.two_factor_required = wanted
            if max_credential_age_days is None:
                described = "no maximum credential age"
            else:
                how = "enforced" if enforced else "warned"
                described = f"maximum credential age {max_credential_age_days} days, {how}"
            if wanted[2]:
                described += "; two-factor authentication required"
            Activity.objects.record(self, Action.POLICY_CHANGED, f"{self.name} ({described})", actor=user)
        return True


# A service name is an RFC 6749 3.3 scope token, kept to lowercase names like "orders:read".
service_name_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]*(:[a-z0-9._-]+)?\Z",
    _(
        "Use lowercase letters, digits, dots, hyphens and underscores, with at most one colon,"
        " e.g. orders:read."
    ),
)


class ServiceManager(models.Manager):
    def add(self, group, name, user):
        """Define service `name` in `group` (a scope its credentials may be limited to); False if
        it was defined already. Activity records it."""
        with transaction.atomic():
            _, created = self.get_or_create(group=group, name=name)
            if created:
                Activity.objects.record(group, Action.SERVICE_ADDED, name, actor=user)
        return created


class Service(models.Model):
    """A service of a group, whose name is a scope (RFC 6749 3.3) that credentials may be limited to."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=64, validators=[service_name_validator])
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ServiceManager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["group", "name"], name="service_name_unique_in_group")]

    def __str__(self):
        return self.name

    def remove(self, user):
        """Delete the service and take its name out of every credential's scopes
        (service_removed), in one transaction; Activity records it."""
        with transaction.atomic():
            if not Service.objects.filter(pk=self.pk).delete()[0]:
                return False
            service_removed.send(sender=Service, group=self.group, name=self.name)
            Activity.objects.record(self.group, Action.SERVICE_REMOVED, self.name, actor=user)
        return True


class EditConflict(Exception):
    """Someone else changed or deleted the object after the administrator saw it: nothing was done."""

    def __init__(self, what, changed_by=None, changed_at=None, deleted=False):
        self.what, self.changed_by, self.changed_at, self.deleted = what, changed_by, changed_at, deleted
        super().__init__(self.message)

    @property
    def message(self):
        if self.deleted:
            return gettext("%(what)s was deleted after you opened this page. Nothing was done.") % {
                "what": self.what
            }
        if self.changed_at is None:  # never changed: the form did not say which version it showed
            text = gettext(
                "This page is out of date for %(what)s. Nothing was done: reload it and try again."
            )
            return text % {"what": self.what}
        text = gettext(
            "%(what)s was changed by %(who)s at %(at)s after you opened this page. Nothing was done:"
            " check it and try again."
        )
        who = self.changed_by or gettext("someone")
        return text % {"what": self.what, "who": who, "at": local_text(self.changed_at, "second")}


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

    # What Activity records when the object is deleted; its target is the object's name.
    deleted_action = None

    def delete_as_seen(self, seen_version, user):
        """Delete the object if it is still at `seen_version`, else EditConflict."""
        with transaction.atomic():
            self.claim(seen_version, user)
            self.delete()
            Activity.objects.record(self.group, self.deleted_action, str(self), actor=user)


class MembershipManager(models.Manager):
    def add(self, group, user, role, actor=None):
        """Make `user` a member of `group` with `role`; Activity records it, by `actor` if given,
        else by the signed-in user."""
        with transaction.atomic():
            membership = self.create(group=group, user=user, role=role)
            Activity.objects.record(
                group, Action.MEMBER_ADDED, f"{user.get_username()} as {role}", actor=actor
            )
        return membership


class LastOwner(Exception):
    """The change would leave the group without an owner: nothing was done."""


class Membership(Versioned):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipManager()

    class Meta:
        ordering = ["user__username"]
        constraints = [models.UniqueConstraint(fields=["user", "group"], name="one_membership_per_user")]

    def __str__(self):
        return f"{self.user} in {self.group} ({self.role})"

    def set_role(self, role):
        """Save the new role, in the transaction that claimed this membership; Activity records it."""
        self.role = role
        self.save(update_fields=["role"])
        target = f"{self.user.get_username()} to {role}"
        Activity.objects.record(self.group, Action.MEMBER_ROLE_CHANGED, target)

    def remove(self):
        """Delete the membership, in the transaction that claimed it; Activity records it."""
        self.delete()
        Activity.objects.record(self.group, Action.MEMBER_REMOVED, self.user.get_username())

    def change_role(self, role, seen_version, user):
        """Give the member `role`, if the membership is still at `seen_version` (else
        EditConflict) and the group keeps an owner (else LastOwner). Activity records it."""
        with transaction.atomic():  # the claim locks the member's row, the last-owner check the group's
            self.claim(seen_version, user)
            self._reload_role()
            if role != Role.OWNER and self.is_last_owner():
                raise LastOwner
            self.set_role(role)

    def remove_as_seen(self, seen_version, user):
        """Remove the member, if the membership is still at `seen_version` (else EditConflict)
        and the group keeps an owner (else LastOwner). Activity records it."""
        with transaction.atomic():
            self.claim(seen_version, user)
            self._reload_role()
            if self.is_last_owner():
                raise LastOwner
            self.remove()

    def _reload_role(self):
        """The role as the claimed (so locked) row has it, not as it was read before the claim."""
        self.role = type(self)._base_manager.values_list("role", flat=True).get(pk=self.pk)

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


# An invitation link's token: a kind prefix, so that a leaked one is recognisable, and 256 bits.
INVITATION_PREFIX = "gpi_"
_INVITATION_SHAPE = re.compile(r"gpi_[A-Za-z0-9_-]{43}\Z")


class InvitationUnusable(Exception):
    """The invitation was accepted, declined, revoked or has expired: it does nothing any more."""

    def __init__(self, state):
        self.state = state
        super().__init__(f"invitation {state}")


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        """Invitations that still work: not accepted, declined or revoked, not expired."""
        return self.filter(accepted_at=None, declined_at=None, revoked_at=None, expires_at__gt=timezone.now())

    def addressed_to(self, user):
        """The invitations to `user`'s username as it is now, matched as signing in matches it."""
        return self.filter(username=user.get_username()) if user.is_authenticated else self.none()


class InvitationManager(models.Manager.from_queryset(InvitationQuerySet)):
    def invite(self, group, email, role, invited_by):
        """A new invitation valid for INVITATION_HOURS, and its link's token, which exists nowhere
        else: only its digest is stored. Activity records it, never the token."""
        token = INVITATION_PREFIX + secrets.token_urlsafe(32)
        invitation = self._create(group, role, invited_by, email=email, digest=Invitation.digest_of(token))
        return invitation, token

    def invite_username(self, group, username, role, invited_by):
        """A new invitation of whichever account has `username` when it joins, valid for
        INVITATION_HOURS, with no link: the account finds it on its Group List. Made whether or
        not such an account exists, so that the inviter cannot tell. Activity records it."""
        return self._create(group, role, invited_by, username=username)

    def _create(self, group, role, invited_by, **addressee):
        """The invitation of `addressee` (an email and its link's digest, or a username), and its
        Activity row, naming the addressee."""
        with transaction.atomic():
            invitation = self.create(
                group=group,
                role=role,
                invited_by=invited_by,
                invited_by_name=invited_by.get_username(),
                expires_at=timezone.now() + timedelta(hours=settings.INVITATION_HOURS),
                **addressee,
            )
            who = addressee.get("email") or addressee["username"]
            Activity.objects.record(group, Action.MEMBER_INVITED, f"{who} as {role}")
        return invitation

    def by_digest(self, digest):
        """The invitation whose link's token has this digest, or None."""
        return self.filter(digest=digest).select_related("group").first() if digest else None


class Invitation(models.Model):
    """An email address invited into a group with a role, through a single-use link; or a
    username, whose account joins or declines from its Group List."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="invitations")
    # Exactly one of the two: an address the link was mailed to, or a username.
    email = models.EmailField(blank=True)
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The inviter's name at the time, kept when the user is later deleted.
    invited_by_name = models.CharField(max_length=150)
    # Keyed digest of the link's token (Invitation.digest_of); the token itself is only in the mail.
    # None for a username invitation, which has no link.
    digest = models.CharField(max_length=64, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(email="") & ~models.Q(username=""))
                | (~models.Q(email="") & models.Q(username="")),
                name="invitation_of_an_address_or_a_username",
            )
        ]

    def __str__(self):
        return f"invitation of {self.invitee} to {self.group} ({self.role})"

    @property
    def invitee(self):
        """Whom it invites, as the inviter wrote it: the address or the username."""
        return self.email or self.username

    @staticmethod
    def digest_of(token):
        """The keyed digest stored for a link's token, or None for a value not shaped like one: a
        made-up link costs no lookup. HMAC, not a password hasher: the token has 256 random bits."""
        if not isinstance(token, str) or not _INVITATION_SHAPE.match(token):
            return None
        return salted_hmac("groups.invitation", token, algorithm="sha256").hexdigest()

    @property
    def state(self):
        if self.accepted_at:
            return "accepted"
        if self.declined_at:
            return "declined"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"

    def email_has_account(self):
        """Whether an active user has the invited address: they accept by signing in, rather than
        making a second account. Said only to whoever holds the link, who owns the address."""
        users = get_user_model().objects.filter(email__iexact=self.email, is_active=True)
        return users.exists()

    def has_member(self, user):
        """Whether `user` is a member of the group already: joining would only use the link up."""
        return user.is_authenticated and self.group.memberships.filter(user=user).exists()

    def send(self, link):
        """Mail the invitation, with its link (an absolute URL), to the invited address."""
        context = {"invitation": self, "link": link, "hours": settings.INVITATION_HOURS}
        subject = gettext("Invitation to %(group)s on the API Authentication Portal") % {
            "group": self.group.name
        }
        send_mail(subject, render_to_string("email/invitation.txt", context), None, [self.email])

    def accept(self, user):
        """Make `user` a member with the invited role, once. The UPDATE claims the invitation, so a
        second use, even at the same moment, finds it accepted. A user who is a member already
        keeps their role. Returns the membership and whether it is new, as get_or_create does;
        InvitationUnusable if the invitation no longer works. A username invitation is only for
        the account that has that username now."""
        with transaction.atomic():
            claimed = type(self).objects.pending().filter(pk=self.pk)
            if self.username:
                claimed = claimed.addressed_to(user)
            if not claimed.update(accepted_at=timezone.now(), accepted_by=user):
                self.refresh_from_db()
                raise InvitationUnusable(self.state)
            membership = self.group.memberships.filter(user=user).first()
            created = membership is None
            if created:
                membership = Membership.objects.add(self.group, user, self.role, actor=user)
            target = f"{self.invitee} as {self.role}"
            Activity.objects.record(self.group, Action.INVITATION_ACCEPTED, target, actor=user)
        self.refresh_from_db()
        return membership, created

    def decline(self, user):
        """Turn down a pending username invitation as the account it names; Activity records it.
        InvitationUnusable if it was no longer pending."""
        with transaction.atomic():
            claimed = type(self).objects.pending().addressed_to(user).filter(pk=self.pk)
            if not claimed.update(declined_at=timezone.now()):
                self.refresh_from_db()
                raise InvitationUnusable(self.state)
            target = f"{self.invitee} as {self.role}"
            Activity.objects.record(self.group, Action.INVITATION_DECLINED, target, actor=user)
        self.refresh_from_db()

    def revoke(self):
        """End a pending invitation; Activity records it. False if it was no longer pending."""
        with transaction.atomic():
            if not type(self).objects.pending().filter(pk=self.pk).update(revoked_at=timezone.now()):
                return False
            target = f"{self.invitee} as {self.role}"
            Activity.objects.record(self.group, Action.INVITATION_REVOKED, target)
        return True


class Action(models.TextChoices):
    GROUP_CREATED = "group.created", _("created the group")
    GROUP_SUSPENDED = "group.suspended", _("suspended the group")
    GROUP_RESUMED = "group.resumed", _("resumed the group")
    MEMBER_ADDED = "member.added", _("added member")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("changed the role of")
    MEMBER_REMOVED = "member.removed", _("removed member")
    MEMBER_INVITED = "member.invited", _("invited")
    INVITATION_ACCEPTED = "member.invitation_accepted", _("accepted the invitation of")
    INVITATION_REVOKED = "member.invitation_revoked", _("revoked the invitation of")
    INVITATION_DECLINED = "member.invitation_declined", _("declined the invitation of")
    API_KEY_CREATED = "api_key.created", _("created API key")
    API_KEY_SHOWN = "api_key.shown", _("showed")
    API_KEY_COPIED = "api_key.copied", _("copied")
    API_KEY_REGENERATED = "api_key.regenerated", _("regenerated")
    API_KEY_DELETED = "api_key.deleted", _("deleted API key")
    API_KEY_EXPIRY_CHANGED = "api_key.expiry_changed", _("changed the expiry of")
    OAUTH_CLIENT_CREATED = "oauth_client.created", _("created OAuth client")
    OAUTH_SECRET_SHOWN = "oauth_client.secret_shown", _("showed the client secret of")
    OAUTH_SECRET_COPIED = "oauth_client.secret_copied", _("copied the client secret of")
    OAUTH_SECRET_REGENERATED = "oauth_client.secret_regenerated", _("regenerated the client secret of")
    OAUTH_GRACE_ENDED = "oauth_client.grace_ended", _("ended the grace period of")
    OAUTH_CLIENT_DELETED = "oauth_client.deleted", _("deleted OAuth client")
    RATE_LIMIT_CHANGED = "credential.rate_limit_changed", _("changed the rate limit of")
    CLIENT_LOCKED = "oauth_client.locked", _("locked after failed authentications:")
    CLIENT_UNLOCKED = "oauth_client.unlocked", _("unlocked")
    REFRESH_TOKEN_REUSE = "oauth_client.refresh_reuse", _("revoked a token chain after refresh token reuse:")
    CLIENT_AUTH_FAILED = "oauth_client.auth_failed", _("refused a token request for")
    TOKEN_REVOKED = "oauth_client.token_revoked", _("revoked a token of")
    ACCESS_REFUSED = "group.access_refused", _("was refused")
    SIGNED_IN = "account.signed_in", _("signed in")
    SIGN_IN_FAILED = "account.sign_in_failed", _("failed to sign in as")
    SIGN_IN_LOCKED = "account.locked_out", _("locked out of sign-in:")
    # A user's own, outside any group (recorded with no group, as sign-ins are).
    TOKEN_CREATED = "account.token_created", _("created personal access token")
    TOKEN_REVOKED_BY_USER = "account.token_revoked", _("revoked personal access token")
    ADMIN_CHANGED = "admin.changed", _("changed in the admin site:")
    SERVICE_ADDED = "service.added", _("added service")
    SERVICE_REMOVED = "service.removed", _("removed service")
    SCOPES_CHANGED = "credential.scopes_changed", _("changed the services of")
    POLICY_CHANGED = "group.policy_changed", _("changed the policy of")
    NETWORKS_CHANGED = "credential.networks_changed", _("changed the allowed networks of")
    SECOND_FACTOR_ADDED = "account.second_factor_added", _("added a second factor:")
    SECOND_FACTOR_REMOVED = "account.second_factor_removed", _("removed a second factor:")
    RECOVERY_CODES_MADE = "account.recovery_codes_made", _("made new recovery codes for")
    SITE_POLICY_CHANGED = "site.two_factor_policy_changed", _("changed the requirement for everyone:")


# Events that can repeat in storms are counted per minute rather than written one row each.
TALLY_SECONDS = 60


def _actor_and_address(actor, address):
    """Who did it and from where: as given, else the signed-in user and the client's address of
    the request being served."""
    request = current_request()
    if request is None:
        return actor, address
    user = getattr(request, "user", None)
    if actor is None and user is not None and user.is_authenticated:
        actor = user
    return actor, address or source_address(request)


class ActivityManager(models.Manager):
    """Writes the audit trail. The actor, source address and request id default to the request
    being served (portal.context), so every entry point records the same way."""

    def record(self, group, action, target, actor=None, address=None, **extra):
        """Add one row. `group` may be None for events outside any group (sign-ins)."""
        actor, address = _actor_and_address(actor, address)
        return self.create(
            group=group,
            group_slug=group.slug if group else "",
            actor=actor,
            actor_name=actor.get_username() if actor else "",
            action=action,
            target=str(target)[:200],
            source_address=address or None,
            request_id=current_request_id(),
            **extra,
        )

    def tally(self, group, action, target, address=None, now=None):
        """Record an event that may come in storms: one row per group, action, target, actor,
        address and minute, its `occurrences` counting the rest. Concurrent callers meet on the
        unique tally key: the one that loses the insert adds to the winner's row."""
        actor, address = _actor_and_address(None, address)
        minute = int((now or timezone.now()).timestamp()) // TALLY_SECONDS
        parts = [action, getattr(group, "pk", ""), target, getattr(actor, "pk", ""), address, minute]
        key = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass")).hexdigest()
        try:
            with transaction.atomic():
                return self.record(group, action, target, actor, address, tally_key=key)
        except IntegrityError:
            self.filter(tally_key=key).update(occurrences=F("occurrences") + 1)

    def count_within(self, group, action, target, address, since):
        """Record an event once per period: the first since `since` adds a row, later ones add to
        its occurrences. Call it inside a transaction: the group's row lock makes callers take turns."""
        Group.objects.select_for_update().filter(pk=group.pk).first()
        recent = self.filter(group=group, action=action, target=str(target)[:200], created_at__gte=since)
        if not recent.update(occurrences=F("occurrences") + 1):
            self.record(group, action, target, address=address)


class Activity(models.Model):
    """One recorded action: who did what to which target, when and from where. Never a secret.

    Append-only: rows outlive their group (no foreign key constraint; the slug is kept) and, on
    PostgreSQL, a trigger refuses every DELETE and any UPDATE but counting an occurrence or
    forgetting a deleted user's id (migration 0005; docs/deploy.md, "The audit trail").
    """

    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="activities",
    )
    # The group's slug at the time, kept when the group is deleted.
    group_slug = models.CharField(max_length=100, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # The actor's name at the time, kept when the user is later deleted.
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    target = models.CharField(max_length=200)
    source_address = models.GenericIPAddressField(null=True, blank=True)
    # How many times it happened in one window, for events counted rather than repeated (a
    # client locked from several addresses, failed token requests in one minute).
    occurrences = models.PositiveIntegerField(default=1)
    # The request that did it, as in the log lines and the X-Request-ID header.
    request_id = models.CharField(max_length=64, blank=True)
    # Set on rows that count a storm's events (ActivityManager.tally).
    tally_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = ActivityManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["group", "-created_at"], name="activity_group_newest")]
        verbose_name_plural = "activities"

    def __str__(self):
        return f"{self.actor_name or 'system'} {self.action} {self.target}"
