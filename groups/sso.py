"""Portal memberships from the identity provider's groups, at every single sign-on.

OIDC_GROUP_MAP maps an identity-provider group (a value of the OIDC_GROUPS_CLAIM claim) to a portal
group and role, e.g. "payments-owners=payments:owner payments-devs=payments:admin". The portal
groups it names are the identity provider's to manage: at each sign-on the user's membership there
becomes the highest role their claim maps to, or ends when none does (never leaving a group without
an owner). Groups the map does not name stay as their owners set them. Activity records each change.
"""

import logging

from allauth.account.signals import user_logged_in
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.dispatch import receiver

from groups.models import Group, LastOwner, Membership, Role

log = logging.getLogger(__name__)
RANK = {Role.VIEWER: 0, Role.ADMIN: 1, Role.OWNER: 2}


def group_map(text):
    """OIDC_GROUP_MAP read: [(claim value, group slug, role)]."""
    entries = []
    for entry in text.replace(",", " ").split():
        claim, _, target = entry.partition("=")
        slug, _, role = target.partition(":")
        if not claim or not slug or role not in Role.values:
            wanted = "<identity-provider group>=<portal group slug>:<viewer, admin or owner>"
            raise ImproperlyConfigured(f"OIDC_GROUP_MAP: {entry!r} is not {wanted}")
        entries.append((claim, slug, Role(role)))
    return entries


def claimed_groups(extra_data):
    """The identity-provider groups the sign-on's ID token or userinfo claims."""
    claim = settings.OIDC_GROUPS_CLAIM
    found = set()
    for source in ("id_token", "userinfo"):
        values = (extra_data.get(source) or {}).get(claim) or []
        if isinstance(values, str):
            values = [values]
        found.update(value for value in values if isinstance(value, str))
    return found


def wanted_roles(entries, groups):
    """{slug: the highest role the groups map to, or None} for every portal group the map names."""
    wanted = {slug: None for _, slug, _ in entries}
    for claim, slug, role in entries:
        if claim in groups and (wanted[slug] is None or RANK[role] > RANK[wanted[slug]]):
            wanted[slug] = role
    return wanted


def apply(user, groups):
    """Make the user's memberships in the mapped groups what `groups` say."""
    for slug, role in wanted_roles(group_map(settings.OIDC_GROUP_MAP), groups).items():
        group = Group.objects.filter(slug=slug).first()
        if group is None:
            log.warning("OIDC_GROUP_MAP names a group that does not exist: %s", slug)
            continue
        membership = Membership.objects.filter(group=group, user=user).first()
        try:
            with transaction.atomic():
                if role and membership is None:
                    Membership.objects.add(group, user, role, actor=user)
                elif role and membership.role != role:
                    membership.change_role(role, membership.version, user)
                elif role is None and membership is not None:
                    membership.remove_as_seen(membership.version, user)
        except LastOwner:
            log.warning("single sign-on kept %s as the last owner of %s", user.get_username(), slug)


@receiver(user_logged_in, dispatch_uid="sso_group_map")
def map_groups(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is not None and settings.OIDC_GROUP_MAP:
        apply(user, claimed_groups(sociallogin.account.extra_data))
