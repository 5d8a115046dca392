import os

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from groups import export
from groups.forms import ExportForm
from groups.models import Activity, Group


class Command(BaseCommand):
    help = (
        "Write the audit trail of a period as JSON Lines or CSV, oldest first: the whole trail "
        "(sign-ins and other events outside any group included) or one group's."
    )

    def add_arguments(self, parser):
        moment = "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], UTC unless it carries an offset"
        parser.add_argument("--since", required=True, help=f"start of the period: {moment}")
        parser.add_argument(
            "--until", default="", help=f"end of the period, a day counting whole: {moment} (default: now)"
        )
        parser.add_argument(
            "--group",
            metavar="SLUG",
            help="only this group's rows, also those of a deleted group recorded under this slug",
        )
        parser.add_argument(
            "--format", choices=sorted(export.FORMATS), default="jsonl", help="default: jsonl"
        )
        parser.add_argument(
            "--output",
            metavar="PATH",
            help="file to write, created readable by its owner only (default: stdout)",
        )

    def handle(self, *args, since, until, group, output, **options):
        form = ExportForm({"since": since, "until": until, "format": options["format"]})
        if not form.is_valid():
            flags = {"since": "--since", "until": "--until", "format": "--format"}
            raise CommandError(
                " ".join(f"{flags[name]}: {' '.join(errors)}" for name, errors in form.errors.items())
            )
        chunks = export.stream(form.period(_trail(group)), form.cleaned_data["format"])
        if output is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        try:
            with _owner_only(output) as file:
                file.writelines(chunks)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}") from error


def _trail(slug):
    """The whole trail, or one group's: the rows of the group that has this slug now (whatever
    it was called then) and those recorded under it (a deleted group's)."""
    if slug is None:
        return Activity.objects.all()
    rows = Activity.objects.filter(Q(group__slug=slug) | Q(group_slug=slug))
    if not Group.objects.filter(slug=slug).exists() and not rows.exists():
        raise CommandError(f"No group has the slug {slug!r}, and no activity was recorded under it.")
    return rows


def _owner_only(path):
    """The output file, created readable by its owner only: the trail names people and addresses."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return open(descriptor, "w", encoding="utf-8", newline="")
