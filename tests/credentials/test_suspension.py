"""Suspending a group (Group.suspend / resume and their pages): every credential refused, every
token revoked; Resume restores the keys and secrets, not the tokens."""

import base64
import json

import pytest
from django.test import Client
from django.urls import reverse

from credentials.models import AccessToken, Lockout, Slot, TokenFamily
from groups.models import Action, Activity, Group
from tests.conftest import client_for, issue_access_token, key_identity, make_api_key, make_oauth_client


@pytest.fixture
def world(cast):
    cast.credential, cast.keys = make_api_key(cast.group)
    cast.client, cast.secret = make_oauth_client(cast.group)
    return cast


def whoami(**headers):
    return Client().get("/v1/whoami", headers=headers)


def token_v2(client, secret):
    basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    return Client().post(
        "/v2/tokens",
        "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": f"Basic {basic}"},
    )


def token_v1(client, secret):
    body = json.dumps({"clientId": client.client_id, "clientSecret": secret})
    return Client().post("/v1/tokens", body, content_type="application/json")


def refresh(refresh_token):
    body = json.dumps({"refreshToken": refresh_token})
    return Client().patch("/v1/tokens", body, content_type="application/json")


def suspend_url(group):
    return reverse("credentials:suspend-group", args=[group.slug])


def resume_url(group):
    return reverse("credentials:resume-group", args=[group.slug])


def test_a_suspended_groups_keys_are_refused_as_wrong_ones(world):
    world.group.suspend(world.owner)

    response = whoami(**{"X-Api-Key": world.keys[Slot.PRIMARY]})

    assert response.status_code == 401
    assert response.json() == whoami(**{"X-Api-Key": "gpk_wrong"}).json()
    assert key_identity(world.keys[Slot.SECONDARY]) is None


def test_verify_refuses_a_suspended_groups_key(world):
    world.group.suspend(world.owner)

    assert Client().get("/v1/verify", headers={"X-Api-Key": world.keys[Slot.PRIMARY]}).status_code == 401


def test_suspension_revokes_every_access_token_and_family(world):
    _, token = issue_access_token(world.client)
    pair = token_v1(world.client, world.secret).json()

    world.group.suspend(world.owner)

    assert whoami(**{"X-Access-Token": token}).status_code == 401
    assert whoami(**{"X-Access-Token": pair["accessToken"]}).status_code == 401
    assert not AccessToken.objects.filter(client=world.client, revoked_at__isnull=True).exists()
    assert not TokenFamily.objects.filter(client=world.client, revoked_at__isnull=True).exists()


def test_refresh_is_refused_after_suspension(world):
    pair = token_v1(world.client, world.secret).json()
    world.group.suspend(world.owner)

    response = refresh(pair["refreshToken"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_token_requests_of_a_suspended_group_are_invalid_client_without_a_lockout_count(world, settings):
    settings.LOCKOUT_THRESHOLD = 2
    world.group.suspend(world.owner)

    answers = [token_v2(world.client, world.secret) for _ in range(3)] + [
        token_v1(world.client, world.secret)
    ]

    assert [answer.status_code for answer in answers] == [401, 401, 401, 401]
    assert {answer.json()["error"] for answer in answers} == {"invalid_client"}
    assert answers[0]["WWW-Authenticate"].startswith("Basic")
    assert not Lockout.objects.exists()
    assert not AccessToken.objects.exists()


def test_resume_restores_keys_and_secrets_but_not_tokens(world):
    _, token = issue_access_token(world.client)
    world.group.suspend(world.owner)

    world.group.resume(world.owner)

    assert whoami(**{"X-Api-Key": world.keys[Slot.PRIMARY]}).status_code == 200
    assert whoami(**{"X-Access-Token": token}).status_code == 401
    assert token_v2(world.client, world.secret).status_code == 200


def test_a_token_that_slipped_past_the_suspension_is_refused_and_revoked_on_resume(world):
    world.group.suspend(world.owner)
    _, token = issue_access_token(world.client)  # as a request that read the group just before

    assert whoami(**{"X-Access-Token": token}).status_code == 401
    world.group.resume(world.owner)
    assert whoami(**{"X-Access-Token": token}).status_code == 401


def test_other_groups_are_untouched(world):
    other = Group.objects.create(name="Logistics", slug="logistics")
    _, values = make_api_key(other, "Fleet")

    world.group.suspend(world.owner)

    assert whoami(**{"X-Api-Key": values[Slot.PRIMARY]}).status_code == 200


def test_suspend_and_resume_are_recorded_once(world):
    assert world.group.suspend(world.owner) is True
    assert world.group.suspend(world.owner) is False
    assert world.group.resume(world.staff) is True
    assert world.group.resume(world.staff) is False

    rows = Activity.objects.filter(action__in=[Action.GROUP_SUSPENDED, Action.GROUP_RESUMED])
    assert sorted(rows.values_list("action", "actor_name")) == [
        (Action.GROUP_RESUMED, "stella"),
        (Action.GROUP_SUSPENDED, "olivia"),
    ]


def test_the_owner_suspends_from_the_confirmation_page(world):
    browser = client_for(world.owner)
    page = browser.get(suspend_url(world.group))
    assert page.status_code == 200
    assert b"Suspend group" in page.content and b"autofocus" in page.content

    response = browser.post(suspend_url(world.group), follow=True)

    assert response.status_code == 200
    assert b"every credential is refused" in response.content
    assert b"Suspended by olivia" in response.content
    assert Group.objects.get(pk=world.group.pk).suspended_by == world.owner


def test_suspending_twice_says_so_and_records_one_row(world):
    browser = client_for(world.owner)
    browser.post(suspend_url(world.group))

    response = browser.post(suspend_url(world.group), follow=True)

    assert b"was suspended already" in response.content
    assert Activity.objects.filter(action=Action.GROUP_SUSPENDED).count() == 1


def test_staff_resume(world):
    world.group.suspend(world.owner)

    response = client_for(world.staff).post(resume_url(world.group), follow=True)

    assert b"resumed" in response.content
    assert Group.objects.get(pk=world.group.pk).suspended_at is None


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_admins_and_viewers_may_not_suspend_or_resume(world, role):
    browser = client_for(getattr(world, role))

    assert browser.post(suspend_url(world.group)).status_code == 403
    world.group.suspend(world.owner)
    assert browser.post(resume_url(world.group)).status_code == 403
    assert Group.objects.get(pk=world.group.pk).suspended_at is not None


def test_an_outsider_gets_404(world):
    browser = client_for(world.outsider)

    assert browser.get(suspend_url(world.group)).status_code == 404
    assert browser.post(suspend_url(world.group)).status_code == 404
    assert browser.post(resume_url(world.group)).status_code == 404
    assert Group.objects.get(pk=world.group.pk).suspended_at is None


def test_viewers_see_the_banner_without_buttons(world):
    world.group.suspend(world.owner)

    page = client_for(world.viewer).get(reverse("credentials:auth-info", args=[world.group.slug]))

    assert b"Suspended by olivia" in page.content
    assert resume_url(world.group).encode() not in page.content
    assert b"Suspend group" not in page.content


def test_the_group_list_shows_the_suspension(world):
    world.group.suspend(world.owner)

    page = client_for(world.viewer).get(reverse("groups:list"))

    assert b"suspended-badge" in page.content and b"Suspended" in page.content
