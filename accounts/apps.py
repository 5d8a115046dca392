from allauth.account.apps import AccountConfig
from django.apps import AppConfig
from django.conf import settings


class AccountsConfig(AppConfig):
    # The app's config although this module holds two: without it Django would take neither.
    default = True
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Connect the sign-in stamps to user_logged_in, and failed codes to the sign-in lockout.
        from accounts import adapters, sessions  # noqa: F401


class AllauthAccountConfig(AccountConfig):
    """django-allauth's accounts app. Its ready() insists on its middleware, which the API pool, which
    serves no sign-in, goes without (API_MIDDLEWARE: nothing on the hot path it does not need)."""

    def ready(self):
        if settings.POOL == "api":
            from allauth.account import checks  # noqa: F401
        else:
            super().ready()
