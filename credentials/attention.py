"""What needs attention in a set of groups: credentials expiring soon, grace periods ending soon,
credentials unused for a long time, suspended groups (and, from the group policy, credentials
past the maximum age). Shown on the Group List and each group's tab, and mailed to owners daily
(send_reminders). Built in a fixed number of queries whatever the number of credentials, since
the Group List of a staff user covers every group.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from credentials import policy
from credentials.models import ApiKey, ApiKeyCredential, ClientSecret, ClientUsage, OAuthClient
from portal.times import local_text

# What an item is about, in the order a group's items are listed.
SUSPENDED, PAST_MAX_AGE, EXPIRING, GRACE_ENDING, UNUSED = (
    "suspended",
    "past-max-age",
    "expiring",
    "grace-ending",
    "unused",
)
ORDER = [SUSPENDED, PAST_MAX_AGE, EXPIRING, GRACE_ENDING, UNUSED]


@dataclass(frozen=True)
class Item:
    """One thing to look at: `credential` (a name, None for the group itself) of `group`, `at` the
    moment it is about (an expiry, the end of a grace period, the last use, the suspension).
    `anchor` is the id of the credential's card on the tab; `never_used` says `at` is a creation."""

    group_slug: str
    group_name: str
    kind: str
    at: datetime
    credential: str | None = None
    anchor: str | None = None
    never_used: bool = False

    @property
    def path(self):
        """Where the item is on the group's Authentication Information tab."""
        tab = reverse("credentials:auth-info", args=[self.group_slug])
        return f"{tab}#{self.anchor}" if self.anchor else tab

    @property
    def text(self):
        """The item as a sentence, in the active language and time zone."""
        values = {"name": self.credential, "at": local_text(self.at)}
        if self.kind == EXPIRING:
            return gettext("%(name)s expires at %(at)s.") % values
        if self.kind == GRACE_ENDING:
            return gettext("The previous secret of %(name)s stops working at %(at)s.") % values
        if self.kind == UNUSED and self.never_used:
            return gettext("%(name)s has not been used since it was issued at %(at)s.") % values
        if self.kind == UNUSED:
            return gettext("%(name)s has not been used since %(at)s.") % values
        if self.kind == PAST_MAX_AGE:
            return gettext("%(name)s is older than the group's maximum credential age.") % values
        return gettext("The group has been suspended since %(at)s: every credential is refused.") % values


def items_for(groups, now=None):
    """The items of `groups` (Group instances), by group slug in the groups' order: three queries
    for any number of groups and credentials. Groups with nothing to look at are left out."""
    now = now or timezone.now()
    groups = list(groups)
    by_pk = {group.pk: group for group in groups}
    found = [
        Item(group.slug, group.name, SUSPENDED, group.suspended_at) for group in groups if group.suspended_at
    ]
    if by_pk:
        found += _past_max_age(groups, now)
        found += _api_key_items(by_pk, now)
        found += _client_items(by_pk, now)
    found.sort(key=lambda item: (ORDER.index(item.kind), item.at, item.credential or ""))
    items = {group.slug: [] for group in groups}
    for item in found:
        items[item.group_slug].append(item)
    return {slug: listed for slug, listed in items.items() if listed}


def _past_max_age(groups, now):
    """API key credentials with a key, and OAuth clients whose current secret, older than their
    group's maximum age (credentials.policy): `at` is when it passed the age. No query unless a
    group sets an age; then one per kind, whatever the number of groups."""
    limits = {group.pk: policy.age_limit(group) for group in groups}
    limits = {pk: limit for pk, limit in limits.items() if limit is not None}
    if not limits:
        return []
    by_pk, issued_before = {group.pk: group for group in groups}, now - min(limits.values())
    passed = {}  # (group pk, name, anchor) -> when its oldest value passed the age
    keys = ApiKey.objects.filter(credential__group__in=limits, created_at__lte=issued_before)
    for group_pk, public_id, name, created_at in keys.values_list(
        "credential__group_id", "credential__public_id", "credential__name", "created_at"
    ):
        passed.setdefault((group_pk, name, f"cred-{public_id}"), []).append(created_at + limits[group_pk])
    current = ClientSecret.objects.annotate(replaced=_replaced()).filter(
        replaced=False, client__group__in=limits, created_at__lte=issued_before
    )
    for group_pk, public_id, name, created_at in current.values_list(
        "client__group_id", "client__public_id", "client__name", "created_at"
    ):
        passed.setdefault((group_pk, name, f"client-{public_id}"), []).append(created_at + limits[group_pk])
    return [
        Item(by_pk[group_pk].slug, by_pk[group_pk].name, PAST_MAX_AGE, min(moments), name, anchor)
        for (group_pk, name, anchor), moments in passed.items()
        if min(moments) <= now
    ]


