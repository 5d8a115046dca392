from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Groups"

    def ready(self):
        from groups import audit  # noqa: F401  (connects the audit trail to sign-ins and the admin site)
