"""The audit trail: every event kind is recorded with its actor, source address and request id,
from whichever entry point made it; storms are counted, not repeated; rows outlive their group."""

import base64
import time
from urllib.parse import urlencode

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from credentials import secrets
from credentials.models import ApiKeyCredential
from credentials.secrets import Kind
from groups.models import TALLY_SECONDS, Action, Activity, Group, Membership, Role
from tests.conftest import (
    PASSWORD,
    client_for,
    issue_access_token,
    make_api_key,
    make_oauth_client,
    make_user,
    needs_postgresql,
)

HERE = "203.0.113.7"
FORM = "application/x-www-form-urlencoded"


def sign_in(username, password, address=HERE):
    client = Client(REMOTE_ADDR=address)
    return client, client.post("/accounts/login/", {"username": username, "password": password})


def token_request(client_id, secret, address=HERE):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    body = urlencode({"grant_type": "client_credentials"})
    return Client().post(
        "/v2/tokens",
        body,
        content_type=FORM,
        headers={"Authorization": f"Basic {basic}"},
        REMOTE_ADDR=address,
    )


@pytest.fixture
def one_minute():
    """Starts the test early enough in a tally minute that its requests all fall in that minute."""
    left = TALLY_SECONDS - time.time() % TALLY_SECONDS
    if left < 20:
        time.sleep(left + 0.1)


def test_a_sign_in_is_recorded_with_its_request_id(cast):
    _, response = sign_in("olivia", PASSWORD)

    assert response.status_code == 302
    row = Activity.objects.get(action=Action.SIGNED_IN)
    assert (row.group, row.actor, row.target, row.source_address) == (None, cast.owner, "olivia", HERE)
    assert row.request_id == response["X-Request-ID"]


def test_failed_sign_ins_are_counted_per_minute_and_unknown_names_together(cast, one_minute):
    for _ in range(3):
        sign_in("olivia", "wrong password")
    for name in ("mallory1", "mallory2"):
        sign_in(name, "wrong password")

    rows = Activity.objects.filter(action=Action.SIGN_IN_FAILED).order_by("target")
    assert [(r.target, r.occurrences, r.source_address) for r in rows] == [
        ("an unknown username", 2, HERE),
        ("olivia", 3, HERE),
    ]


