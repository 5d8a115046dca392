"""The complete authorization matrix: every URL pattern of the project, every role, GET/POST/DELETE.

The patterns are walked from get_resolver(), so a new URL that is not in MATRIX fails
test_the_matrix_covers_every_url_pattern. The admin site counts as one entry ("admin/") that
must keep everyone but staff out. tests/groups/test_access.py checks the group-scoped part in
more ways; this file is the whole table.

Each row is answered by six requests, one per role, each inside a savepoint that is rolled
back, so that an owner's successful delete does not change what the next role meets.
"""

import re
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode

import pytest
from allauth.mfa.models import Authenticator
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse

from credentials.models import AccessToken, ApiKey, ApiKeyCredential, ClientSecret, OAuthClient
from groups.models import Group, Invitation, Membership, Role, Service
from tests.conftest import (
    SECRET_SHAPE,
    changes,
    issue_access_token,
    make_api_key,
    make_group,
    make_member,
    make_oauth_client,
    report,
    url_patterns,
)
from tests.manage.conftest import make_pat

ROLES = ("owner", "admin", "viewer", "outsider", "staff", "anonymous")
METHODS = ("GET", "POST", "DELETE")
# PUT is asked only of the rows that take it: the management API's settings, each replaced whole.
PUT = "PUT"
FORM = "application/x-www-form-urlencoded"

LOGIN = "login"  # 302 to /accounts/login/?next=<the URL>
ADMIN_LOGIN = "admin login"  # 302 to /admin/login/?next=<the URL>
STAFF = "staff"  # the admin site lets staff in: anything but its login page or a 5xx


class To(str):
    """A 302 to this path."""


GROUPS, AUTH_INFO, MEMBERS = To("/groups/"), To("/groups/payments/"), To("/groups/payments/members/")
SERVICES = To("/groups/payments/services/")
POLICY = To("/groups/payments/policy/")
SIGNED_OUT, ADMIN_INDEX = To("/accounts/login/"), To("/admin/")
# The tab showing, once, the values an action made or showed (the reveal's id varies).
REVEALED = To("/groups/payments/?reveal=…")


def row(owner, admin, viewer, outsider, staff, anonymous):
    return (owner, admin, viewer, outsider, staff, anonymous)


def every(expected):
    return (expected,) * len(ROLES)


# The management API's recurring rows: a read, a list to create in, an object, an action.
MANAGE_READ = {
    "GET": row(200, 200, 200, 404, 200, 401),
    "POST": row(405, 405, 405, 405, 405, 401),
    "DELETE": row(405, 405, 405, 405, 405, 401),
}
MANAGE_LIST = {
    "GET": row(200, 200, 200, 404, 200, 401),
    "POST": row(201, 201, 403, 404, 201, 401),
    "DELETE": row(405, 405, 405, 405, 405, 401),
}
MANAGE_OBJECT = {
    "GET": row(200, 200, 200, 404, 200, 401),
    "POST": row(405, 405, 405, 405, 405, 401),
    "DELETE": row(204, 204, 403, 404, 204, 401),
}
MANAGE_ACTION = {
    "GET": row(405, 405, 405, 405, 405, 401),
    "POST": row(200, 200, 403, 404, 200, 401),
    "DELETE": row(405, 405, 405, 405, 405, 401),
}
# An owners' action (suspension): admins are refused as viewers are.
MANAGE_OWNERS_ACTION = {
    "GET": row(405, 405, 405, 405, 405, 401),
    "POST": row(200, 403, 403, 404, 200, 401),
    "DELETE": row(405, 405, 405, 405, 405, 401),
}
# A setting every member reads and PUT replaces: a credential's (owners and admins) or the group's
# policy (owners only).
MANAGE_SETTING = {**MANAGE_READ, PUT: row(200, 200, 403, 404, 200, 401)}
MANAGE_OWNERS_SETTING = {**MANAGE_READ, PUT: row(200, 403, 403, 404, 200, 401)}

SIGN_IN = {
    "GET": row(GROUPS, GROUPS, GROUPS, GROUPS, GROUPS, 200),
    "POST": row(GROUPS, GROUPS, GROUPS, GROUPS, GROUPS, 200),
    "DELETE": every(405),
}
SIGN_OUT = {"GET": every(405), "POST": every(SIGNED_OUT), "DELETE": every(405)}
# The admin site's sign-in is the portal's, second factor included.
ADMIN_SIGN_IN = {"GET": every(SIGNED_OUT), "POST": every(SIGNED_OUT), "DELETE": every(405)}


