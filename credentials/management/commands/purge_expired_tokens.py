import time

from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.db.models import Exists, OuterRef, signals
from django.utils import timezone

from accounts.models import Submission
from credentials import usage
from credentials.models import (
    AccessToken,
    AddressRefusal,
    ClientSecret,
    ClientUsage,
    KeyUsage,
    Lockout,
    Reveal,
    TokenFamily,
)


class Command(BaseCommand):
    help = (
        "Delete expired access tokens, refresh token families, replaced client secrets past their "
        "grace period, failure counters and locks that have run out, values no page came to show, "
        "form submissions old enough to forget, and usage counts older than 7 days (but each OAuth "
        "client's last hour). Deletes in batches, so "
        "verification keeps serving."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000, help="rows per DELETE (default 5000)")
        parser.add_argument(
            "--duty",
            type=float,
            default=0.3,
            help="share of the time the purge may work; after each batch it rests in proportion, "
            "leaving the database and CPU to live traffic (default 0.3, 1 never rests)",
        )

    def handle(self, *args, batch_size, duty, **options):
        now = timezone.now()
        expired = {
            "access tokens": AccessToken.objects.filter(expires_at__lt=now),
            "refresh token families": TokenFamily.objects.filter(expires_at__lt=now),
            "replaced client secrets": ClientSecret.objects.filter(expires_at__lt=now),
            "lockout counters": Lockout.objects.expired(now),
            "values waiting to be shown": Reveal.objects.expired(now),
            "remembered form submissions": Submission.objects.expired(now),
            "hours of API key usage": KeyUsage.objects.filter(hour__lt=usage.kept_since(now)),
            # Each client's last hour stays: the only record of its last token once tokens are
            # purged, which "unused for 90 days" (credentials.attention) reads.
            "hours of OAuth client usage": ClientUsage.objects.filter(
                Exists(ClientUsage.objects.filter(client=OuterRef("client"), hour__gt=OuterRef("hour"))),
                hour__lt=usage.kept_since(now),
            ),
            "hours of address refusals": AddressRefusal.objects.filter(hour__lt=usage.kept_since(now)),
        }
        for label, queryset in expired.items():
            deleted = _delete_in_batches(queryset, batch_size, duty)
            self.stdout.write(f"Deleted {deleted} expired {label}.")


def _delete_in_batches(queryset, batch_size, duty):
    """Delete by primary key, a batch per transaction so that no lock is held for long, resting
    after each batch so that the purge works at most `duty` of the time."""
    total = 0
    while True:
        started = time.monotonic()
        batch = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return total
        _delete(queryset.model, batch)
        total += len(batch)
        if len(batch) == batch_size and duty < 1:
            time.sleep((time.monotonic() - started) * (1 - duty) / duty)


def _delete(model, batch):
    """One batch in one transaction. Where other rows only point at these with SET_NULL (an
    access token's refresh token) and nothing listens for deletions, one UPDATE per such link and
    one DELETE do it, without fetching the rows as Django's collector would (most of a purge's
    cost). Anything with cascades goes through the collector."""
    links = [  # every foreign key pointing here, those without a reverse accessor included
        field
        for field in model._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and (field.one_to_one or field.one_to_many)
    ]
    listened = signals.pre_delete.has_listeners(model) or signals.post_delete.has_listeners(model)
    if listened or any(link.on_delete is not models.SET_NULL for link in links):
        model.objects.filter(pk__in=batch).delete()
        return
    with transaction.atomic():
        for link in links:
            name = link.field.name
            link.related_model._base_manager.filter(**{f"{name}__in": batch}).update(**{name: None})
        model._base_manager.filter(pk__in=batch)._raw_delete(model._base_manager.db)
