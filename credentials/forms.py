from django import forms
from django.utils.translation import gettext_lazy as _

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


class RegenerateSecretForm(forms.Form):
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
