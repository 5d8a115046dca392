from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts import sessions  # noqa: F401  (connects the sign-in stamps to user_logged_in)
