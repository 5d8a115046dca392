from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "credentials"
    verbose_name = "Credentials"

    def ready(self):
        from credentials.api import schema  # noqa: F401  (registers the OpenAPI authentication extension)
