"""Who the management API lets in: a working personal access token in Authorization: Bearer."""

from datetime import timedelta

import pytest
from django.utils import timezone

from automation.models import PersonalAccessToken
from tests.conftest import client_for
from tests.manage.conftest import API, api_client, make_pat

URL = f"{API}/groups/"


def assert_refused(response):
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Cache-Control"] == "no-store"


def test_a_working_token_acts_as_its_user(cast):
    response = api_client(make_pat(cast.viewer)).get(URL)

    assert response.status_code == 200
    assert response.json() == [
        {
            "slug": "payments",
            "name": "Payments",
            "description": "Card payments team",
            "created_at": response.json()[0]["created_at"],
            "role": "viewer",
            "suspended_at": None,
        }
    ]


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer gpu_garbage", "Basic b2xpdmlhOnB3", "Bearer gpk_" + "A" * 49, "Token x"]
)
def test_anything_but_a_token_is_refused(cast, header):
    response = api_client().get(URL, HTTP_AUTHORIZATION=header) if header else api_client().get(URL)

    assert_refused(response)


def test_an_expired_token_is_refused(cast):
    token = make_pat(cast.owner)
    PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert_refused(api_client(token).get(URL))


def test_a_revoked_token_is_refused(cast):
    token = make_pat(cast.owner)
    PersonalAccessToken.objects.get().revoke()

    assert_refused(api_client(token).get(URL))


def test_a_deactivated_users_token_is_refused(cast):
    token = make_pat(cast.owner)
    cast.owner.is_active = False
    cast.owner.save()

    assert_refused(api_client(token).get(URL))


def test_a_portal_session_is_no_credential(cast):
    assert_refused(client_for(cast.owner).get(URL))


def test_a_read_only_token_cannot_write(cast):
    token = make_pat(cast.owner, read_only=True)

    response = api_client(token).post(f"{API}/groups/payments/api-keys/", {"name": "x"})

    assert response.status_code == 403
    assert "read-only" in response.json()["error_description"]
    assert not cast.group.api_key_credentials.exists()


def test_a_use_is_noted_with_its_address(cast):
    token = make_pat(cast.owner)

    api_client(token).get(URL, REMOTE_ADDR="198.51.100.4")

    used = PersonalAccessToken.objects.get()
    assert used.last_used_address == "198.51.100.4" and used.last_used_at is not None


def test_the_api_answers_in_english_whatever_the_language(cast):
    token = make_pat(cast.outsider)

    response = api_client(token).get(f"{API}/groups/payments/", HTTP_ACCEPT_LANGUAGE="ja")

    assert response.status_code == 404
    assert response.json()["error_description"] == "No such group."
