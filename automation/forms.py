from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from automation.models import MAX_LIFETIME
from groups.forms import DayOrMomentField
from groups.models import Action


class TokenForm(forms.Form):
    """A new personal access token: its name, how long it lives (at most a year) and its scope."""

    LIFETIMES = [
        (7, _("7 days")),
        (30, _("30 days")),
        (90, _("90 days")),
        (365, _("1 year")),
        (0, _("Until the date below")),
    ]
    ACCESS = [("read", _("Read only")), ("write", _("Read and write"))]

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, such as the script that uses it."),
    )
    lifetime = forms.TypedChoiceField(label=_("Expires"), choices=LIFETIMES, coerce=int, initial=30)
    expires_on = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_(
            "Only with “Until the date below”: the token stops working at the start of this day in "
            "your time zone."
        ),
    )
    access = forms.ChoiceField(
        label=_("Access"),
        choices=ACCESS,
        initial="read",
        help_text=_("A read-only token can list and read, never change anything."),
    )

    def clean(self):
        cleaned = super().clean()
        now = timezone.now()
        if cleaned.get("lifetime"):
            cleaned["expires_at"] = now + timedelta(days=cleaned["lifetime"])
        elif cleaned.get("lifetime") == 0:
            day = cleaned.get("expires_on")
            if day is None:
                self.add_error("expires_on", gettext("Choose the day the token expires."))
                return cleaned
            # The user's day, as the page's times are in the user's zone (accounts.locale).
            expires_at = datetime.combine(day, time.min, timezone.get_current_timezone())
            if expires_at <= now:
                self.add_error("expires_on", gettext("Choose a day after today."))
            elif expires_at > now + MAX_LIFETIME:
                self.add_error("expires_on", gettext("A token can live at most one year."))
            cleaned["expires_at"] = expires_at
        return cleaned


class ActivityFilterForm(forms.Form):
    """The management API's Activity filters: a period (either end optional) and an action."""

    since = DayOrMomentField(required=False)
    until = DayOrMomentField(required=False)
    action = forms.ChoiceField(choices=Action.choices, required=False)

    def filter(self, activities):
        since, until, action = (self.cleaned_data[name] for name in ("since", "until", "action"))
        if since:
            if not isinstance(since, datetime):
                since = datetime.combine(since, time.min, UTC)
            activities = activities.filter(created_at__gte=since)
        if until:
            if not isinstance(until, datetime):  # a day counts whole
                until = datetime.combine(until, time.max, UTC)
            activities = activities.filter(created_at__lte=until)
        return activities.filter(action=action) if action else activities


class MomentField(forms.Field):
    """An ISO 8601 time (UTC unless it carries an offset) as an aware datetime in UTC; null or
    blank is None. The management API's way to say when something expires."""

    default_error_messages = {"invalid": "Send an ISO 8601 time such as 2027-01-31T00:00:00Z, or null."}

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            parsed = parse_datetime(value.strip()) if isinstance(value, str) else None
            if parsed is not None:
                parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):  # well formed but no such time, or out of range in UTC
            parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class ExpiresAtForm(forms.Form):
    """When a credential's keys or a client secret expire, through the management API: a future
    time, or None for never."""

    expires_at = MomentField(required=False)

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("Send a time in the future, or null for no expiry.")
        return expires_at
