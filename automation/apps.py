from django.apps import AppConfig


class AutomationConfig(AppConfig):
    """Personal access tokens and the management REST API (/api/manage/v1/) they open."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "automation"
