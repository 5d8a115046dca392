"""Recording what happened in a group, and from which address."""

from django.db.models import F

from groups.models import Activity, Group
from portal.addresses import source_address


def record(request, group, action, target):
    """Add one Activity row for an action on the group: by the signed-in user, or by the system
    (for example a lockout) when the request has none."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        user = None
    return record_event(group, action, target, actor=user, address=source_address(request))


def record_event(group, action, target, actor=None, address=None):
    """Add one Activity row, for a change made outside a portal request (a model's rule)."""
    return Activity.objects.create(
        group=group,
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        action=action,
        target=str(target)[:200],
        source_address=address,
    )


def count_event(group, action, target, address, since):
    """Record an event that may repeat: the first since `since` adds a row, later ones add to its
    occurrences, so that a storm of them cannot flood the trail. Call it inside a transaction:
    the group's row lock makes concurrent callers take turns."""
    Group.objects.select_for_update().filter(pk=group.pk).first()
    recent = Activity.objects.filter(
        group=group, action=action, target=str(target)[:200], created_at__gte=since
    )
    if not recent.update(occurrences=F("occurrences") + 1):
        record_event(group, action, target, address=address)
