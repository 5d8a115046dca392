from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # Connect the sign-in stamps to user_logged_in, and failed codes to the sign-in lockout.
        from accounts import adapters, sessions  # noqa: F401
