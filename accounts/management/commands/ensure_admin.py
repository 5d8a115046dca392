import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from environ import Env


class Command(BaseCommand):
    help = (
        "Create the first platform administrator if the portal has none. Uses ADMIN_USERNAME and "
        "ADMIN_PASSWORD when set, else prints a generated password once."
    )

    def handle(self, *args, **options):
        users = get_user_model().objects
        admins = list(users.filter(is_superuser=True).values_list("username", flat=True)[:3])
        if admins:
            self.stdout.write(f"Sign in as {', '.join(admins)} (the password printed on the first run).")
            return
        env = Env()
        username = env.str("ADMIN_USERNAME", default="admin")
        password = env.str("ADMIN_PASSWORD", default="")
        if users.filter(username=username).exists():
            raise CommandError(
                f"A user named '{username}' exists but is not a superuser. Set ADMIN_USERNAME to another "
                f"name, or make that user a superuser with: manage.py changepassword / the admin site."
            )
        generated = not password
        if generated:
            password = secrets.token_urlsafe(18)
        users.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created administrator '{username}' with one-time password: {password}\n"
                    "It is shown only this once: sign in and change it under 'Change password'."
                )
            )
        else:
            self.stdout.write(f"Created administrator '{username}' with the password from ADMIN_PASSWORD.")
