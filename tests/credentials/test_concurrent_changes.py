"""Two administrators changing one credential at once (PostgreSQL, each request in its own thread
and connection): the first change wins, the other is refused with who changed it and when, and
nobody is shown a value that no longer works."""

import pytest
from pytest_django.asserts import assertContains

from credentials.models import ApiKeyCredential, OAuthClient
from groups.models import Activity, Role
from tests.conftest import (
    SECRET_SHAPE,
    client_for,
    key_identity,
    make_api_key,
    make_group,
    make_member,
    make_oauth_client,
    needs_postgresql,
    post_together,
)


@pytest.fixture
def admins(transactional_db):
    needs_postgresql()
    group = make_group()
    return group, make_member(group, Role.OWNER, "olivia"), make_member(group, Role.ADMIN, "adam")


def split(answers):
    """(the page the change redirected to, showing the new value; the answer refusing the other),
    from two answers of which exactly one redirects to the tab with a value to reveal."""
    won = [a for a in answers if not isinstance(a, Exception) and "?reveal=" in a.get("Location", "")]
    assert len(won) == 1, answers
    lost = answers[1 - answers.index(won[0])]
    return won[0].client.get(won[0]["Location"]), lost


@pytest.mark.parametrize("accept, refused", [("application/json", 409), ("text/html", 302)])
def test_two_regenerates_of_one_slot_issue_exactly_one_working_key(admins, accept, refused):
    group, olivia, adam = admins
    credential, old = make_api_key(group)
    path = f"/groups/{group.slug}/api-keys/{credential.public_id}/primary/regenerate/"

    data = {"version": credential.version}
    won, lost = split(post_together((olivia, path, data), (adam, path, data), accept=accept))

    (value,) = SECRET_SHAPE.findall(won.content.decode())
    assert key_identity(value).slot == "primary" and key_identity(old["primary"]) is None
    assert lost.status_code == refused and not SECRET_SHAPE.search(lost.content.decode())
    assert ApiKeyCredential.objects.get(pk=credential.pk).version == credential.version + 1
    assert Activity.objects.filter(action="api_key.regenerated").count() == 1


def test_two_regenerates_of_one_client_secret_leave_exactly_one_working_secret(admins):
    group, olivia, adam = admins
    client, _ = make_oauth_client(group)
    path = f"/groups/{group.slug}/oauth-clients/{client.public_id}/secret/regenerate/"

    data = {"version": client.version, "grace_seconds": 0, "revoke_tokens": "on"}
    won, lost = split(post_together((olivia, path, data), (adam, path, data)))

    (value,) = SECRET_SHAPE.findall(won.content.decode())
    assert OAuthClient.objects.authenticate(client.client_id, value, "198.51.100.1") == client
    assert lost.status_code == 409 and lost.json()["error"] == "conflict"
    assert "changed by" in lost.json()["error_description"]
    assert Activity.objects.filter(action="oauth_client.secret_regenerated").count() == 1


def test_a_stale_page_is_refused_with_who_changed_it_and_when(cast):
    credential, _ = make_api_key(cast.group)
    base = f"/groups/payments/api-keys/{credential.public_id}"
    client_for(cast.owner).post(f"{base}/primary/regenerate/", {"version": 1})

    response = client_for(cast.admin).post(f"{base}/secondary/regenerate/", {"version": 1}, follow=True)

    changed_at = ApiKeyCredential.objects.get(pk=credential.pk).changed_at
    assertContains(response, f"changed by olivia at {changed_at:%Y-%m-%d %H:%M:%S} UTC")
    assertContains(response, "Nothing was done")
    assert not SECRET_SHAPE.search(response.content.decode())


def test_a_delete_after_a_regenerate_is_refused(cast):
    credential, _ = make_api_key(cast.group)
    base = f"/groups/payments/api-keys/{credential.public_id}"
    client_for(cast.owner).post(f"{base}/primary/regenerate/", {"version": 1})

    response = client_for(cast.admin).post(f"{base}/delete/", {"version": 1}, HTTP_ACCEPT="application/json")

    assert response.status_code == 409
    assert "changed by olivia" in response.json()["error_description"]
    assert ApiKeyCredential.objects.filter(pk=credential.pk).exists()


def test_the_tab_links_carry_the_version_shown(cast):
    credential, _ = make_api_key(cast.group)
    client_for(cast.owner).post(
        f"/groups/payments/api-keys/{credential.public_id}/primary/regenerate/?version=1"
    )

    page = client_for(cast.admin).get("/groups/payments/").content.decode()

    assert f"/{credential.public_id}/secondary/regenerate/?version=2" in page
    assert f"/{credential.public_id}/delete/?version=2" in page
