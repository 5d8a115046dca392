"""Who may see or change what. Every group page and action goes through these helpers.

A user who is not a member gets 404 rather than 403, so group names and slugs cannot be probed.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext

from accounts.two_factor import SecondFactorRequired, missing_second_factor
from groups.models import CREDENTIAL_WRITERS, MEMBER_WRITERS, Action, Activity, Group, Membership, Role


def visible_groups(user):
    """The groups a user may see: all of them for staff, else their memberships."""
    if user.is_staff:
        return Group.objects.all()
    # A subquery, not a join: annotations over memberships must see every member, not just this one.
    return Group.objects.filter(pk__in=Membership.objects.filter(user=user).values("group"))


def role_in(user, group):
    """The user's role in the group; staff act as owners everywhere."""
    if user.is_staff:
        return Role.OWNER
    membership = group.memberships.filter(user=user).only("role").first()
    return Role(membership.role) if membership else None


def group_for(request, slug):
    """The group for a read, with `group.role` set; 404 for anyone who is not a member."""
    return readable_group(request.user, slug)


def group_for_write(request, slug):
    """The group for a credential change: 404 for non-members, 403 for viewers."""
    return writable_group(request.user, slug)


def group_for_owner(request, slug, rule=None, what="members"):
    """The group for a membership change (or another owners' change, `rule` saying which): 404 for
    non-members, 403 for anyone but owners."""
    return owned_group(request.user, slug, rule, what)


# The rules themselves, by user: the pages call them through the helpers above, the management
# API (automation.api) with the user its personal access token acts as.


def readable_group(user, slug):
    """The group `user` may read, with `group.role` set; 404 for anyone who is not a member."""
    group = Group.objects.filter(slug=slug).first()
    role = role_in(user, group) if group and user.is_authenticated else None
    if role is None:
        _refused(group, "to open the group: not a member" if group else "to open a group that does not exist")
        raise Http404(gettext("No such group."))
    group.role = role
    # What the page calls the user: staff act as owners, but are staff wherever they are shown.
    group.badge = "staff" if user.is_staff else role
    group.can_manage_credentials = role in CREDENTIAL_WRITERS
    group.can_manage_members = role in MEMBER_WRITERS
    return group


def writable_group(user, slug):
    """The group whose credentials `user` may change: 404 for non-members, 403 for viewers."""
    group = readable_group(user, slug)
    if not group.can_manage_credentials:
        _refused(group, f"to change credentials as {group.role.value}")
        raise PermissionDenied(
            _needs(
                gettext(
                    "Only the group's owners and admins can show, create, regenerate or delete its"
                    " credentials"
                ),
                group,
            )
        )
    _require_second_factor(user, group)
    return group


def owned_group(user, slug, rule=None, what="members"):
    """The group whose members `user` may change (or another owners' change, `rule` saying which):
    404 for non-members, 403 for anyone but owners."""
    group = readable_group(user, slug)
    if not group.can_manage_members:
        _refused(group, f"to change {what} as {group.role.value}")
        rule = rule or gettext("Only the group's owners can add, remove or change its members")
        raise PermissionDenied(_needs(rule, group))
    _require_second_factor(user, group)
    return group


def _require_second_factor(user, group):
    """Changes (and Show) in a group that requires a second factor, or where staff require one
    everywhere, wait until the user has one."""
    if missing_second_factor(user, group.two_factor_required):
        _refused(group, "to change it without two-factor authentication")
        raise SecondFactorRequired(
            gettext(
                "%(group)s requires two-factor authentication to show or change its credentials and"
                " members. Set up an authenticator app or a passkey, then try again."
            )
            % {"group": group.name}
        )


def _needs(rule, group):
    """The reason the 403 page gives: the role needed, and the one the user has."""
    return gettext("%(rule)s; your role in %(group)s is %(role)s.") % {
        "rule": rule,
        "group": group.name,
        "role": group.role.label,
    }


def _refused(group, what):
    """An authorization failure in the audit trail (the group's, if there is one), counted per
    user, address and minute."""
    Activity.objects.tally(group, Action.ACCESS_REFUSED, what)
