import zoneinfo

from allauth.account.forms import LoginForm
from allauth.core import context
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.forms import ActivateTOTPForm
from allauth.mfa.totp.internal.auth import generate_totp_secret
from allauth.mfa.webauthn.forms import AddWebAuthnForm, EditWebAuthnForm
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import Preference
from portal import encryption


class PasswordForm(forms.Form):
    """The signed-in user's own password typed again, or, where they have an authenticator app or
    recovery codes, one of its codes instead (counted and locked out as at sign-in)."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Or a code from your authenticator app, or a recovery code"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        codes = (Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES)
        if not Authenticator.objects.filter(user_id=request.user.pk, type__in=codes).exists():
            del self.fields["code"]
        # No password where there is none to type (an account made by single sign-on), or where
        # passwords are not accepted at all: a code, or signing on again, confirms instead.
        if not (settings.PASSWORD_SIGN_IN and request.user.has_usable_password()):
            del self.fields["password"]
        elif "code" not in self.fields:
            self.fields["password"].required = True

    def clean(self):
        cleaned = super().clean()
        if not self.fields:
            raise forms.ValidationError(_("Confirm with single sign-on."))
        password, code = cleaned.get("password"), cleaned.get("code")
        user = self.request.user
        if password:
            if authenticate(self.request, username=user.get_username(), password=password) != user:
                self.add_error("password", _("That is not your password."))
        elif code:
            check = CodeForm(user=user, data={"code": code})
            if not check.is_valid():
                self.add_error("code", check.errors["code"][0])
        elif "code" in self.fields and "password" in self.fields:
            raise forms.ValidationError(_("Enter your password or a code."))
        elif "code" in self.fields:
            self.add_error("code", _("Enter a code."))
        return cleaned


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
    return portal_username(email.rpartition("@")[0])


def portal_username(name):
    """`name` in the characters a username may hold, at most 150 of them."""
    return "".join(c for c in name if c.isalnum() or c in "@.+-_")[:150]


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


class SignInForm(LoginForm):
    """allauth's sign-in form under the names SPEC.md gives the page: `username` and `password`.

    allauth names its field `login`; only the name posted and the element id change.
    """

    def add_prefix(self, field_name):
        return "username" if field_name == "login" else super().add_prefix(field_name)

    def clean(self):
        if not settings.PASSWORD_SIGN_IN:  # single sign-on only: no password is even checked
            raise forms.ValidationError(_("Passwords are not accepted here: sign in with single sign-on."))
        return super().clean()


class CodeForm(AuthenticateForm):
    """The second step of sign-in: refused, like a password, while the username and address are
    locked out (django-axes), so that the lockout also ends the guessing of codes."""

    def clean_code(self):
        request = context.request
        if AxesProxyHandler.is_locked(request, {"username": self.user.get_username()}):
            request.axes_locked_out = True  # AxesMiddleware answers with the lockout page
            raise forms.ValidationError(_("Too many failed attempts."))
        return super().clean_code()


PENDING_SECRET = "mfa.totp.pending"  # noqa: S105 (a session key's name)


class ActivateAppForm(ActivateTOTPForm):
    """allauth's form that turns an authenticator app on, with the key being set up kept encrypted
    in the session (allauth keeps it there in clear) until the first code proves the app has it."""

    def __init__(self, *args, **kwargs):
        self.user = kwargs.pop("user")
        forms.Form.__init__(self, *args, **kwargs)
        session = context.request.session
        sealed = session.get(PENDING_SECRET) if self.is_bound else None
        self.secret = encryption.decrypt(sealed) if sealed else generate_totp_secret()
        session[PENDING_SECRET] = encryption.encrypt(self.secret)

    def clean_code(self):
        code = super().clean_code()
        # The app has the key: from now on it lives encrypted on the Authenticator only.
        context.request.session.pop(PENDING_SECRET, None)
        return code


class RenamePasskeyForm(EditWebAuthnForm):
    """allauth's rename form, its field labelled in the page's language."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"] = forms.CharField(label=_("Name"), max_length=100)


class AddPasskeyForm(AddWebAuthnForm):
    """allauth's form that adds a passkey, its fields in the page's words (the page explains them)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].label = _("Name")
        self.fields["name"].max_length = 100
        self.fields["name"].validators.append(MaxLengthValidator(100))
        self.fields["name"].widget.attrs["maxlength"] = "100"
        if "passwordless" in self.fields:
            self.fields["passwordless"].help_text = ""
