"""How the portal writes a moment for people: in the active time zone (the signed-in user's, set
by accounts.locale.UserLocaleMiddleware; UTC where there is none), followed by the zone's
abbreviation, so that a time is never read in the wrong zone.
"""

from datetime import UTC

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString

PRECISIONS = {"day": "%Y-%m-%d", "minute": "%Y-%m-%d %H:%M", "second": "%Y-%m-%d %H:%M:%S"}


def local_text(moment, precision="minute", zone=None):
    """`moment` (an aware datetime) in `zone`, by default the active one, as text:
    "2026-11-30 07:41 JST", "2026-11-29 22:41 UTC"; to the day or the second by `precision`."""
    local = moment.astimezone(zone or timezone.get_current_timezone())
    return f"{local.strftime(PRECISIONS[precision])} {local.tzname()}"


def zone_name(zone=None):
    """The full name of `zone`, by default the active one ("Asia/Tokyo"), for a <time>'s title."""
    zone = zone or timezone.get_current_timezone()
    return getattr(zone, "key", None) or str(zone)


class Writer:
    """local_text() and its <time> element for one zone, resolved once: for a page writing many
    times (the Authentication Information tab)."""

    def __init__(self, zone=None):
        self.zone = zone or timezone.get_current_timezone()
        self.title = escape(zone_name(self.zone))

    def text(self, moment, precision="minute"):
        return local_text(moment, precision, self.zone)

    def html(self, moment, precision="minute", split=False):
        """<time datetime="2026-11-29T22:41:05Z" title="Asia/Tokyo">2026-11-30 07:41 JST</time>:
        the moment for machines in UTC, the zone's full name on hover; with `split`, the day and
        the rest in two spans, which CSS may put on two lines."""
        iso = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = escape(self.text(moment, precision))
        if split:
            day, _, rest = text.partition(" ")
            text = f"<span>{day}</span> <span>{rest}</span>"
        return SafeString(f'<time datetime="{iso}" title="{self.title}">{text}</time>')
