from django.conf import settings
from django.db import models


class Person(models.Model):
    """The claims of a user beyond Django's User, as the launcher gave them (no migrations:
    every table of the provider is made from its model, see settings.MIGRATION_MODULES)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    name = models.CharField(max_length=200, blank=True)
    email_verified = models.BooleanField(default=True)
    groups = models.JSONField(default=list)

    def __str__(self):
        return self.user.username
