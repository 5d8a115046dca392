"""Events that happen outside a group's own pages, into the audit trail: sign-ins, their failures
and lockouts (portal and admin site alike), and every change made in the admin site.

The admin site logs each change as a LogEntry, one save each, except a bulk "delete selected",
which it writes with bulk_create and no signal: groups/admin.py turns that action off."""

from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from axes.signals import user_locked_out
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.two_factor import site_policy_changed
from groups.models import Action, Activity, Group
from portal import metrics

ADMIN_VERBS = {ADDITION: "added", CHANGE: "changed", DELETION: "deleted"}


def _known_username(username):
    """The username if such a user exists, else a fixed phrase: names a caller makes up must not
    each get a row of their own."""
    username = str(username or "")[:150]
    if username and get_user_model().objects.filter(username=username).exists():
        return username
    return "an unknown username"


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def signed_in(sender, request, user, **kwargs):
    Activity.objects.record(None, Action.SIGNED_IN, user.get_username(), actor=user)


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs):
    Activity.objects.tally(None, Action.SIGN_IN_FAILED, _known_username(credentials.get("username")))
    metrics.SIGN_IN_FAILURES.inc()


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def locked_out(sender, request, username, ip_address, **kwargs):
    Activity.objects.tally(None, Action.SIGN_IN_LOCKED, _known_username(username), address=ip_address)
    metrics.LOCKOUTS.labels("sign_in").inc()


def _second_factor(authenticator):
    """What Activity calls a second factor: its kind, and a passkey's name."""
    if authenticator.type == Authenticator.Type.WEBAUTHN:
        return f"passkey “{authenticator.wrap().name}”"
    return "authenticator app" if authenticator.type == Authenticator.Type.TOTP else "recovery codes"


@receiver(authenticator_added, dispatch_uid="audit_second_factor_added")
def second_factor_added(sender, request, user, authenticator, **kwargs):
    Activity.objects.record(None, Action.SECOND_FACTOR_ADDED, _second_factor(authenticator), actor=user)


@receiver(authenticator_removed, dispatch_uid="audit_second_factor_removed")
def second_factor_removed(sender, request, user, authenticator, **kwargs):
    Activity.objects.record(None, Action.SECOND_FACTOR_REMOVED, _second_factor(authenticator), actor=user)


@receiver(authenticator_reset, dispatch_uid="audit_recovery_codes_made")
def recovery_codes_made(sender, request, user, authenticator, **kwargs):
    Activity.objects.record(None, Action.RECOVERY_CODES_MADE, user.get_username(), actor=user)


@receiver(site_policy_changed, dispatch_uid="audit_site_policy")
def site_policy(sender, required, user, **kwargs):
    what = "two-factor authentication required" if required else "two-factor authentication optional"
    Activity.objects.record(None, Action.SITE_POLICY_CHANGED, what, actor=user)


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_change")
def admin_changed(sender, instance, created, **kwargs):
    """The admin site logs each change it makes as a LogEntry: each one is recorded, in the
    group's trail when the object is a group."""
    if not created:
        return
    model = instance.content_type.model_class() if instance.content_type_id else None
    name = model._meta.verbose_name if model else "object"
    target = f"{ADMIN_VERBS.get(instance.action_flag, 'changed')} {name} “{instance.object_repr}”"
    message = instance.get_change_message()
    if message:
        target = f"{target}: {message}"
    group = _group_of(model, instance.object_id)
    Activity.objects.record(group, Action.ADMIN_CHANGED, target, actor=instance.user)


def _group_of(model, object_id):
    """The group an object of the admin site is, or belongs to (a credential, a membership), or
    None. A deletion is logged before the object goes, so it is still there to ask."""
    if model is None or object_id is None:
        return None
    found = model._base_manager.filter(pk=object_id).first()
    group = found if isinstance(found, Group) else getattr(found, "group", None)
    return group if isinstance(group, Group) else None
