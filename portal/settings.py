"""Settings for the API authentication portal.

Every setting an operator may change is read once here from the environment (or a local `.env`),
with a default that runs on a laptop: SQLite and a file cache shared by all gunicorn workers.
Environment names equal setting names; durations carry their unit in a comment.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

# Development defaults: a system check (portal.checks) refuses them when DEBUG is off.
DEV_SECRET_KEY = "dev-only-secret-key-not-for-production-0123456789abcdefghijklmnop"  # noqa: S105
DEV_DIGEST_KEY = "dev-only-digest-key-not-for-production-0123456789"
DEV_ENCRYPTION_KEY = "ZGV2LW9ubHktZW5jcnlwdGlvbi1rZXktMDEyMzQ1Njc="

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A form refused for its missing or stale CSRF token gets the portal's error page.
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"

# Keyed digest (HMAC-SHA256) for looking secrets up; changing it invalidates every key and token.
CREDENTIALS_DIGEST_KEY = env.str("CREDENTIALS_DIGEST_KEY", default=DEV_DIGEST_KEY)
# Fernet keys for the encrypted copy behind Show, comma-separated: the first encrypts,
# the others still decrypt (key rotation).
CREDENTIALS_ENCRYPTION_KEY = env.list("CREDENTIALS_ENCRYPTION_KEY", default=[DEV_ENCRYPTION_KEY])
# False turns Show off: a value then appears only in the response that created or regenerated it.
CREDENTIALS_SHOW = env.bool("CREDENTIALS_SHOW", default=True)
# The API's public address in the tab's quick-start commands, e.g. https://api.example.com;
# empty uses the page's own scheme and host (one origin behind nginx).
API_BASE_URL = env.str("API_BASE_URL", default="")
# Seconds a worker may keep answering from its memory of a verified credential: the longest a
# regenerated key, revoked token or deleted credential can still be accepted. 0 turns it off.
VERIFY_CACHE_SECONDS = env.float("VERIFY_CACHE_SECONDS", default=0.5)
# Seconds between two writes of a key's "last used" time and address.
LAST_USED_INTERVAL = env.int("LAST_USED_INTERVAL", default=60)
# Seconds within which a slot's use makes the Regenerate confirmation warn.
RECENT_USE_WARNING = env.int("RECENT_USE_WARNING", default=600)
# Redis, shared by every server: the cache, and the rate limits' counts. Empty: a file cache and a
# SQLite file of counts (RATE_LIMIT_PATH) that the workers of this machine share.
REDIS_URL = env.str("REDIS_URL", default="")
RATE_LIMIT_PATH = env.str("RATE_LIMIT_PATH", default=str(BASE_DIR / "var" / "ratelimit.sqlite3"))
# Seconds a rate limit check waits for Redis before letting the request pass (fail open).
RATE_LIMIT_TIMEOUT = env.float("RATE_LIMIT_TIMEOUT", default=0.25)
# Lookups one user may make on the Identify page per minute (counted in the cache, shared by workers).
IDENTIFY_PER_MINUTE = env.int("IDENTIFY_PER_MINUTE", default=20)
# Seconds a worker keeps its usage counts (requests per hour of each key slot and client secret)
# in memory before adding them to the database; they are also written when the worker exits.
USAGE_FLUSH_SECONDS = env.float("USAGE_FLUSH_SECONDS", default=60.0)
# Prometheus metrics (portal.metrics), served at /metrics to a scraper that sends
# "Authorization: Bearer <METRICS_TOKEN>" or calls from METRICS_ALLOWED_NETWORKS (CIDR ranges);
# anyone else gets 404. METRICS=false counts nothing.
METRICS = env.bool("METRICS", default=True)
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = tuple(
    ipaddress.ip_network(network, strict=False)
    for network in env.list("METRICS_ALLOWED_NETWORKS", default=[])
)
# Seconds /readyz waits for Redis before calling it unreachable.
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=0.5)
# Lifetimes, in seconds: access tokens (both methods), and the refresh token chain of the
# conventional method counted from its first issue (never extended by rotation).
ACCESS_TOKEN_TTL = env.int("ACCESS_TOKEN_TTL", default=3600)
REFRESH_TOKEN_TTL = env.int("REFRESH_TOKEN_TTL", default=86400)
# Seconds after a rotation during which the previous refresh token may be presented once more.
REFRESH_GRACE_SECONDS = env.int("REFRESH_GRACE_SECONDS", default=10)
# Consecutive failed client authentications from one address that lock (client ID, address),
# and for how many seconds.
LOCKOUT_THRESHOLD = env.int("LOCKOUT_THRESHOLD", default=5)
LOCKOUT_SECONDS = env.int("LOCKOUT_SECONDS", default=1800)
# Largest token request body accepted, in bytes.
TOKEN_REQUEST_MAX_BYTES = env.int("TOKEN_REQUEST_MAX_BYTES", default=8192)
# Addresses of reverse proxies whose X-Forwarded-For is believed; empty trusts no header.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Seconds a password entry stays fresh enough to show or change credentials and members; older
# asks for it again.
REAUTHENTICATE_AFTER = env.int("REAUTHENTICATE_AFTER", default=15 * 60)
# A new or shown value waits this many seconds, encrypted, for the page the POST redirects to;
# that page shows it once.
REVEAL_SECONDS = env.int("REVEAL_SECONDS", default=5 * 60)
# Seconds a submitted form is remembered, so that sending it again does nothing more.
SUBMISSION_MEMORY = env.int("SUBMISSION_MEMORY", default=24 * 60 * 60)
# A portal session ends after this many seconds without a request, and in any case this long
# after sign-in.
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=30 * 60)
SESSION_MAX_AGE = env.int("SESSION_MAX_AGE", default=12 * 60 * 60)
# Hours an invitation's link stays valid.
INVITATION_HOURS = env.int("INVITATION_HOURS", default=72)
# Outgoing mail (invitations): e.g. smtp+tls://user:password@mail.example.com:587. The default
# prints each mail, its invitation link included, to the server's output: for development only.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="API Authentication Portal <portal@localhost>")
# Seconds to wait for the mail server before giving up on a mail.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# The portal's public address, e.g. https://portal.example.com, for links in mail sent outside a
# request (send_reminders).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://localhost:8000")
# "Needs attention" (Group List, tab, daily reminders): expiries within this many days, grace
# periods ending within this many hours, credentials unused for this many days.
ATTENTION_EXPIRY_DAYS = env.int("ATTENTION_EXPIRY_DAYS", default=14)
ATTENTION_GRACE_HOURS = env.int("ATTENTION_GRACE_HOURS", default=24)
ATTENTION_UNUSED_DAYS = env.int("ATTENTION_UNUSED_DAYS", default=90)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "allauth",
    "accounts.apps.AllauthAccountConfig",  # allauth.account, without its middleware on the API pool
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "portal",
    "accounts",
    "groups",
    "credentials",
    "automation",
]

# Which pool this process serves (docs/deploy.md, "Two pools"): "portal" serves everything, pages
# and API; "api" serves only the token endpoints, /v1/verify and /v1/whoami, through the
# middleware they need, so that sign-ins and pages never take the API's workers.
POOL = env.str("POOL", default="portal")
if POOL not in ("portal", "api"):
    raise ValueError(f"POOL must be portal or api, not {POOL!r}")

MIDDLEWARE = [
    # First, so that everything written while serving a request carries its id.
    "portal.context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # A page's language: the language cookie's, else Accept-Language's; a signed-in user's own
    # choice replaces it below. The API's addresses stay in English, as on the API pool.
    "accounts.locale.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.sessions.SessionLifetimeMiddleware",
    # allauth's sign-in steps (the second factor) keep their state in the session.
    "allauth.account.middleware.AccountMiddleware",
    # Inside authentication: the signed-in user's language and time zone (accounts.Preference).
    "accounts.locale.UserLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Inside authentication, so that its page knows who is signed in.
    "portal.middleware.MethodNotAllowedPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.headers.ContentSecurityPolicyMiddleware",
    # Last, so that it sees the sign-in attempts the views make.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
# The API pool's: no sessions, CSRF, users, messages, static files or sign-in limits, since the API
# views read their own credentials. The request id and the security headers stay.
API_MIDDLEWARE = [
    "portal.context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.headers.ContentSecurityPolicyMiddleware",
]
if POOL == "api":
    MIDDLEWARE = API_MIDDLEWARE
    ROOT_URLCONF = "portal.api_urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.language_switcher",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections, checked before reuse so a restarted database costs one failed check.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, whose health check asks the server only when the socket has something to
    # read (portal/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "portal.postgresql"
    # An unreachable server fails a request in seconds (503) instead of holding a worker.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, whose write transactions queue in the kernel rather than poll SQLite's
    # busy handler (portal/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "portal.sqlite"
    # Writers from several gunicorn workers queue for the lock instead of failing with
    # "database is locked" when two transactions try to upgrade a read lock at once.
    # WAL lets readers and the writer work at once, and with synchronous=NORMAL a commit does not
    # wait for a full fsync (a power cut may lose the last commits, never corrupt the file).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="portal"),
        }
    }
else:
    # A file cache is shared by every gunicorn worker on this machine, unlike LocMemCache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env.str("CACHE_DIR", default=str(BASE_DIR / "var" / "cache")),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="portal"),
        }
    }

# Argon2, the hasher Django recommends, for every password set from now on. The PBKDF2 hashers
# after it still check the passwords stored before, and Django rehashes each with Argon2 when its
# owner next signs in. What each costs per sign-in: docs/performance.md.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "groups:list"
LOGOUT_REDIRECT_URL = "login"

# Portal sign-in (django-axes, counted in the database, so across workers and servers): wrong
# passwords for one username from one address lock that pair at LOGIN_FAILURE_LIMIT, and wrong
# passwords for any usernames from one address lock the address at LOGIN_ADDRESS_FAILURE_LIMIT
# (accounts/lockout.py), each for LOGIN_LOCKOUT_SECONDS.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "accounts.lockout.SignInLockout"
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("LOGIN_LOCKOUT_SECONDS", default=1800))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "portal.addresses.source_address"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ALLOWED_CORS_ORIGINS = "null"
AXES_VERBOSE = False

# Sign-in by django-allauth: the username and password, then, for an account that has one, a second
# factor (an authenticator app's code, a recovery code or a passkey). No sign-up and no e-mail flows:
# accounts come from invitations and staff. django-axes counts failed passwords and codes alike
# (accounts/adapters.py), so allauth's own rate limits are off.
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.forms.SignInForm"}
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_RATE_LIMITS = False
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_FORMS = {
    "authenticate": "accounts.forms.CodeForm",
    "activate_totp": "accounts.forms.ActivateAppForm",
    "add_webauthn": "accounts.forms.AddPasskeyForm",
    "edit_webauthn": "accounts.forms.RenamePasskeyForm",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
# A passkey alone signs in too, unless single sign-on is the only way in (PASSWORD_SIGN_IN below).
MFA_PASSKEY_LOGIN_ENABLED = env.bool("PASSWORD_SIGN_IN", default=True)
MFA_RECOVERY_CODES_SHOW_ONCE = True
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="API Authentication Portal")
# Single sign-on by OpenID Connect (allauth's openid_connect provider: authorization code with PKCE),
# on when OIDC_ISSUER is set (docs/deploy.md, "Single sign-on"). Accounts are made at the first
# sign-on; OIDC_GROUP_MAP maps identity-provider groups (the OIDC_GROUPS_CLAIM claim) to portal
# groups and roles (groups/sso.py). PASSWORD_SIGN_IN=false leaves single sign-on the only way in.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_NAME = env.str("OIDC_NAME", default="")  # blank: "single sign-on", in the page's language
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_GROUP_MAP = env.str("OIDC_GROUP_MAP", default="")
PASSWORD_SIGN_IN = env.bool("PASSWORD_SIGN_IN", default=True)
if not PASSWORD_SIGN_IN and not OIDC_ISSUER:
    raise ValueError("PASSWORD_SIGN_IN=false needs single sign-on: set OIDC_ISSUER")
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # an account with the same verified address is that person's
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "sso",
                "name": OIDC_NAME or "single sign-on",
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {"server_url": OIDC_ISSUER},
            }
        ]
        if OIDC_ISSUER
        else [],
    }
}

# Changing one's second factors needs a recent password, as Show does (accounts.urls); allauth's own
# reauthentication pages are not used.
MFA_REAUTHENTICATION_REQUIRED = False

# HTTPS: on behind a TLS-terminating proxy that sets X-Forwarded-Proto (see docs/deploy.md).
# It turns on the redirect to https, HSTS for a year, and Secure, __Host- cookies.
HTTPS = env.bool("HTTPS", default=False)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # The gateway's verification subrequest, the load balancer's liveness and readiness probes and
    # Prometheus's scrape may come over the private network in plain HTTP; a redirect would only
    # break them. The token endpoints and
    # /v1/whoami refuse plain HTTP themselves (credentials.api.base.plain_http_refusal) rather than
    # redirect after the credential crossed in clear.
    SECURE_REDIRECT_EXEMPT = [
        r"^v1/verify$",
        r"^healthz$",
        r"^readyz$",
        r"^metrics$",
        r"^v1/tokens$",
        r"^v2/tokens(/revoke|/introspect)?$",
        r"^v1/whoami$",
    ]
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading binds every subdomain of the registered domain to HTTPS in browsers for good:
    # that is the domain owner's decision, not the portal's. Until HSTS_PRELOAD=true says it was
    # made, `check --deploy`'s reminder about it (security.W021) is silenced.
    SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS or env.bool("SECURE_COOKIES", default=False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = SESSION_MAX_AGE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# English unless the browser, the language switcher or the user's preference asks for Japanese.
# The API answers in LANGUAGE_CODE on both pools (accounts.locale).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switcher's choice, also for the sign-in page; a year, like Django's own default.
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "credentials.api.base.exception_handler",
    "UNAUTHENTICATED_USER": None,
}

# The API Reference in the page's language (credentials.api.reference): the texts are lazy, so each
# schema request renders them in its own; names, paths, headers and error codes stay as they are.
SPECTACULAR_SETTINGS = {
    "TITLE": _("API Authentication API Reference"),
    "DESCRIPTION": _(
        "Issue access tokens with a Client ID and Client Secret, and call the service APIs with an "
        "API key (X-Api-Key) or an access token (X-Access-Token). To try it: click Authorize (the "
        "lock icon), enter the Client ID as Username and the Client Secret as Password, Authorize, "
        "Close; then Try it out on POST /v2/tokens and Execute.\n\n"
        'Errors keep RFC 6749\'s shape {"error", "error_description"}: the error code is the '
        "RFC's (invalid_client, invalid_grant, ...) and error_description is in English whatever "
        "Accept-Language says, since RFC 6749 allows only ASCII there."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # PATCH /v1/tokens is not a partial update: its refreshToken is required.
    "COMPONENT_SPLIT_PATCH": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Credentials typed into Authorize stay in the page, never in the browser's storage.
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": False, "deepLinking": True},
    # HTTP Basic for the token endpoints, X-Api-Key and X-Access-Token for the service APIs
    # (credentials.api.schema).
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ClientCredentials": {
                "type": "http",
                "scheme": "basic",
                "description": _("Username = Client ID, Password = Client Secret (from OAuth Information)."),
            },
            "ApiKey": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Api-Key",
                "description": _("An API key: the Primary key or Secondary key of an API key credential."),
            },
            "AccessToken": {
                "type": "apiKey",
                "in": "header",
                "name": "X-Access-Token",
                "description": _(
                    "An access token from POST /v2/tokens or POST /v1/tokens "
                    "(Authorization: Bearer is accepted too)."
                ),
            },
        }
    },
    # The operations name these tags with the same lazy strings (credentials.api.schema).
    "TAGS": [
        {"name": _("Tokens (OAuth 2.0)"), "description": _("Recommended: client credentials grant.")},
        {"name": _("Tokens (conventional method)"), "description": _("Kept for interface compatibility.")},
        {"name": _("Service APIs"), "description": _("Called with an API key or an access token.")},
        {
            "name": _("Management API"),
            "description": _(
                "Groups, members, credentials and Activity for scripts, with a personal access token "
                "(Authorization: Bearer gpu_..., from the portal's API tokens page)."
            ),
        },
    ],
}

# LOG_FORMAT=json (the default) writes one JSON object per line; plain is easier to read by eye.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "portal.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"routine_refusals": {"()": "portal.logs.RoutineRefusals"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": env.str("LOG_FORMAT", default="json")}
    },
    # A viewer's 403 is one INFO line, not a WARNING with a traceback.
    "loggers": {"django.request": {"filters": ["routine_refusals"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
