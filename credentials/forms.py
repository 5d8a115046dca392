from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from credentials import networks
from credentials.models import RATE_LIMIT_MAX, name_validator


def rate_limit_field():
    return forms.IntegerField(
        label=_("Rate limit (requests per minute)"),
        required=False,
        min_value=1,
        max_value=RATE_LIMIT_MAX,
        help_text=_(
            "Leave it blank for no limit. Requests with any of the credential's keys or tokens count "
            "together; over the limit, the API answers 429 until the last minute's count falls."
        ),
    )


class NetworksField(forms.CharField):
    """Allowed source networks: CIDR ranges separated by spaces or lines; cleaned to the stored
    text (credentials.networks), None for blank (any address)."""

    def __init__(self, **kwargs):
        super().__init__(
            label=_("Allowed networks"),
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocapitalize": "off"}),
            help_text=_(
                "Address ranges in CIDR notation, separated by spaces or lines, e.g. 192.0.2.0/24 "
                "2001:db8::/32. Leave it blank to allow any address. Requests from other addresses are "
                "refused, and counted on the tab."
            ),
            **kwargs,
        )

    def clean(self, value):
        return networks.cleaned(super().clean(value))


class NetworksForm(forms.Form):
    allowed_networks = NetworksField()


class CredentialNameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, validators=[name_validator])
    rate_limit = rate_limit_field()

    def __init__(self, *args, existing, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing = existing

    NAME_TAKEN = _("This group already has a credential with this name.")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if self.existing.filter(name=name).exists():
            raise forms.ValidationError(self.NAME_TAKEN)
        return name

    def name_taken(self):
        """This form, with the error for a name taken after it was validated."""
        self.add_error("name", self.NAME_TAKEN)
        return self


class ExpiryForm(forms.Form):
    """When a credential or secret expires: never (the default), in a number of days, or at the
    end of a chosen date in the user's time zone. cleaned_data["expires_at"] is the moment or None."""

    NEVER, ON_DATE = "never", "date"
    CHOICES = [
        (NEVER, _("Never")),
        ("30", _("In 30 days")),
        ("90", _("In 90 days")),
        ("180", _("In 180 days")),
        ("365", _("In 365 days")),
        (ON_DATE, _("At the end of a date")),
    ]

    expires = forms.ChoiceField(choices=CHOICES, initial=NEVER, required=False, label=_("Expires"))
    expires_on = forms.DateField(
        required=False,
        label=_("Expiry date"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Used when the expiry is at the end of a date."),
    )

    def clean(self):
        cleaned = super().clean()
        choice, day = cleaned.get("expires"), cleaned.get("expires_on")
        now = timezone.now()
        if choice == self.ON_DATE:
            if day is None:
                self.add_error("expires_on", _("Choose the date on which it expires."))
                return cleaned
            # The end of that day where the user is: midnight at the start of the next one.
            ends = datetime.combine(day + timedelta(days=1), time(), timezone.get_current_timezone())
            if ends <= now:
                self.add_error("expires_on", _("Choose today or a later date."))
            cleaned["expires_at"] = ends
        elif choice and choice != self.NEVER:
            cleaned["expires_at"] = now + timedelta(days=int(choice))
        else:
            cleaned["expires_at"] = None
        return cleaned


class ScopesForm(forms.Form):
    """Which of the group's services a credential may use: all (the default, including services
    added later) or the ones ticked. cleaned_data["scopes"] is a list of names, or None for all."""

    all_services = forms.BooleanField(required=False, initial=True, label=_("All services"))
    services = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Only these services"),
        help_text=_("Used when All services is not ticked. None ticked: the credential may call no service."),
    )

    def __init__(self, *args, services, **kwargs):
        super().__init__(*args, **kwargs)
        names = list(services)
        self.fields["services"].choices = [(name, name) for name in names]
        if not names:  # nothing to choose from: the credential gets all, as before services
            del self.fields["all_services"], self.fields["services"]

    def initial_for(self, scopes):
        """Set the form's initial values from a credential's stored scopes."""
        if scopes is not None and "services" in self.fields:
            self.initial.update(all_services=False, services=scopes.split())
        return self

    def clean(self):
        cleaned = super().clean()
        everything = cleaned.get("all_services", True) or "services" not in self.fields
        cleaned["scopes"] = None if everything else cleaned.get("services", [])
        return cleaned


class CreateCredentialForm(CredentialNameForm, ExpiryForm, ScopesForm):
    """Create: a name, when the new keys or secret expire, and which services it may use."""

    allowed_networks = NetworksField()

    field_order = [
        "name",
        "expires",
        "expires_on",
        "all_services",
        "services",
        "rate_limit",
        "allowed_networks",
    ]


class RegenerateSecretForm(ExpiryForm):
    GRACE_CHOICES = [
        (0, _("Now")),
        (3600, _("After 1 hour")),
        (86400, _("After 24 hours")),
        (604800, _("After 7 days")),
    ]
    # How the message after a regeneration says each grace period ("stops working in ...").
    GRACE_PERIODS = {0: "", 3600: _("1 hour"), 86400: _("24 hours"), 604800: _("7 days")}

    grace_seconds = forms.TypedChoiceField(
        choices=GRACE_CHOICES, coerce=int, initial=0, label=_("The old secret stops working")
    )
    revoke_tokens = forms.BooleanField(
        required=False, initial=True, label=_("Revoke every token issued with this client so far")
    )


class RateLimitForm(forms.Form):
    rate_limit = rate_limit_field()


class UnlockForm(forms.Form):
    address = forms.GenericIPAddressField(required=False)


class BlankTextInput(forms.TextInput):
    """A text field that never renders what was sent: a pasted secret does not come back."""

    def get_context(self, name, value, attrs):
        return super().get_context(name, None, attrs)


class IdentifyForm(forms.Form):
    value = forms.CharField(
        label=_("Value or hint"),
        max_length=200,
        widget=BlankTextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}),
        help_text=_(
            "An API key, Client Secret, access token, refresh token or Client ID, or its prefix and last"
            " four characters as the tab shows them (gps_…QjgX)."
        ),
    )