def test_a_sign_in_lockout_is_recorded(cast, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        sign_in("olivia", "wrong password")

    row = Activity.objects.get(action=Action.SIGN_IN_LOCKED)
    assert (row.target, row.source_address) == ("olivia", HERE)


def test_failed_token_requests_are_counted_per_client_address_and_minute(cast, one_minute):
    client, _ = make_oauth_client(cast.group)
    for _ in range(4):
        assert token_request(client.client_id, secrets.generate(Kind.CLIENT_SECRET)).status_code == 401
    token_request(client.client_id, secrets.generate(Kind.CLIENT_SECRET), address="198.51.100.1")
    token_request(secrets.generate_client_id(), "whatever")

    rows = Activity.objects.filter(action=Action.CLIENT_AUTH_FAILED).order_by("target", "source_address")
    assert [(r.group, r.target, r.source_address, r.occurrences) for r in rows] == [
        (cast.group, "Checkout", "198.51.100.1", 1),
        (cast.group, "Checkout", HERE, 4),
        (None, "an unknown client ID", HERE, 1),
    ]


def test_refused_requests_while_locked_are_counted_too(cast, settings, one_minute):
    client, secret = make_oauth_client(cast.group)
    for _ in range(settings.LOCKOUT_THRESHOLD):
        token_request(client.client_id, "wrong")

    assert token_request(client.client_id, secret).status_code == 429

    row = Activity.objects.get(action=Action.CLIENT_AUTH_FAILED)
    assert row.occurrences == settings.LOCKOUT_THRESHOLD + 1


def test_an_api_revocation_is_recorded(cast):
    client, secret = make_oauth_client(cast.group)
    _, token = issue_access_token(client)
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()

    response = Client().post(
        "/v2/tokens/revoke",
        urlencode({"token": token}),
        content_type=FORM,
        headers={"Authorization": f"Basic {basic}"},
        REMOTE_ADDR=HERE,
    )

    assert response.status_code == 200
    row = Activity.objects.get(action=Action.TOKEN_REVOKED)
    assert (row.group, row.target, row.source_address) == (cast.group, "Checkout: access token", HERE)


@pytest.mark.parametrize(
    ("who", "method", "path", "target"),
    [
        ("viewer", "post", "/groups/payments/api-keys/new/", "to change credentials as viewer"),
        ("admin", "post", "/groups/payments/members/add/", "to change members as admin"),
        ("outsider", "get", "/groups/payments/activity/", "to open the group: not a member"),
    ],
)
def test_authorization_failures_on_group_urls_are_recorded_in_the_group(cast, who, method, path, target):
    user = getattr(cast, who)

    response = getattr(client_for(user), method)(path, REMOTE_ADDR=HERE)

    assert response.status_code in (403, 404)
    row = Activity.objects.get(action=Action.ACCESS_REFUSED)
    assert (row.group, row.actor, row.target, row.source_address) == (cast.group, user, target, HERE)


def test_probing_groups_that_do_not_exist_is_counted_outside_any_group(cast, one_minute):
    for slug in ("a", "b", "c"):
        assert client_for(cast.outsider).get(f"/groups/{slug}/members/").status_code == 404

    row = Activity.objects.get(action=Action.ACCESS_REFUSED)
    assert (row.group, row.target, row.occurrences) == (None, "to open a group that does not exist", 3)


@pytest.fixture
def superuser(db):
    return make_user("root", is_staff=True, is_superuser=True)


def membership_formset(group, added):
    """The Group change form of the admin site, as posted, with `added` (user, role) as a new row."""
    members = list(group.memberships.all())
    data = {
        "name": group.name,
        "slug": group.slug,
        "description": group.description,
        "memberships-TOTAL_FORMS": len(members) + 1,
        "memberships-INITIAL_FORMS": len(members),
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    for n, membership in enumerate([*members, None]):
        user, role = (membership.user, membership.role) if membership else added
        data |= {
            f"memberships-{n}-id": membership.pk if membership else "",
            f"memberships-{n}-group": group.pk,
            f"memberships-{n}-user": user.pk,
            f"memberships-{n}-role": role,
        }
    return data


def test_an_owner_added_in_the_admin_site_is_in_the_groups_activity(cast, superuser):
    """Finding 3: the Group inline was a back door with no Activity row."""
    newcomer = make_user("nina")

    response = client_for(superuser).post(
        f"/admin/groups/group/{cast.group.pk}/change/",
        membership_formset(cast.group, (newcomer, Role.OWNER)),
        REMOTE_ADDR=HERE,
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Membership.objects.get(group=cast.group, user=newcomer).role == Role.OWNER
    row = Activity.objects.get(action=Action.ADMIN_CHANGED)
    assert (row.group, row.actor, row.source_address) == (cast.group, superuser, HERE)
    assert "nina in Payments (owner)" in row.target


def test_a_credential_deleted_in_the_admin_site_is_in_the_groups_activity(cast, superuser):
    """Finding 3: deleting a credential in the admin site left no Activity row."""
    credential, _ = make_api_key(cast.group)

    response = client_for(superuser).post(
        f"/admin/credentials/apikeycredential/{credential.pk}/delete/", {"post": "yes"}, REMOTE_ADDR=HERE
    )

    assert response.status_code == 302
    assert not ApiKeyCredential.objects.exists()
    row = Activity.objects.get(action=Action.ADMIN_CHANGED)
    assert (row.group, row.actor, row.target) == (
        cast.group,
        superuser,
        "deleted API key credential “Billing app”",
    )


def test_bulk_deletion_is_off_in_the_admin_site(cast, superuser):
    response = client_for(superuser).get("/admin/groups/group/")

    assert response.status_code == 200
    assert b'value="delete_selected"' not in response.content


def test_deleting_a_group_keeps_its_activity(cast, superuser):
    make_api_key(cast.group, created_by=cast.owner)
    group_pk = cast.group.pk

    response = client_for(superuser).post(f"/admin/groups/group/{group_pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Group.objects.filter(pk=group_pk).exists()
    rows = Activity.objects.filter(group_slug="payments").order_by("id")
    assert [row.action for row in rows] == [Action.API_KEY_CREATED, Action.ADMIN_CHANGED]
    assert rows[1].target == "deleted group “Payments”"
    assert {row.group_id for row in rows} == {group_pk}


def test_changes_made_outside_a_request_are_recorded_without_actor_or_address(cast):
    """A management command or a shell: the model records the change all the same."""
    make_oauth_client(cast.group, created_by=cast.owner)

    row = Activity.objects.get(action=Action.OAUTH_CLIENT_CREATED)
    assert (row.actor, row.source_address, row.request_id) == (cast.owner, None, "")


def test_on_postgresql_the_app_cannot_delete_or_rewrite_the_trail(cast):
    needs_postgresql()
    make_api_key(cast.group, created_by=cast.owner)
    row = Activity.objects.get()

    rewrites = ["DELETE FROM groups_activity", "UPDATE groups_activity SET target = 'nothing happened'"]
    for statement in rewrites:
        refused = pytest.raises(DatabaseError, match="append-only")
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Activity.objects.filter(pk=row.pk).update(occurrences=0)

    Activity.objects.filter(pk=row.pk).update(occurrences=2)  # counting another occurrence is allowed
    cast.owner.delete()  # and so is forgetting a deleted user's id; the name stays
    row.refresh_from_db()
    assert (row.target, row.occurrences, row.actor_id, row.actor_name) == ("Billing app", 2, None, "olivia")
