from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

HOW_TO_SET_KEYS = (
    "Keys go in the environment or in .env: `make run` writes .env with generated keys, "
    "or run `python portal/envfile.py .env`."
)


def development_keys():
    """The keys still holding their published development default while DEBUG is off."""
    if settings.DEBUG:
        return []
    defaults = {
        "SECRET_KEY": settings.SECRET_KEY == settings.DEV_SECRET_KEY,
        "CREDENTIALS_DIGEST_KEY": settings.CREDENTIALS_DIGEST_KEY == settings.DEV_DIGEST_KEY,
        "CREDENTIALS_ENCRYPTION_KEY": settings.DEV_ENCRYPTION_KEY in settings.CREDENTIALS_ENCRYPTION_KEY,
    }
    return [name for name, in_use in defaults.items() if in_use]


@register(Tags.security, deploy=False)
def development_keys_in_production(app_configs, **kwargs):
    """Refuse to run with DEBUG off while a key is still the published development default."""
    return [
        Error(f"{name} is the development default.", hint=HOW_TO_SET_KEYS, id="portal.E001")
        for name in development_keys()
    ]


def refuse_development_keys():
    """The same refusal for a WSGI server, which runs no system check (portal/wsgi.py)."""
    if names := development_keys():
        raise ImproperlyConfigured(
            f"DEBUG is off and these keys are the development defaults published in portal/settings.py: "
            f"{', '.join(names)}. {HOW_TO_SET_KEYS}"
        )
