from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"

    def ready(self):
        from portal import checks, sessions  # noqa: F401  (register the system checks and signals)
