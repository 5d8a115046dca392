from datetime import UTC, datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import format_lazy, slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.two_factor import has_second_factor
from groups.export import FORMATS
from groups.models import (
    MAX_CREDENTIAL_AGE_DAYS,
    RESERVED_SLUGS,
    Group,
    Membership,
    Role,
    service_name_validator,
)


class GroupForm(forms.ModelForm):
    owner = forms.CharField(
        required=False,
        max_length=150,
        label=_("Owner"),
        help_text=_("Username of the group's first owner. Leave empty to add owners later."),
    )

    class Meta:
        model = Group
        fields = ["name", "slug", "description"]
        labels = {"name": _("Name"), "slug": _("Slug"), "description": _("Description")}
        help_texts = {"slug": _("Used in the group's web address. Leave empty to derive it from the name.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        self.fields["description"].widget.attrs["rows"] = 3

    def clean_owner(self):
        username = self.cleaned_data["owner"].strip()
        if not username:
            return None
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(gettext("There is no active user with this username."))
        return user

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("slug") and cleaned.get("name") and "slug" not in self.errors:
            cleaned["slug"] = slugify(cleaned["name"])
            if not cleaned["slug"]:
                self.add_error("slug", gettext("Choose a web address made of letters, digits and hyphens."))
            elif cleaned["slug"] in RESERVED_SLUGS:
                self.add_error(
                    "slug",
                    gettext("“%(slug)s” is reserved: choose another web address.")
                    % {"slug": cleaned["slug"]},
                )
            elif Group.objects.filter(slug=cleaned["slug"]).exists():
                self.add_error("slug", gettext("A group with this web address already exists."))
        self.instance.slug = cleaned.get("slug", "")
        return cleaned

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(
                gettext("“%(slug)s” is reserved: choose another web address.") % {"slug": slug}
            )
        return slug


class AddMemberForm(forms.Form):
    """An email address to invite, or a username. `precise` (staff) adds the account now and says
    when no such user exists; an owner's username becomes an invitation either way, so that
    usernames cannot be probed."""

    username = forms.CharField(label=_("Username or email address"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)

    def __init__(self, *args, group, precise=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.group, self.precise = group, precise

    def clean_username(self):
        value = self.cleaned_data["username"].strip()
        self.cleaned_data["email"] = self.cleaned_data["user"] = None
        if "@" in value:
            email = forms.EmailField().clean(value)
            if self.group.invitations.pending().filter(email__iexact=email).exists():
                raise forms.ValidationError(
                    gettext("%(email)s is invited already: revoke that invitation to send a new one.")
                    % {"email": email}
                )
            self.cleaned_data["email"] = email
            return value
        longest = get_user_model()._meta.get_field("username").max_length
        if len(value) > longest:  # no account can have it
            raise forms.ValidationError(
                gettext("A username has at most %(longest)s characters.") % {"longest": longest}
            )
        if not self.precise:
            if self.group.invitations.pending().filter(username=value).exists():
                raise forms.ValidationError(
                    gettext("%(username)s is invited already: revoke that invitation to make a new one.")
                    % {"username": value}
                )
            return value
        user = get_user_model().objects.filter(username=value, is_active=True).first()
        if user is None:
            raise forms.ValidationError(gettext("There is no active user with this username."))
        if Membership.objects.filter(group=self.group, user=user).exists():
            raise forms.ValidationError(
                gettext("%(username)s is already a member of this group.") % {"username": value}
            )
        self.cleaned_data["user"] = user
        return value


def seen_version(request):
    """The version of the object the administrator saw: posted by its form in a hidden input, or
    in the URL of the link a dialog posts to. 0, which no object has, when it is missing or not a
    number, so that claiming it is a conflict."""
    value = request.POST.get("version") or request.GET.get("version")
    try:
        return forms.IntegerField(min_value=1).clean(value)
    except forms.ValidationError:
        return 0


class RoleForm(forms.Form):
    """A member's new role; Membership.change_role keeps the group's last owner."""

    role = forms.ChoiceField(choices=Role.choices)


class DayOrMomentField(forms.Field):
    """A day (YYYY-MM-DD) or a moment (YYYY-MM-DDTHH:MM[:SS], in the active time zone unless it
    carries an offset), as a date or an aware datetime in UTC. The active zone is the user's on a
    page (days typed by a person are their days) and UTC in the export_activity command."""

    widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    default_error_messages = {"invalid": _("Enter a date as YYYY-MM-DD, or a time as YYYY-MM-DDTHH:MM:SS.")}

    def to_python(self, value):
        value = str(value or "").strip()
        if not value:
            return None
        try:
            parsed = parse_date(value) or parse_datetime(value)
            if isinstance(parsed, datetime):
                parsed = _in_utc(parsed, parsed.tzinfo)
        except (ValueError, OverflowError):  # well formed but no such day, or out of range in UTC
            parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


def _in_utc(moment, zone=None):
    """A datetime, naive ones read in the active time zone, as an aware datetime in UTC."""
    return moment.replace(tzinfo=zone or timezone.get_current_timezone()).astimezone(UTC)


def _day_bound(day, at, error):
    """The start or the end (`at`) of `day` in the active time zone, in UTC."""
    try:
        return _in_utc(datetime.combine(day, at))
    except OverflowError:  # the first or last day there is, out of range once in UTC
        raise forms.ValidationError(error, code="invalid") from None


def _days_ago(days):
    return lambda: timezone.localdate() - timedelta(days=days)


class ExportForm(forms.Form):
    """The period and format of an Activity export, for the tab's Download form and the
    export_activity command. A day given as `until` counts whole."""

    since = DayOrMomentField(label=_("From"), initial=_days_ago(30))
    until = DayOrMomentField(label=_("To"), required=False, initial=_days_ago(0))
    format = forms.ChoiceField(
        label=_("Format"),
        choices=[(name, spec.label) for name, spec in FORMATS.items()],
        initial="csv",
        error_messages={
            "invalid_choice": format_lazy(_("Choose a format: {formats}."), formats=" or ".join(FORMATS))
        },
    )

    def clean_since(self):
        since = self.cleaned_data["since"]
        if isinstance(since, datetime):
            return since
        return _day_bound(since, time.min, self.fields["since"].error_messages["invalid"])

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until is None:
            return timezone.now()
        if isinstance(until, datetime):
            return until
        return _day_bound(until, time.max, self.fields["until"].error_messages["invalid"])

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", gettext("The end of the period comes before its start."))
        return cleaned

    def period(self, activities):
        """The rows of an Activity queryset within the period, both ends included."""
        return activities.filter(
            created_at__gte=self.cleaned_data["since"], created_at__lte=self.cleaned_data["until"]
        )

    def filename(self, slug):
        """activity-<slug>-<first day>-to-<last day>.<extension>, days of the active time zone."""
        since, until = (timezone.localtime(self.cleaned_data[end]) for end in ("since", "until"))
        extension = FORMATS[self.cleaned_data["format"]].extension
        return f"activity-{slug}-{since:%Y-%m-%d}-to-{until:%Y-%m-%d}.{extension}"


class ServiceForm(forms.Form):
    service = forms.CharField(
        label=_("Service name"),
        max_length=64,
        validators=[service_name_validator],
        help_text=_("A scope credentials may be limited to, e.g. orders:read."),
    )


class PolicyForm(forms.Form):
    """A group's policy: the maximum age of its key slots and client secrets, warned or enforced."""

    max_credential_age_days = forms.IntegerField(
        label=_("Maximum credential age (days)"),
        required=False,
        min_value=1,
        max_value=MAX_CREDENTIAL_AGE_DAYS,
        help_text=_(
            "Leave it blank for no maximum. A key or client secret older than this, counted from when"
            " it was issued or last regenerated, is marked on the Authentication Information tab."
        ),
    )
    max_age_enforced = forms.BooleanField(
        label=_("Refuse credentials past the maximum age"),
        required=False,
        help_text=_(
            "Unticked, they are only marked (warned). Ticked, they are refused as a wrong value would"
            " be, within a second on every server, until they are regenerated."
        ),
    )
    two_factor_required = forms.BooleanField(
        label=_("Require two-factor authentication"),
        required=False,
        help_text=_(
            "Members without an authenticator app or a passkey cannot show, create, regenerate or"
            " delete its credentials, or change its members, until they set one up."
        ),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_two_factor_required(self):
        required = self.cleaned_data["two_factor_required"]
        if required and self.user is not None and not has_second_factor(self.user):
            raise forms.ValidationError(
                _(
                    "Set up two-factor authentication for yourself first: without it, you could no"
                    " longer change this group."
                )
            )
        return required
