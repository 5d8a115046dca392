from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


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
