import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import ngettext

from accounts.models import Preference
from credentials import attention
from credentials.models import Reminder
from groups.models import Membership, Role

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Mail each group owner one digest of what needs attention in their groups (expiring "
        "credentials, ending grace periods, unused credentials, suspensions), in their language and "
        "time zone. At most one digest per owner per day (UTC): run it daily (deploy/systemd)."
    )

    def handle(self, *args, **options):
        now = timezone.now()
        owners = (
            Membership.objects.filter(role=Role.OWNER, user__is_active=True)
            .exclude(user__email="")
            .select_related("user", "group")
            .order_by("user_id", "group__name")
        )
        groups_of = {}
        for membership in owners:
            groups_of.setdefault(membership.user, []).append(membership.group)
        everything = {group.pk: group for groups in groups_of.values() for group in groups}
        items = attention.items_for(everything.values(), now)
        preferences = {
            p.user_id: p for p in Preference.objects.filter(user__in=[user.pk for user in groups_of])
        }
        sent = skipped = failed = 0
        for user, groups in groups_of.items():
            by_group = [(group, items[group.slug]) for group in groups if group.slug in items]
            if not by_group:
                continue
            claimed, previous = Reminder.objects.claim(user, now.date())
            if not claimed:
                skipped += 1
                continue
            try:
                _send(user, preferences.get(user.pk) or Preference(user=user), by_group)
                sent += 1
            except Exception as error:  # one owner's mail server trouble must not stop the others
                Reminder.objects.unclaim(user, now.date(), previous)
                log.warning("Reminder to user %s not sent: %s", user.pk, type(error).__name__)
                failed += 1
        self.stdout.write(f"Sent {sent} reminders; {skipped} owners already reminded today; {failed} failed.")
        if failed:
            raise CommandError(f"{failed} reminders could not be sent; the next run tries again.")


def _send(user, preference, by_group):
    """One owner's digest, in their language and time zone (accounts.Preference)."""
    language = preference.language or settings.LANGUAGE_CODE
    with translation.override(language), timezone.override(ZoneInfo(preference.zone(language))):
        count = sum(len(listed) for _, listed in by_group)
        subject = ngettext(
            "%(count)s item needs attention on the API Authentication Portal",
            "%(count)s items need attention on the API Authentication Portal",
            count,
        ) % {"count": count}
        context = {"user": user, "by_group": by_group, "base": settings.PORTAL_BASE_URL.rstrip("/")}
        send_mail(subject, render_to_string("email/reminders.txt", context), None, [user.email])
