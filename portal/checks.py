from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=False)
def development_keys_in_production(app_configs, **kwargs):
    """Refuse to run with DEBUG off while a key is still the published development default."""
    if settings.DEBUG:
        return []
    defaults = {
        "SECRET_KEY": settings.SECRET_KEY == settings.DEV_SECRET_KEY,
        "CREDENTIALS_DIGEST_KEY": settings.CREDENTIALS_DIGEST_KEY == settings.DEV_DIGEST_KEY,
        "CREDENTIALS_ENCRYPTION_KEY": settings.DEV_ENCRYPTION_KEY in settings.CREDENTIALS_ENCRYPTION_KEY,
    }
    return [
        Error(
            f"{name} is the development default.",
            hint="Set it in the environment or .env (make run writes generated keys to .env).",
            id="portal.E001",
        )
        for name, in_use in defaults.items()
        if in_use
    ]
