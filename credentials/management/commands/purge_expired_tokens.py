from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from credentials.models import AccessToken, ClientSecret, Lockout, TokenFamily


class Command(BaseCommand):
    help = (
        "Delete expired access tokens, refresh token families, replaced client secrets past their "
        "grace period, and failure counters and locks that have run out. Deletes in batches, so "
        "verification keeps serving."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per DELETE (default 5000)")

    def handle(self, *args, batch_size, **options):
        now = timezone.now()
        expired = {
            "access tokens": AccessToken.objects.filter(expires_at__lt=now),
            "refresh token families": TokenFamily.objects.filter(expires_at__lt=now),
            "replaced client secrets": ClientSecret.objects.filter(expires_at__lt=now),
            "lockout counters": Lockout.objects.filter(
                Q(locked_until__lt=now)
                | Q(
                    locked_until__isnull=True,
                    last_failure_at__lt=now - timedelta(seconds=settings.LOCKOUT_SECONDS),
                )
            ),
        }
        for label, queryset in expired.items():
            deleted = _delete_in_batches(queryset, batch_size)
            self.stdout.write(f"Deleted {deleted} expired {label}.")


def _delete_in_batches(queryset, batch_size):
    """Delete by primary key, a batch per transaction, so no lock is held for long."""
    total = 0
    while True:
        batch = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return total
        queryset.model.objects.filter(pk__in=batch).delete()
        total += len(batch)
