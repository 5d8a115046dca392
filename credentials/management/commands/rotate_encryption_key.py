from cryptography.fernet import Fernet, InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.two_factor import reencrypt_second_factors
from credentials import secrets
from credentials.models import ApiKey, ClientSecret

STORED = {"API keys": ApiKey, "client secrets": ClientSecret}


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored copy behind Show (API keys, client secrets), and the second factors' "
        "secrets (authenticator apps, recovery codes), under the first key of "
        "CREDENTIALS_ENCRYPTION_KEY. Put the new key first and keep the old ones after it on every "
        "server, run this, then drop the old keys (docs/deploy.md). Digests are untouched: no key "
        "or secret stops working."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")
        parser.add_argument(
            "--check",
            action="store_true",
            help="change nothing; exit 1 while any copy is still under an older key",
        )
        parser.add_argument("--generate-key", action="store_true", help="print a new key and exit")

    def handle(self, *args, batch_size, check, generate_key, **options):
        if generate_key:
            self.stdout.write(Fernet.generate_key().decode())
            return
        pending = failed = 0
        for label, model in STORED.items():
            done, left, unreadable = self._rotate(model, batch_size, dry_run=check)
            pending += left
            failed += unreadable
            verb = "still under an older key" if check else "re-encrypted"
            self.stdout.write(f"{label}: {done if not check else left} {verb}, {unreadable} unreadable")
        # Authenticator apps' keys and recovery codes' seeds (two-factor authentication).
        moved, unreadable = reencrypt_second_factors(dry_run=check)
        pending += moved
        failed += unreadable
        self.stdout.write(f"second factors: {moved} {verb}, {unreadable} unreadable")
        if failed:
            raise CommandError(
                f"{failed} stored copies open with none of the configured keys: add the key they were "
                "encrypted with to CREDENTIALS_ENCRYPTION_KEY, or regenerate those credentials."
            )
        if check and pending:
            raise CommandError(f"{pending} stored copies are still under an older key.")

    def _rotate(self, model, batch_size, dry_run):
        """Walks the table in primary-key order, a batch per transaction with its rows locked."""
        done = left = unreadable = 0
        last = 0
        while True:
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update()
                    .filter(pk__gt=last)
                    .order_by("pk")
                    .values_list("pk", "encrypted")[:batch_size]
                )
                for pk, encrypted in rows:
                    if secrets.is_under_first_key(encrypted):
                        continue
                    try:
                        rotated = secrets.reencrypt(encrypted)
                    except InvalidToken:
                        unreadable += 1
                        continue
                    left += 1
                    if not dry_run:
                        model.objects.filter(pk=pk).update(encrypted=rotated)
                        done += 1
            if len(rows) < batch_size:
                return done, left, unreadable
            last = rows[-1][0]
