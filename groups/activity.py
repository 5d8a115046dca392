"""Recording what happened in a group, and from which address."""

from groups.models import Activity
from portal.addresses import source_address


def record(request, group, action, target):
    """Add one Activity row for an action on the group: by the signed-in user, or by the system
    (for example a lockout) when the request has none."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        user = None
    return Activity.objects.create(
        group=group,
        actor=user,
        actor_name=user.get_username() if user else "",
        action=action,
        target=str(target)[:200],
        source_address=source_address(request),
    )
