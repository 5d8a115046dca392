from django.apps import AppConfig
from django.conf import settings


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Groups"

    def ready(self):
        from groups import audit, sso  # noqa: F401  (connect the audit trail and single sign-on's group map)

        sso.group_map(settings.OIDC_GROUP_MAP)  # a mistake in it stops the start, not a sign-on