def every_signed_in(get, post, delete):
    """A page of one's own account: the same for every signed-in role; sign-in first otherwise."""
    return {
        "GET": row(*[get] * 5, LOGIN),
        "POST": row(*[post] * 5, LOGIN),
        "DELETE": row(*[delete] * 5, LOGIN),
    }


ACCOUNT_PAGE = every_signed_in(200, 405, 405)
SIGN_IN_STEP = {
    "GET": row(GROUPS, GROUPS, GROUPS, GROUPS, GROUPS, SIGNED_OUT),
    "POST": row(GROUPS, GROUPS, GROUPS, GROUPS, GROUPS, SIGNED_OUT),
    "DELETE": every(405),
}

#   columns:  owner, admin, viewer, outsider, staff, anonymous
MATRIX = {
    "home": {"GET": every(GROUPS), "POST": every(GROUPS), "DELETE": every(GROUPS)},
    # Accounts. Signing in and out are open to anyone by design; there is no reset by e-mail.
    # Signed in, the sign-in page leads on to the Group List.
    "login": SIGN_IN,
    "logout": SIGN_OUT,
    # allauth's names for the same two pages.
    "account_login": SIGN_IN,
    "account_logout": SIGN_OUT,
    "reauthenticate": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(200, 200, 200, 200, 200, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "password_change": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(200, 200, 200, 200, 200, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "password_change_done": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(405, 405, 405, 405, 405, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # One's own language (anyone: it sets the cookie, and the account's choice when signed in; back
    # by the Referer, else to /) and Preferences (language and time zone).
    "set_language": {"GET": every(405), "POST": every(To("/")), "DELETE": every(405)},
    # Two-factor authentication: one's own second factors (allauth's views). A page that changes
    # them needs a recent password, which the matrix's sessions have.
    "mfa_index": ACCOUNT_PAGE,
    # Staff only: requiring a second factor of everyone (refused here: the staff user has none).
    "mfa_require_everywhere": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(403, 403, 403, 403, To("/accounts/two-factor/"), LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # The second step of a sign-in, and a passkey's sign-in: signed in already, on to the Group
    # List; with no sign-in under way, back to its first step.
    "mfa_authenticate": SIGN_IN_STEP,
    "mfa_login_webauthn": SIGN_IN_STEP,
    "mfa_activate_totp": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(200, 200, 200, 200, 200, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # Without an app to turn off, the page offers to set one up.
    # No app to turn off, no codes yet: not found.
    "mfa_deactivate_totp": every_signed_in(404, 404, 405),
    "mfa_view_recovery_codes": every_signed_in(404, 405, 405),
    "mfa_generate_recovery_codes": every_signed_in(200, 200, 405),
    "mfa_list_webauthn": every_signed_in(200, 405, 405),
    "mfa_add_webauthn": every_signed_in(200, 200, 405),
    # Another's passkey, or none: not found.
    "mfa_edit_webauthn": every_signed_in(404, 404, 405),
    "mfa_remove_webauthn": every_signed_in(404, 404, 405),
    # Single sign-on: not configured here, so its two addresses are not found; the pages it leads to
    # on a failure are open to anyone, and its username step needs a sign-on under way.
    "openid_connect_login": {"GET": every(404), "POST": every(404), "DELETE": every(405)},
    "openid_connect_callback": {"GET": every(404), "POST": every(404), "DELETE": every(405)},
    "socialaccount_login_error": {"GET": every(401), "POST": every(405), "DELETE": every(405)},
    "socialaccount_login_cancelled": {"GET": every(200), "POST": every(405), "DELETE": every(405)},
    "socialaccount_signup": {"GET": every(SIGNED_OUT), "POST": every(SIGNED_OUT), "DELETE": every(405)},
    "preferences": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(*[To("/accounts/preferences/")] * 5, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # One's own API tokens (personal access tokens); another's token is not found.
    "automation:tokens": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(405, 405, 405, 405, 405, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "automation:token-new": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(200, 200, 200, 200, 200, LOGIN),  # no expiry chosen: the form again
        "DELETE": row(200, 200, 200, 200, 200, LOGIN),
    },
    "automation:token-revoke": {
        "GET": row(404, 404, 404, 404, 404, LOGIN),
        "POST": row(404, 404, 404, 404, 404, LOGIN),
        "DELETE": row(404, 404, 404, 404, 404, LOGIN),
    },
    # Groups. Only staff create groups; an outsider meets 404 wherever a group is named.
    "groups:list": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(200, 200, 200, 200, 200, LOGIN),
        "DELETE": row(200, 200, 200, 200, 200, LOGIN),
    },
    "groups:new": {
        "GET": row(403, 403, 403, 403, 200, LOGIN),
        "POST": row(403, 403, 403, 403, To("/groups/intruder/"), LOGIN),
        "DELETE": row(403, 403, 403, 403, 200, LOGIN),
    },
    "groups:members": {
        "GET": row(200, 200, 200, 404, 200, LOGIN),
        "POST": row(200, 200, 200, 404, 200, LOGIN),
        "DELETE": row(200, 200, 200, 404, 200, LOGIN),
    },
    "groups:member-add": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(MEMBERS, 403, 403, 404, MEMBERS, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "groups:member-role": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(MEMBERS, 403, 403, 404, MEMBERS, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "groups:member-remove": {
        "GET": row(200, 403, 403, 404, 200, LOGIN),
        "POST": row(MEMBERS, 403, 403, 404, MEMBERS, LOGIN),
        "DELETE": row(200, 403, 403, 404, 200, LOGIN),
    },
    "groups:invitation-revoke": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(MEMBERS, 403, 403, 404, MEMBERS, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # An invitation's link is open to anyone who holds it; without one in the session, nothing is.
    "groups:invitation": {"GET": every(404), "POST": every(405), "DELETE": every(405)},
    "groups:invitation-join": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(404, 404, 404, 404, 404, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "groups:invitation-account": {"GET": every(405), "POST": every(404), "DELETE": every(405)},
    # An invitation to a username is for that account alone: the world's (to an address) is nobody's.
    "groups:invitation-accept": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(404, 404, 404, 404, 404, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "groups:invitation-decline": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(404, 404, 404, 404, 404, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # Services (scopes): every member sees them, owners add and remove them.
    "groups:services": {
        "GET": row(200, 200, 200, 404, 200, LOGIN),
        "POST": row(200, 200, 200, 404, 200, LOGIN),
        "DELETE": row(200, 200, 200, 404, 200, LOGIN),
    },
    "groups:service-add": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(SERVICES, 403, 403, 404, SERVICES, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # The policy: every member sees it, owners (and staff) change it.
    "groups:policy": {
        "GET": row(200, 200, 200, 404, 200, LOGIN),
        "POST": row(POLICY, 403, 403, 404, POLICY, LOGIN),
        "DELETE": row(200, 200, 200, 404, 200, LOGIN),
    },
    # Remove's confirmation page (for browsers without the dialog), then the POST that removes.
    "groups:service-remove": {
        "GET": row(200, 403, 403, 404, 200, LOGIN),
        "POST": row(SERVICES, 403, 403, 404, SERVICES, LOGIN),
        "DELETE": row(200, 403, 403, 404, 200, LOGIN),
    },
    "groups:activity": {
        "GET": row(200, 200, 200, 404, 200, LOGIN),
        "POST": row(200, 200, 200, 404, 200, LOGIN),
        "DELETE": row(200, 200, 200, 404, 200, LOGIN),
    },
    # A download every member may take; without a period and a format it is the tab with errors.
    "groups:activity-export": {
        "GET": row(400, 400, 400, 404, 400, LOGIN),
        "POST": row(405, 405, 405, 405, 405, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # Credentials. A viewer reads the tab and nothing else; writers get the value in the page.
    "credentials:auth-info": {
        "GET": row(200, 200, 200, 404, 200, LOGIN),
        "POST": row(200, 200, 200, 404, 200, LOGIN),
        "DELETE": row(200, 200, 200, 404, 200, LOGIN),
    },
    "credentials:create-api-key": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(REVEALED, REVEALED, 403, 404, REVEALED, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:show-key": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(REVEALED, REVEALED, 403, 404, REVEALED, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "credentials:regenerate-key": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(REVEALED, REVEALED, 403, 404, REVEALED, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:api-key-expiry": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:api-key-scopes": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:oauth-client-scopes": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    # Suspending a group and resuming it: owners and staff only.
    "credentials:suspend-group": {
        "GET": row(200, 403, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, 403, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 403, 403, 404, 200, LOGIN),
    },
    "credentials:resume-group": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(AUTH_INFO, 403, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "credentials:delete-api-key": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:api-key-networks": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:api-key-rate-limit": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:create-oauth-client": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(REVEALED, REVEALED, 403, 404, REVEALED, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:show-secret": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(REVEALED, REVEALED, 403, 404, REVEALED, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    "credentials:regenerate-secret": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(REVEALED, REVEALED, 403, 404, REVEALED, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:end-grace": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:delete-oauth-client": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:oauth-client-networks": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:oauth-client-rate-limit": {
        "GET": row(200, 200, 403, 404, 200, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(200, 200, 403, 404, 200, LOGIN),
    },
    "credentials:unlock-oauth-client": {
        "GET": row(405, 405, 405, 405, 405, LOGIN),
        "POST": row(AUTH_INFO, AUTH_INFO, 403, 404, AUTH_INFO, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # Identify a credential: any signed-in user; it searches only the groups they may see.
    "identify": {
        "GET": row(200, 200, 200, 200, 200, LOGIN),
        "POST": row(200, 200, 200, 200, 200, LOGIN),
        "DELETE": row(405, 405, 405, 405, 405, LOGIN),
    },
    # The APIs take no cookie: a portal session is no credential, whoever holds it.
    "token-v2": {"GET": every(405), "POST": every(401), "DELETE": every(405)},
    "revoke-v2": {"GET": every(405), "POST": every(401), "DELETE": every(405)},
    "introspect-v2": {"GET": every(405), "POST": every(401), "DELETE": every(405)},
    "tokens-v1": {"GET": every(405), "POST": every(400), "DELETE": every(405)},
    "whoami": {"GET": every(401), "POST": every(401), "DELETE": every(401)},
    "verify": {"GET": every(401), "POST": every(401), "DELETE": every(401)},
    "schema": {"GET": every(200), "POST": every(405), "DELETE": every(405)},
    "api-docs": {"GET": every(200), "POST": every(405), "DELETE": every(405)},
    "healthz": {"GET": every(200), "POST": every(405), "DELETE": every(405)},
    "readyz": {"GET": every(200), "POST": every(405), "DELETE": every(405)},
    # Nobody here has the scrape token or calls from METRICS_ALLOWED_NETWORKS: 404, whatever the method.
    "metrics": {"GET": every(404), "POST": every(404), "DELETE": every(404)},
    # The management API, each role with a read-write personal access token of its own (anonymous:
    # none). The same rules as the pages: 404 for outsiders, 403 for who may not change it.
    "manage:groups": {
        "GET": row(200, 200, 200, 200, 200, 401),
        "POST": row(403, 403, 403, 403, 201, 401),
        "DELETE": row(405, 405, 405, 405, 405, 401),
    },
    "manage:group": MANAGE_READ,
    "manage:suspend-group": MANAGE_OWNERS_ACTION,
    "manage:resume-group": MANAGE_OWNERS_ACTION,
    "manage:policy": MANAGE_OWNERS_SETTING,
    "manage:services": {
        "GET": row(200, 200, 200, 404, 200, 401),
        "POST": row(400, 403, 403, 404, 400, 401),  # POST_DATA's name is no service name
        "DELETE": row(405, 405, 405, 405, 405, 401),
    },
    "manage:service": {
        "GET": row(405, 405, 405, 405, 405, 401),
        "POST": row(405, 405, 405, 405, 405, 401),
        "DELETE": row(204, 403, 403, 404, 204, 401),
    },
    "manage:members": {
        "GET": row(200, 200, 200, 404, 200, 401),
        "POST": row(202, 403, 403, 404, 201, 401),  # an owner invites the username, staff add it
        "DELETE": row(405, 405, 405, 405, 405, 401),
    },
    "manage:member": {
        "GET": row(200, 200, 200, 404, 200, 401),
        "POST": row(405, 405, 405, 405, 405, 401),
        "DELETE": row(204, 403, 403, 404, 204, 401),
    },
    "manage:api-keys": MANAGE_LIST,
    "manage:api-key": MANAGE_OBJECT,
    "manage:api-key-expiry": MANAGE_ACTION,
    "manage:api-key-scopes": MANAGE_ACTION,
    "manage:api-key-rate-limit": MANAGE_ACTION,
    "manage:api-key-networks": MANAGE_SETTING,
    "manage:regenerate-key": MANAGE_ACTION,
    "manage:reveal-key": MANAGE_ACTION,
    "manage:oauth-clients": MANAGE_LIST,
    "manage:oauth-client": MANAGE_OBJECT,
    "manage:regenerate-secret": MANAGE_ACTION,
    "manage:oauth-client-scopes": MANAGE_ACTION,
    "manage:oauth-client-rate-limit": MANAGE_ACTION,
    "manage:oauth-client-networks": MANAGE_SETTING,
    "manage:end-grace": MANAGE_ACTION,
    "manage:unlock-oauth-client": MANAGE_ACTION,
    "manage:activity": MANAGE_READ,
    # The admin site, every pattern of it: staff only.
    "admin/": {
        "GET": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, STAFF, ADMIN_LOGIN),
        "POST": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, STAFF, ADMIN_LOGIN),
        "DELETE": row(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, STAFF, ADMIN_LOGIN),
    },
    "admin:login": ADMIN_SIGN_IN,  # shadowed by the portal's (admin-sign-in)
    "admin-sign-in": ADMIN_SIGN_IN,
    # Django's admin sends anyone but staff from its logout URL to its index, and so to its login.
    "admin:logout": {
        "GET": row(ADMIN_INDEX, ADMIN_INDEX, ADMIN_INDEX, ADMIN_INDEX, 405, ADMIN_INDEX),
        "POST": row(ADMIN_INDEX, ADMIN_INDEX, ADMIN_INDEX, ADMIN_INDEX, SIGNED_OUT, ADMIN_INDEX),
        "DELETE": row(ADMIN_INDEX, ADMIN_INDEX, ADMIN_INDEX, ADMIN_INDEX, 405, ADMIN_INDEX),
    },
}

# What a form behind any of these URLs needs to be valid, so that only access control stops it.
POST_DATA = {
    "name": "Intruder",
    "username": "oscar",
    "role": "owner",
    "grace_seconds": "0",
    "revoke_tokens": "on",
    "address": "127.0.0.1",
    "version": "1",
    "service": "orders:read",
    # The management API's settings: blank is never and no limit, as the portal's blank fields.
    "expires_at": "",
    "rate_limit": "",
    "scopes": "orders:read",
}
# What a PUT sends: a valid value of each setting the PUT rows replace.
PUT_DATA = {
    **POST_DATA,
    "allowed_networks": "192.0.2.0/24",
    "max_credential_age_days": "90",
    "max_age_enforced": "true",
}
# The admin's URL arguments: object 1 may not exist, since the admin must refuse before it looks.
ADMIN_ARGUMENTS = {"object_id": "1", "content_type_id": "1", "id": "1"}
ADMIN_REGEX_ROUTES = {
    "admin/^(?P<app_label>": "/admin/groups/",  # an app's index: the pattern lists every app's label
    "admin/(?P<url>.*)$": "/admin/no-such-page/",
}


PATTERNS = list(url_patterns())


def matrix_key(name, route):
    if route.startswith("admin/") and name not in MATRIX:
        return "admin/"
    return name


def admin_url(route):
    for start, url in ADMIN_REGEX_ROUTES.items():
        if route.startswith(start):
            return url
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: ADMIN_ARGUMENTS[match[1]], route)


ADMIN_URLS = sorted({admin_url(route) for name, route, _ in PATTERNS if matrix_key(name, route) == "admin/"})


def test_the_matrix_covers_every_url_pattern():
    enumerated = {matrix_key(name, route) for name, route, _ in PATTERNS}

    assert enumerated == set(MATRIX)
    assert len(ADMIN_URLS) > 40  # every model admin's pages, not just the index
    for name, expected in MATRIX.items():
        assert set(METHODS) <= set(expected) <= {*METHODS, PUT}, name
        assert all(len(cells) == len(ROLES) for cells in expected.values()), name


@pytest.fixture
def world(cast):
    """The cast's group "payments" with a credential of each kind and a member to act on, and a
    second group "logistics" with its own credentials, owned by lars and by the outsider: an
    outsider of "payments" is a member of another group only."""
    make_member(cast.group, Role.VIEWER, "wanda")
    Service.objects.create(group=cast.group, name="orders:read")
    credential, key_values = make_api_key(cast.group)
    client, secret = make_oauth_client(cast.group)
    other = make_group("Logistics")
    other_owner = make_member(other, Role.OWNER, "lars")
    Membership.objects.create(user=cast.outsider, group=other, role=Role.OWNER)
    other_credential, _ = make_api_key(other, "Fleet app")
    other_client, _ = make_oauth_client(other, "Dispatch")
    # Lars's passkey: not found for anyone else.
    passkey = Authenticator.objects.create(
        user=other_owner, type=Authenticator.Type.WEBAUTHN, data={"name": "Lars"}
    )
    # Each test starts with no rate-limit counts (allauth's passkey sign-ins per address).
    cache.clear()
    cast.fill = {
        "pk": passkey.pk,
        "provider_id": "sso",
        "slug": "payments",
        "public_id": credential.public_id,
        "client_public_id": client.public_id,
        "slot": "primary",
        "username": "wanda",
        "service": "orders:read",
        "uidb64": "MQ",
        "token": "abc-def",
        "invitation_id": Invitation.objects.invite(cast.group, "ines@example.com", Role.ADMIN, cast.owner)[
            0
        ].public_id,
    }
    cast.values = [*key_values.values(), secret]
    cast.other, cast.other_owner = other, other_owner
    cast.other_objects = {"credential": other_credential, "client": other_client}
    return cast


def url_of(name, route, fill):
    if matrix_key(name, route) == "admin/":
        return admin_url(route)
    kwargs = {}
    for argument in re.findall(r"<(?:\w+:)?(\w+)>", route):
        # A public_id under oauth-clients/ addresses an OAuth client, elsewhere an API key credential.
        source = "client_public_id" if argument == "public_id" and "oauth-clients/" in route else argument
        if source not in fill:
            pytest.fail(f"{name} ({route}) takes <{argument}>: teach the matrix how to fill it")
        kwargs[argument] = fill[source]
    return reverse(name, kwargs=kwargs)


# One client per role for the whole module, signed in again for each test: every new Client
# loads the middleware again (WhiteNoise rescans the static files), which costs more than the
# requests themselves.
POOL = {role: Client() for role in ROLES}
CSRF_CLIENT = Client(enforce_csrf_checks=True)


def signed_in(user, client=None):
    client = client or POOL["owner"]
    client.cookies = SimpleCookie()
    if user is not None:
        client.force_login(user)  # through django.contrib.auth.login: a fresh password for Show
    # What the management API takes instead of the session: a read-write token of the same user.
    client.personal_access_token = make_pat(user) if user is not None else None
    return client


def clients(world):
    for role, client in POOL.items():
        signed_in(None if role == "anonymous" else getattr(world, role), client)
    return POOL


def call(client, method, url):
    headers = {}
    if url.startswith("/api/manage/") and client.personal_access_token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {client.personal_access_token}"
    if method == "POST":
        return client.post(url, urlencode(POST_DATA), content_type=FORM, **headers)
    if method == PUT:
        return client.put(url, urlencode(PUT_DATA), content_type=FORM, **headers)
    return client.generic(method, url, **headers)


def observed(response, url, expected):
    """The response in the matrix's terms, so that a row compares as a whole."""
    status, location = response.status_code, response.get("Location", "")
    if status == 302 and location == f"/accounts/login/?next={quote(url, safe='/')}":
        return LOGIN
    if status == 302 and location == f"/admin/login/?next={quote(url, safe='/')}":
        return ADMIN_LOGIN
    if expected == STAFF and status < 500:
        return STAFF
    if status == 302:
        return To(re.sub(r"reveal=[\w-]+", "reveal=…", location))
    return status


def state():
    """Everything a request could change, secrets by digest."""
    return (
        sorted(
            Group.objects.values_list(
                "slug", "name", "suspended_at", "max_credential_age_days", "max_age_enforced"
            )
        ),
        sorted(Membership.objects.values_list("group__slug", "user__username", "role")),
        sorted(
            ApiKeyCredential.objects.values_list(
                "group__slug", "public_id", "name", "expires_at", "scopes", "allowed_networks"
            )
        ),
        sorted(ApiKey.objects.values_list("credential__public_id", "slot", "digest")),
        sorted(
            OAuthClient.objects.values_list("group__slug", "public_id", "name", "scopes", "allowed_networks")
        ),
        sorted(Service.objects.values_list("group__slug", "name")),
        sorted(ClientSecret.objects.values_list("client__public_id", "digest", "expires_at")),
        AccessToken.objects.filter(revoked_at__isnull=True).count(),
        sorted(Invitation.objects.values_list("group__slug", "email", "accepted_at", "revoked_at")),
        changes().count(),
    )


DENIED = {LOGIN, ADMIN_LOGIN, 401, 403, 404, 405}
ROWS = sorted({(name, route) for name, route, _ in PATTERNS if matrix_key(name, route) != "admin/"})
counted = {"cells": 0, "requests": 0, "denied": 0}


@pytest.fixture(scope="module", autouse=True)
def report_figures():
    yield
    if counted["cells"]:
        report(
            "authorization matrix",
            f"{len(MATRIX)} entries ({len(ROWS)} URL patterns + the admin site's "
            f"{len(ADMIN_URLS)} URLs) x {len(ROLES)} roles x {len(METHODS)} methods (and PUT where a row "
            f"takes it) = {counted['cells']} "
            f"cells, {counted['requests']} requests, {counted['denied']} denials with no row changed",
        )


def answer_row(world, role_clients, name, method, url):
    """The six roles' answers to one request, each in a rolled-back savepoint."""
    expected_row = MATRIX[name][method]
    answers = []
    for role, client in role_clients.items():
        expected = expected_row[ROLES.index(role)]
        with transaction.atomic():
            before = state()
            response = call(client, method, url)
            counted["requests"] += 1
            answer = observed(response, url, expected)
            if answer in DENIED:
                assert state() == before, f"{role} {method} {url} was refused but changed rows"
                counted["denied"] += 1
            body = response.content.decode("utf-8", "replace")
            if role == "viewer":
                assert not SECRET_SHAPE.search(body), f"a secret in the viewer's {method} {url}"
                assert not any(value in body for value in world.values)
            if role == "outsider":
                assert "Payments" not in body, f"the outsider's {method} {url} names the group"
            transaction.set_rollback(True)
        answers.append(answer)
    counted["cells"] += len(ROLES)
    return tuple(answers)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("name", "route"), ROWS, ids=[name for name, _ in ROWS])
def test_every_role_gets_what_the_matrix_says(world, name, route, method):
    url = url_of(name, route, world.fill)

    assert answer_row(world, clients(world), name, method, url) == MATRIX[name][method]


PUT_ROWS = [(name, route) for name, route in ROWS if PUT in MATRIX[name]]


@pytest.mark.parametrize(("name", "route"), PUT_ROWS, ids=[name for name, _ in PUT_ROWS])
def test_every_role_gets_what_the_matrix_says_to_a_put(world, name, route):
    url = url_of(name, route, world.fill)

    assert answer_row(world, clients(world), name, PUT, url) == MATRIX[name][PUT]


@pytest.mark.parametrize("method", METHODS)
def test_the_admin_site_lets_only_staff_in(world, method):
    role_clients = clients(world)

    for url in ADMIN_URLS:
        assert answer_row(world, role_clients, "admin/", method, url) == MATRIX["admin/"][method], url

    assert signed_in(world.staff).get("/admin/").status_code == 200


GROUP_ROWS = [(name, route) for name, route in ROWS if "<slug:slug>" in route]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("name", "route"), GROUP_ROWS, ids=[name for name, _ in GROUP_ROWS])
def test_an_outsider_cannot_tell_a_group_exists(world, name, route, method):
    """The same answer as for a group that does not exist, and not a word of the group."""
    outsider = signed_in(world.outsider)

    real = call(outsider, method, url_of(name, route, world.fill))
    missing = call(outsider, method, url_of(name, route, {**world.fill, "slug": "no-such-group"}))

    assert real.status_code == missing.status_code
    assert real.status_code in (404, 405)
    assert "Payments" not in real.content.decode()


OBJECT_ROWS = [
    (name, route)
    for name, route in GROUP_ROWS
    if re.search(r"<\w+:(public_id|username|invitation_id)>", route)
]


def payments_rows():
    """A snapshot of the group "payments": its rows, its secrets by digest, its live tokens."""
    group = Group.objects.get(slug="payments")
    return (
        sorted(group.memberships.values_list("user__username", "role")),
        sorted(
            ApiKey.objects.filter(credential__group=group).values_list("credential__name", "slot", "digest")
        ),
        sorted(ClientSecret.objects.filter(client__group=group).values_list("client__name", "digest")),
        AccessToken.objects.filter(client__group=group, revoked_at__isnull=True).count(),
        group.activities.count(),
    )


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("name", "route"), OBJECT_ROWS, ids=[name for name, _ in OBJECT_ROWS])
def test_objects_of_another_group_are_404_through_ones_own_slug(world, name, route, method):
    """The outsider and lars own "logistics"; staff see every group. None of them reaches a
    "payments" object through the "logistics" URL."""
    issue_access_token(make_oauth_client(world.group, "Live")[0])
    before = payments_rows()
    url = url_of(name, route, {**world.fill, "slug": "logistics"})

    for user in (world.outsider, world.other_owner, world.staff):
        response = call(signed_in(user), method, url)

        assert response.status_code == (405 if MATRIX[name][method][0] == 405 else 404)
    assert payments_rows() == before


# Not the rows where POST_DATA is bad input for the owner too (a 400 changes nothing).
POST_ROWS = [(name, route) for name, route in GROUP_ROWS if MATRIX[name]["POST"][0] not in (400, 405)]


@pytest.mark.parametrize(("name", "route"), POST_ROWS, ids=[name for name, _ in POST_ROWS])
def test_a_group_field_in_the_body_cannot_reach_another_group(world, name, route):
    """Mass assignment: an owner of both groups posts to "payments" naming "logistics" in every
    field a model could take it from. "logistics" is untouched; anything created is in "payments"."""
    Membership.objects.create(user=world.owner, group=world.other, role=Role.OWNER)
    other = world.other
    smuggled = {
        "group": other.pk,
        "group_id": other.pk,
        "group_slug": other.slug,
        "slug": other.slug,
        "public_id": world.other_objects["credential"].public_id,
        "client_id": world.other_objects["client"].client_id,
        "credential": world.other_objects["credential"].pk,
        "client": world.other_objects["client"].pk,
    }
    before = logistics_rows()

    client, url = signed_in(world.owner), url_of(name, route, world.fill)
    api = {"HTTP_AUTHORIZATION": f"Bearer {client.personal_access_token}"} if url.startswith("/api/") else {}
    response = client.post(url, urlencode({**POST_DATA, **smuggled}), content_type=FORM, **api)

    assert response.status_code in (200, 201, 202, 302)
    assert logistics_rows() == before
    assert not ApiKeyCredential.objects.filter(name="Intruder").exclude(group=world.group).exists()
    assert not OAuthClient.objects.filter(name="Intruder").exclude(group=world.group).exists()


def logistics_rows():
    group = Group.objects.get(slug="logistics")
    return (
        group.name,
        sorted(group.memberships.values_list("user__username", "role")),
        sorted(group.api_key_credentials.values_list("public_id", "name")),
        sorted(ApiKey.objects.filter(credential__group=group).values_list("slot", "digest")),
        sorted(group.oauth_clients.values_list("public_id", "name", "client_id")),
        sorted(ClientSecret.objects.filter(client__group=group).values_list("digest", "expires_at")),
        group.activities.count(),
    )


# CSRF: every view that takes a state change refuses a POST or DELETE without the token. The APIs
# are exempt by design: they read no cookie, so a forged cross-site request carries nothing.
CSRF_EXEMPT = {
    "token-v2": 401,
    "revoke-v2": 401,
    "introspect-v2": 401,
    "tokens-v1": 400,
    "whoami": 401,
    "verify": 401,
    "schema": 405,
    "api-docs": 405,
    # The management API reads only its Authorization header, which a forged request cannot carry.
    **{name: 401 for name in MATRIX if name.startswith("manage:")},
}


def test_the_csrf_exempt_views_are_exactly_the_apis():
    exempt = {name for name, _, callback in PATTERNS if getattr(callback, "csrf_exempt", False)}

    assert exempt == set(CSRF_EXEMPT)


def csrf_urls(world):
    for name, route, _ in PATTERNS:
        yield name, url_of(name, route, world.fill)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_every_other_view_refuses_a_request_without_the_csrf_token(world, method):
    """As staff, whom every portal page lets in: only the CSRF check can stop these."""
    staff = signed_in(world.staff, CSRF_CLIENT)
    staff.personal_access_token = None  # a forged request carries the cookie, never a token
    before, refused = state(), 0

    for name, url in csrf_urls(world):
        response = call(staff, method, url)

        if name in CSRF_EXEMPT:
            by_method = method == "POST" or name.startswith("manage:")
            expected = CSRF_EXEMPT[name] if by_method else MATRIX[name]["DELETE"][4]
            assert response.status_code == expected, url
        else:
            assert response.status_code == 403, url
            assert b"Form not accepted" in response.content, url
            refused += 1

    assert state() == before
    assert refused == len(PATTERNS) - len(CSRF_EXEMPT)
    counted["requests"] += len(PATTERNS)
