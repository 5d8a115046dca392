"""The portal's pages and the data that fills them, for the scans that visit every page: the
browser's (tests/e2e/test_every_page.py) and the Japanese one (tests/test_japanese_every_page.py)."""

from dataclasses import dataclass
from datetime import timedelta

import pyotp
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse
from django.utils import timezone

from automation.models import PersonalAccessToken
from credentials.models import AddressRefusal, ApiKey, ClientSecret
from groups.models import Action, Activity, Invitation, Membership, Role, Service
from tests.conftest import make_api_key, make_group, make_member, make_oauth_client, make_user
from tests.passkeys import make_passkey

LONG_GROUP = "Partner data ingestion pipeline and exports for the settlement team of the EMEA region"
# A name as long as a credential's may be (100 characters), without a space to break at.
LONG_WORD = "Nightly_reconciliation_of_card_settlements_between_the_ledger_and_the_acquirer_" + "x" * 21
LONG_USERNAME = "victor.from.the.reconciliation.team.of.the.settlements.department@example.com"
LONG_STAFF_USERNAME = "stella.from.the.platform.administration.team@example.com"

# What each role may open: the rights a page needs (None: every member) and who has them.
RIGHTS = {
    "owner": {"write", "members"},
    "admin": {"write"},
    "viewer": set(),
    "staff": {"write", "members", "staff"},
}

# Namespaces with no page at all, with the reason.
NOT_PAGE_NAMESPACES = {
    "admin": "Django's admin site (tests/groups/test_admin.py, the authorization matrix)",
    "manage": "management API (JSON, with a personal access token)",
}

# URL names that are no page to look at, with the reason; every other name must be visited.
NOT_PAGES = {
    "verify": "API (JSON)",
    "whoami": "API (JSON)",
    "tokens-v1": "API (JSON)",
    "token-v2": "API (JSON)",
    "revoke-v2": "API (JSON)",
    "introspect-v2": "API (JSON)",
    "healthz": "health check (text)",
    "readyz": "readiness check (JSON)",
    "metrics": "Prometheus metrics (text), for the scrape token or allowed networks only",
    "schema": "OpenAPI document (YAML)",
    "home": "redirects to the Group List",
    "logout": "POST only: it leads to Sign in (LOGOUT_REDIRECT_URL), scanned after signing out",
    "set_language": "POST only: the language switcher, back to the page it was on",
    "groups:member-add": "POST only",
    "groups:member-role": "POST only",
    "groups:service-add": "POST only (a refused form is the Services page, scanned)",
    "groups:activity-export": "a CSV download",
    "credentials:show-key": "POST only (its GET is the 405 page, scanned)",
    "credentials:show-secret": "POST only",
    "credentials:unlock-oauth-client": "POST only",
    "credentials:resume-group": "POST only (Resume on the suspended group's tab, scanned)",
    "groups:invitation-revoke": "POST only",
    "groups:invitation-accept": "POST only (Join on the Group List)",
    "groups:invitation-decline": "POST only (Decline on the Group List)",
    "groups:invitation-join": "POST only (Join on the invitation's page)",
    "groups:invitation-account": "POST only: a refused form is the invitation's page, scanned signed out",
    "account_login": "allauth's name for Sign in (login)",
    "admin-sign-in": "redirects to Sign in: the admin site signs in on the portal's page",
    "account_logout": "allauth's name for Sign out (logout)",
    "mfa_require_everywhere": "POST only (For everyone, on the staff's Two-factor authentication page)",
    "openid_connect_login": "POST only (Sign in with single sign-on), not configured in the scans",
    "openid_connect_callback": "the identity provider's redirect back (tests/e2e/test_sso.py)",
    "socialaccount_signup": "needs a sign-on under way (tests/e2e/test_sso.py); else back to Sign in",
    "mfa_login_webauthn": "POST only (Sign in with a passkey); its GET answers the page's script in JSON",
}

# An authenticator app's key for the scans' users who have one. The admin's is made anew each time
# (users["admin"].totp_secret): allauth refuses a code used twice for the same user id, and the
# scans' users get the same ids run after run.
ADMIN_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@dataclass
class Page:
    name: str
    path: str
    needs: str | None = None  # a right from RIGHTS, or None
    status: int = 200  # when the role has the right
    only: str | None = None  # the role whose own thing the page shows: 404 for the others

    def expected(self, role):
        if self.only and role != self.only:
            return 404
        if self.needs and self.needs not in RIGHTS[role]:
            return 403
        return self.status