def _replaced():
    """Whether a client secret has a newer one: the current secret is the newest."""
    newer = ClientSecret.objects.filter(client=OuterRef("client")).filter(
        Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    return Exists(newer)


def _limits(now):
    return (
        now + timedelta(days=settings.ATTENTION_EXPIRY_DAYS),
        now + timedelta(hours=settings.ATTENTION_GRACE_HOURS),
        now - timedelta(days=settings.ATTENTION_UNUSED_DAYS),
    )


def _api_key_items(by_pk, now):
    """API key credentials expiring soon, and those whose keys have all gone unused since
    ATTENTION_UNUSED_DAYS: last used (or, never used, issued) that long ago. One query."""
    expiring_by, _, unused_since = _limits(now)
    keys = ApiKey.objects.filter(credential=OuterRef("pk"))
    last_used = keys.exclude(last_used_at=None).order_by("-last_used_at").values("last_used_at")[:1]
    issued = keys.order_by("-created_at").values("created_at")[:1]
    rows = (
        ApiKeyCredential.objects.filter(group__in=by_pk)
        .annotate(last_used=Subquery(last_used), issued=Subquery(issued))
        .annotate(active=Greatest(Coalesce("last_used", "issued"), "issued"))
        .filter(Q(expires_at__gt=now, expires_at__lte=expiring_by) | Q(active__lte=unused_since))
        .values_list("group_id", "public_id", "name", "expires_at", "last_used", "issued")
    )
    items = []
    for group_pk, public_id, name, expires_at, last_used, issued in rows:
        group, anchor = by_pk[group_pk], f"cred-{public_id}"
        if expires_at is not None and now < expires_at <= expiring_by:
            items.append(Item(group.slug, group.name, EXPIRING, expires_at, name, anchor))
        items += _unused(group, name, anchor, last_used, issued, unused_since)
    return items


def _unused(group, name, anchor, last_used, issued, unused_since):
    """The UNUSED item of a credential last used at `last_used` (None: never) whose newest value
    was issued at `issued`, if both are older than `unused_since`."""
    if issued > unused_since or (last_used is not None and last_used > unused_since):
        return []
    if last_used is None or last_used < issued:  # a value issued since its last use was never used
        return [Item(group.slug, group.name, UNUSED, issued, name, anchor, never_used=True)]
    return [Item(group.slug, group.name, UNUSED, last_used, name, anchor)]


def _client_items(by_pk, now):
    """OAuth clients whose current secret expires soon, whose replaced secret's grace period ends
    soon, or that issued no token since ATTENTION_UNUSED_DAYS (ClientUsage keeps each client's
    last hour for this). One query: the clients with their soonest-ending secrets joined."""
    expiring_by, grace_by, unused_since = _limits(now)
    secrets = ClientSecret.objects.annotate(replaced=_replaced()).filter(
        Q(replaced=False, expires_at__lte=expiring_by) | Q(replaced=True, expires_at__lte=grace_by),
        client=OuterRef("pk"),
        expires_at__gt=now,
    )
    current_ends = secrets.filter(replaced=False).values("expires_at")[:1]
    grace_ends = secrets.filter(replaced=True).order_by("-expires_at").values("expires_at")[:1]
    last_used = ClientUsage.objects.filter(client=OuterRef("pk")).order_by("-last_used_at")
    issued = ClientSecret.objects.filter(client=OuterRef("pk")).order_by("-created_at")
    rows = (
        OAuthClient.objects.filter(group__in=by_pk)
        .annotate(
            current_ends=Subquery(current_ends),
            grace_ends=Subquery(grace_ends),
            last_used=Subquery(last_used.values("last_used_at")[:1]),
            issued=Coalesce(Subquery(issued.values("created_at")[:1]), "created_at"),
        )
        .annotate(active=Greatest(Coalesce("last_used", "issued"), "issued"))
        .filter(Q(current_ends__isnull=False) | Q(grace_ends__isnull=False) | Q(active__lte=unused_since))
        .values_list("group_id", "public_id", "name", "current_ends", "grace_ends", "last_used", "issued")
    )
    items = []
    for group_pk, public_id, name, current_ends, grace_ends, last_used, issued in rows:
        group, anchor = by_pk[group_pk], f"client-{public_id}"
        if current_ends is not None:
            items.append(Item(group.slug, group.name, EXPIRING, current_ends, name, anchor))
        if grace_ends is not None:
            items.append(Item(group.slug, group.name, GRACE_ENDING, grace_ends, name, anchor))
        items += _unused(group, name, anchor, last_used, issued, unused_since)
    return items
