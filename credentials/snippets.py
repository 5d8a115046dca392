"""Quick-start commands for the Authentication Information tab: `curl` calls an application's
developer can copy, with the real Client ID and placeholders where a secret goes.

No key, secret or token ever enters a command, even one the page shows in clear: a command is
copied into shells, chats and tickets, so it holds only what a viewer may see. Every argument
is quoted with shlex.quote, so a placeholder replaced by the real value stays one argument.
"""

import json
import shlex

from django.conf import settings
from django.utils.translation import gettext

API_KEY_PLACEHOLDER = "<YOUR_PRIMARY_KEY>"
CLIENT_SECRET_PLACEHOLDER = "<YOUR_CLIENT_SECRET>"  # noqa: S105  (a placeholder, not a secret)
ACCESS_TOKEN_PLACEHOLDER = "<ACCESS_TOKEN>"  # noqa: S105


def api_base_url(request):
    """The API's public address without a trailing slash: API_BASE_URL, or else this page's own
    scheme and host (right behind one nginx origin, and in `make run`, whose portal pool also
    serves the API)."""
    return (settings.API_BASE_URL or request.build_absolute_uri("/")).rstrip("/")


def _curl(url, *options):
    """`curl` with each (flag, value) option on a line of its own and the URL last, every value
    shell-quoted."""
    arguments = [*(f"{flag} {shlex.quote(value)}" for flag, value in options), shlex.quote(url)]
    return "curl " + " \\\n  ".join(arguments)


def whoami_with_api_key(base_url):
    """GET /v1/whoami with the primary key in X-Api-Key."""
    return _curl(f"{base_url}/v1/whoami", ("-H", f"X-Api-Key: {API_KEY_PLACEHOLDER}"))


def token_v2(base_url, client_id):
    """POST /v2/tokens (OAuth 2.0 client credentials) with the client in HTTP Basic."""
    return _curl(
        f"{base_url}/v2/tokens",
        ("-u", f"{client_id}:{CLIENT_SECRET_PLACEHOLDER}"),
        ("-d", "grant_type=client_credentials"),
    )


def tokens_v1(base_url, client_id):
    """POST /v1/tokens (the conventional method) with the client in a JSON body."""
    body = json.dumps({"clientId": client_id, "clientSecret": CLIENT_SECRET_PLACEHOLDER})
    return _curl(f"{base_url}/v1/tokens", ("-H", "Content-Type: application/json"), ("-d", body))


def whoami_with_access_token(base_url):
    """GET /v1/whoami with an access token in X-Access-Token."""
    return _curl(f"{base_url}/v1/whoami", ("-H", f"X-Access-Token: {ACCESS_TOKEN_PLACEHOLDER}"))


def for_api_key(base_url):
    """The quick start of an API key credential: [(endpoint, what it does, command)]."""
    return [("/v1/whoami", gettext("Call an API with the primary key"), whoami_with_api_key(base_url))]


def for_oauth_client(base_url, client_id):
    """The quick start of an OAuth client: [(endpoint, what it does, command)]."""
    return [
        ("/v2/tokens", gettext("Get an access token (OAuth 2.0)"), token_v2(base_url, client_id)),
        (
            "/v1/tokens",
            gettext("Or get an access token and a refresh token (conventional method)"),
            tokens_v1(base_url, client_id),
        ),
        ("/v1/whoami", gettext("Call an API with the access token"), whoami_with_access_token(base_url)),
    ]
