"""A group's policy as it applies to its credentials: the maximum credential age (warned or
enforced) and what the tab shows of it. The age is enforced on the hot path itself
(credentials.models: ApiKeyManager.identity and client authentication); this module answers
the questions of pages and reminders."""

from dataclasses import dataclass, field
from datetime import timedelta

from credentials.models import ApiKey


@dataclass(frozen=True)
class PastMaxAge:
    """The values of a group older than its maximum age: API key slots (ApiKey, with their
    credential) and current client secrets (ClientSecret, with their client), oldest first."""

    keys: list = field(default_factory=list)
    secrets: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.keys or self.secrets)


def age_limit(group):
    """The maximum age of the group's values as a timedelta, or None when its policy sets none."""
    days = group.max_credential_age_days
    return None if days is None else timedelta(days=days)


def past_max_age(group, now):
    """The key slots and current client secrets of `group` issued more than its maximum age before
    `now` (an empty PastMaxAge when the policy sets no age). Replaced secrets in their grace
    period are left out: they end on their own."""
    limit = age_limit(group)
    if limit is None:
        return PastMaxAge()
    issued_before = now - limit
    keys = ApiKey.objects.filter(credential__group=group, created_at__lte=issued_before)
    keys = keys.select_related("credential").order_by("created_at", "id")
    current = [client.current_secret() for client in group.oauth_clients.prefetch_related("secrets")]
    secrets = sorted(
        (secret for secret in current if secret is not None and secret.created_at <= issued_before),
        key=lambda secret: secret.created_at,
    )
    return PastMaxAge(list(keys), secrets)


def age_note(group, created_at):
    """For the tab: None while a value issued at `created_at` is younger than the group's maximum
    age, else (moment it passed it, enforced?)."""
    limit = age_limit(group)
    if limit is None or created_at is None:
        return None
    return created_at + limit, group.max_age_enforced
