from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SubmissionQuerySet(models.QuerySet):
    def expired(self, now):
        """Rows past SUBMISSION_MEMORY, which no form still on a screen is likely to repeat."""
        return self.filter(created_at__lt=now - timedelta(seconds=settings.SUBMISSION_MEMORY))


class Submission(models.Model):
    """A form that was acted on (accounts.submissions.once): a repeat of it, by a reload, a double
    click or back-and-submit-again, is sent where the first one went instead of acting twice."""

    # Keyed digest of the form's one-time token, its user, path and fields.
    key = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    location = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = SubmissionQuerySet.as_manager()

    def __str__(self):
        return f"submission of {self.user} to {self.location or '(in progress)'}"


class PreferenceManager(models.Manager):
    def of(self, user):
        """The user's preference, or an unsaved default one (the browser's language, its zone)."""
        return self.filter(user=user).first() or Preference(user=user)

    def choose_language(self, user, language):
        """Remember the switcher's choice for the user (kept across sign-out and sign-in)."""
        self.update_or_create(user=user, defaults={"language": language})


class Preference(models.Model):
    """A user's language and time zone for the portal's pages (accounts.locale activates them)."""

    BROWSER = ""
    LANGUAGES = [(BROWSER, _("From the browser")), *settings.LANGUAGES]
    # The zone a language's reader most likely lives in, until they choose one.
    DEFAULT_ZONES = {"ja": "Asia/Tokyo"}

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    language = models.CharField(_("Language"), max_length=8, choices=LANGUAGES, blank=True, default=BROWSER)
    # An IANA zone name (zoneinfo); empty follows the language.
    time_zone = models.CharField(_("Time zone"), max_length=64, blank=True, default="")

    objects = PreferenceManager()

    def __str__(self):
        return f"preference of {self.user}"

    def zone(self, language):
        """The zone to show times in for a page in `language`: the chosen one, else the language's."""
        return self.time_zone or self.DEFAULT_ZONES.get(language, "UTC")


class SitePolicyManager(models.Manager):
    def current(self):
        return self.get_or_create(pk=1)[0]


class SitePolicy(models.Model):
    """The rules for every account, set by staff: one row."""

    two_factor_required = models.BooleanField(
        _("Require two-factor authentication for everyone"), default=False
    )
    changed_at = models.DateTimeField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SitePolicyManager()

    class Meta:
        verbose_name = _("site policy")
        verbose_name_plural = _("site policy")

    def __str__(self):
        return "site policy"
