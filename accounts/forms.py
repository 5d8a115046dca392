import zoneinfo

from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Preference


class PasswordForm(forms.Form):
    """The signed-in user's own password, typed again."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self):
        password = self.cleaned_data["password"]
        user = authenticate(self.request, username=self.request.user.get_username(), password=password)
        if user is None or user.pk != self.request.user.pk:
            raise forms.ValidationError(_("That is not your password."))
        return password


class InvitedAccountForm(UserCreationForm):
    """A new account for the address an invitation went to: a username and a password, checked by
    the password validators against that address too."""

    def __init__(self, email, *args, **kwargs):
        super().__init__(*args, instance=get_user_model()(email=email), **kwargs)
        self.fields["username"].widget.attrs["autocomplete"] = "username"
        if not self.is_bound:
            self.initial["username"] = suggested_username(email)


def suggested_username(email):
    """The part of the address before the @, in the characters a username may hold."""
    local = email.rpartition("@")[0]
    return "".join(c for c in local if c.isalnum() or c in "@.+-_")[:150]


class PreferenceForm(forms.ModelForm):
    """The account's language and time zone; an empty zone follows the language."""

    time_zone = forms.ChoiceField(label=_("Time zone"), required=False)

    class Meta:
        model = Preference
        fields = ["language", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones() - {"localtime"})
        default = _("By language: Asia/Tokyo for 日本語, else UTC")
        self.fields["time_zone"].choices = [("", default), *((zone, zone) for zone in zones)]
