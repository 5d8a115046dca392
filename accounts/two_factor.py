"""Who needs a second factor, and whether they have one (django-allauth's authenticators).

A second factor is required everywhere when staff say so (SitePolicy), and in a group whose owners
say so (groups.Group.two_factor_required): there, showing or changing credentials and members waits
until the user has set one up. Recovery codes alone are no second factor: they only replace one.
"""

from allauth.mfa.models import Authenticator
from cryptography.fernet import InvalidToken
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import SitePolicy
from portal import encryption

SECOND_FACTORS = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)

# Sent when staff turn the requirement for everyone on or off (groups.audit records it).
site_policy_changed = Signal()


def has_second_factor(user):
    factors = Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS)
    return user.is_authenticated and factors.exists()


def required_everywhere():
    return SitePolicy.objects.current().two_factor_required


def missing_second_factor(user, required_here=False):
    """Whether `user` must set up a second factor before going on: it is required here (by a group)
    or everywhere, and they have none."""
    return (required_here or required_everywhere()) and not has_second_factor(user)


class SecondFactorRequired(PermissionDenied):
    """A refusal until the user sets up a second factor; the 403 page links to where."""

    @property
    def action(self):
        return reverse("mfa_index"), gettext("Set up two-factor authentication")


def require_everywhere(required, user):
    """Staff turn the requirement for everyone on or off; a change is recorded in Activity."""
    with transaction.atomic():
        policy = SitePolicy.objects.select_for_update().get_or_create(pk=1)[0]
        if policy.two_factor_required == required:
            return False
        policy.two_factor_required, policy.changed_at, policy.changed_by = required, timezone.now(), user
        policy.save()
        site_policy_changed.send(SitePolicy, required=required, user=user)
    return True


# The encrypted part of each kind of authenticator's data (accounts.adapters.MFAAdapter).
ENCRYPTED = {Authenticator.Type.TOTP: "secret", Authenticator.Type.RECOVERY_CODES: "seed"}


def reencrypt_second_factors(dry_run=False):
    """Move authenticator apps' keys and recovery codes' seeds under the first key of
    CREDENTIALS_ENCRYPTION_KEY (manage.py rotate_encryption_key): (how many needed it, unreadable)."""
    moved = unreadable = 0
    with transaction.atomic():
        for authenticator in Authenticator.objects.select_for_update().filter(type__in=ENCRYPTED):
            field = ENCRYPTED[authenticator.type]
            token = authenticator.data.get(field)
            if not token or encryption.is_under_first_key(token):
                continue
            try:
                rotated = encryption.reencrypt(token)
            except InvalidToken:
                unreadable += 1
                continue
            moved += 1
            if not dry_run:
                authenticator.data[field] = rotated
                authenticator.save(update_fields=["data"])
    return moved, unreadable