def page_data():
    """The two groups, their members (one of each role in both, and a long username), the
    credentials of the full group and some Activity; returns the users by role and the pages."""
    full = make_group(LONG_GROUP, slug="partner-data", description="Card settlements " * 12)
    empty = make_group("Empty", description="")
    names = {"owner": "olivia", "admin": "adam", "viewer": "vera"}  # no username is an English word
    users = {role: make_user(name) for role, name in names.items()}
    users["staff"] = make_user(LONG_STAFF_USERNAME, is_staff=True)  # in the top bar of every page
    for group in (full, empty):
        for role in ("owner", "admin", "viewer"):
            Membership.objects.create(user=users[role], group=group, role=role)
    long_member = make_member(full, Role.VIEWER, LONG_USERNAME)
    owner = users["owner"]
    # The admin's second factors, for the two-factor pages: an app, recovery codes and a passkey.
    users["admin"].totp_secret = pyotp.random_base32()
    TOTP.activate(users["admin"], users["admin"].totp_secret)
    RecoveryCodes.activate(users["admin"])
    passkey = make_passkey(users["admin"], LONG_WORD)
    keys = [make_api_key(full, name, owner)[0] for name in ("Billing service", LONG_WORD, "Mobile app")]
    # Expiries on the tab: one far off, one within 14 days (highlighted), one past.
    for credential, days in zip(keys, (200, 5, -1), strict=True):
        credential.set_expiry(timezone.now() + timedelta(days=days), credential.version, owner)
    keys[0].set_rate_limit(1200, keys[0].version, owner)  # a limit on the tab
    clients = [make_oauth_client(full, name, owner)[0] for name in ("Checkout", LONG_WORD, "Partner portal")]
    clients[2].regenerate_secret(clients[2].version, owner, grace_seconds=3600)  # a grace row on the tab
    # Services, and credentials limited to some of them (or none) on the tab.
    for name in ("orders:read", "orders:write", "settlements.export"):
        Service.objects.add(full, name, owner)
    keys[0].set_scopes(["orders:read", "settlements.export"], keys[0].version, owner)
    clients[0].set_scopes([], clients[0].version, owner)
    Activity.objects.record(full, Action.API_KEY_CREATED, LONG_WORD, actor=owner, address="203.0.113.7")
    # The policy: a maximum age (warned) that one key and one secret are past; networks, and
    # refusals from other addresses, on the tab.
    full.set_policy(30, False, owner)
    long_ago = timezone.now() - timedelta(days=40)
    ApiKey.objects.filter(credential=keys[2], slot="primary").update(created_at=long_ago)
    ClientSecret.objects.filter(client=clients[1]).update(created_at=long_ago)
    keys[0].set_allowed_networks("10.0.0.0/8 2001:db8::/32", keys[0].version, owner)
    clients[0].set_allowed_networks("192.0.2.0/24", clients[0].version, owner)
    AddressRefusal.objects.create(
        api_key_credential=keys[0],
        hour=timezone.now(),
        refused=12,
        last_refused_at=timezone.now(),
        last_refused_address="198.51.100.23",
    )
    # Pending invitations on the full group's Members page, and one for each user on its Group List.
    Invitation.objects.invite(full, LONG_USERNAME, Role.ADMIN, owner)
    Invitation.objects.invite_username(full, "nobody-yet", Role.VIEWER, owner)
    # API tokens for each user's page: a working one, and a revoked and a long-named one for the owner.
    now = timezone.now()
    for user in users.values():
        PersonalAccessToken.objects.create_for(user, "Reporting", now + timedelta(days=30), read_only=True)
    long_token, _ = PersonalAccessToken.objects.create_for(owner, LONG_WORD, now + timedelta(days=365), False)
    PersonalAccessToken.objects.filter(pk=long_token.pk).update(
        last_used_at=now, last_used_address="203.0.113.7"
    )
    revoked, _ = PersonalAccessToken.objects.create_for(owner, "Reporting", now + timedelta(days=7), False)
    revoked.revoke()
    onboarding = make_group("Onboarding", description="New starters")
    # A suspended group: its banner on its tab and its badge on the Group List.
    suspended = make_group("Compromised partner", description="Leaked keys")
    for role in ("owner", "admin", "viewer"):
        Membership.objects.create(user=users[role], group=suspended, role=role)
    make_api_key(suspended, "Partner feed", owner)
    suspended.suspend(users["staff"])
    for user in users.values():
        Invitation.objects.invite_username(onboarding, user.username, Role.VIEWER, owner)

    def tabs(group, label):
        return [
            Page(f"{label}-auth-info", reverse("credentials:auth-info", args=[group.slug])),
            Page(f"{label}-members", reverse("groups:members", args=[group.slug])),
            Page(f"{label}-activity", reverse("groups:activity", args=[group.slug])),
            Page(f"{label}-services", reverse("groups:services", args=[group.slug])),
            Page(f"{label}-policy", reverse("groups:policy", args=[group.slug])),
        ]

    key, client, slug = keys[1], clients[1], full.slug
    pages = [
        Page("group-list", reverse("groups:list")),
        Page("new-group", reverse("groups:new"), "staff"),
        *tabs(full, "full"),
        *tabs(empty, "empty"),
        Page("new-api-key", reverse("credentials:create-api-key", args=[slug]), "write"),
        Page("new-oauth-client", reverse("credentials:create-oauth-client", args=[slug]), "write"),
        Page(
            "regenerate-key",
            reverse("credentials:regenerate-key", args=[slug, key.public_id, "primary"]),
            "write",
        ),
        Page("delete-api-key", reverse("credentials:delete-api-key", args=[slug, key.public_id]), "write"),
        Page("api-key-expiry", reverse("credentials:api-key-expiry", args=[slug, key.public_id]), "write"),
        Page(
            "api-key-scopes", reverse("credentials:api-key-scopes", args=[slug, keys[0].public_id]), "write"
        ),
        Page(
            "oauth-client-scopes",
            reverse("credentials:oauth-client-scopes", args=[slug, client.public_id]),
            "write",
        ),
        Page("suspend-group", reverse("credentials:suspend-group", args=[slug]), "members"),
        *tabs(suspended, "suspended")[:1],
        Page(
            "api-key-rate-limit",
            reverse("credentials:api-key-rate-limit", args=[slug, key.public_id]),
            "write",
        ),
        Page(
            "oauth-client-rate-limit",
            reverse("credentials:oauth-client-rate-limit", args=[slug, client.public_id]),
            "write",
        ),
        Page(
            "api-key-networks",
            reverse("credentials:api-key-networks", args=[slug, keys[0].public_id]),
            "write",
        ),
        Page(
            "oauth-client-networks",
            reverse("credentials:oauth-client-networks", args=[slug, clients[0].public_id]),
            "write",
        ),
        Page(
            "regenerate-secret",
            reverse("credentials:regenerate-secret", args=[slug, client.public_id]),
            "write",
        ),
        Page(
            "end-grace",
            reverse("credentials:end-grace", args=[slug, clients[2].public_id]),
            "write",
        ),
        Page(
            "delete-oauth-client",
            reverse("credentials:delete-oauth-client", args=[slug, client.public_id]),
            "write",
        ),
        Page("remove-member", reverse("groups:member-remove", args=[slug, long_member.username]), "members"),
        Page(
            "remove-service", reverse("groups:service-remove", args=[slug, "settlements.export"]), "members"
        ),
        Page("change-password", reverse("password_change")),
        Page("password-changed", reverse("password_change_done")),
        Page("preferences", reverse("preferences")),
        Page("two-factor", reverse("mfa_index")),
        Page("two-factor-app", reverse("mfa_activate_totp")),  # the admin's: Turn off
        Page("two-factor-app-off", reverse("mfa_deactivate_totp"), only="admin"),
        Page("recovery-codes", reverse("mfa_view_recovery_codes"), only="admin"),
        Page("new-recovery-codes", reverse("mfa_generate_recovery_codes")),
        Page("passkeys", reverse("mfa_list_webauthn")),
        Page("add-passkey", reverse("mfa_add_webauthn")),
        Page("rename-passkey", reverse("mfa_edit_webauthn", args=[passkey.pk]), only="admin"),
        Page("remove-passkey", reverse("mfa_remove_webauthn", args=[passkey.pk]), only="admin"),
        Page("identify", reverse("identify")),
        Page("api-tokens", reverse("automation:tokens")),
        Page("new-api-token", reverse("automation:token-new")),
        Page(
            "revoke-api-token", reverse("automation:token-revoke", args=[long_token.public_id]), only="owner"
        ),
        Page("reauthenticate", reverse("reauthenticate") + "?next=" + reverse("groups:list")),
        Page("api-docs", reverse("api-docs")),
        Page("not-found", "/groups/no-such-group/", status=404),
        Page(
            "method-not-allowed",
            reverse("credentials:show-key", args=[slug, key.public_id, "primary"]),
            status=405,
        ),
    ]
    return users, full, pages
