import pytest

from credentials import secrets
from credentials.models import Slot
from credentials.secrets import Kind
from credentials.verification import WWW_AUTHENTICATE
from tests.conftest import client_for, make_api_key

VERIFY = "/v1/verify"


@pytest.fixture
def api_key(cast):
    """The cast's group with one API key credential: (credential, {slot: value})."""
    return make_api_key(cast.group)


def assert_refused(response):
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert "X-Auth-Group" not in response


@pytest.mark.parametrize("slot", list(Slot))
def test_valid_key_gives_204_and_who_it_is_in_headers(client, api_key, slot):
    credential, values = api_key

    response = client.get(VERIFY, headers={"X-Api-Key": values[slot]})

    assert response.status_code == 204
    assert response.content == b""
    assert response["X-Auth-Group"] == "payments"
    assert response["X-Auth-Method"] == "api_key"
    assert response["X-Auth-Credential"] == credential.name


def test_answer_is_not_cached(client, api_key):
    response = client.get(VERIFY, headers={"X-Api-Key": api_key[1][Slot.PRIMARY]})

    assert "no-store" in response["Cache-Control"]


def test_missing_header_is_refused(client, api_key):
    assert_refused(client.get(VERIFY))


def test_unknown_key_is_refused(client, api_key):
    assert_refused(client.get(VERIFY, headers={"X-Api-Key": secrets.generate(Kind.API_KEY)}))


def test_key_of_a_deleted_credential_is_refused(client, api_key):
    credential, values = api_key
    credential.delete()

    for value in values.values():
        assert_refused(client.get(VERIFY, headers={"X-Api-Key": value}))


def test_regenerated_key_is_refused_at_once(client, api_key):
    credential, values = api_key

    credential.regenerate(Slot.SECONDARY, credential.version, None)

    assert_refused(client.get(VERIFY, headers={"X-Api-Key": values[Slot.SECONDARY]}))
    assert client.get(VERIFY, headers={"X-Api-Key": values[Slot.PRIMARY]}).status_code == 204


@pytest.mark.parametrize("value", ["", "nonsense", "gpk_", "gpk_" + "A" * 49, "gpk_" + "é" * 49])
def test_malformed_key_is_refused_without_a_database_query(client, api_key, value, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(VERIFY, headers={"X-Api-Key": value})

    assert_refused(response)


def test_key_with_a_wrong_checksum_is_refused_without_a_database_query(
    client, api_key, django_assert_num_queries
):
    value = api_key[1][Slot.PRIMARY]
    flipped = value[:10] + ("B" if value[10] == "A" else "A") + value[11:]

    with django_assert_num_queries(0):
        response = client.get(VERIFY, headers={"X-Api-Key": flipped})

    assert_refused(response)


def test_valid_key_costs_one_lookup_then_no_more_than_one_update(client, api_key, django_assert_num_queries):
    value = api_key[1][Slot.PRIMARY]

    with django_assert_num_queries(2):
        assert client.get(VERIFY, headers={"X-Api-Key": value}).status_code == 204
    with django_assert_num_queries(1):
        assert client.get(VERIFY, headers={"X-Api-Key": value}).status_code == 204


def test_many_failures_from_one_address_never_give_429(client, api_key):
    statuses = {
        client.get(VERIFY, headers={"X-Api-Key": secrets.generate(Kind.API_KEY)}).status_code
        for _ in range(30)
    }

    assert statuses == {401}
    assert client.get(VERIFY, headers={"X-Api-Key": api_key[1][Slot.PRIMARY]}).status_code == 204


@pytest.mark.parametrize("parameter", ["api_key", "X-Api-Key"])
def test_key_in_the_query_string_is_refused(client, api_key, parameter):
    assert_refused(client.get(VERIFY, {parameter: api_key[1][Slot.PRIMARY]}))


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_methods_other_than_get_are_not_allowed(client, api_key, method):
    response = getattr(client, method)(VERIFY, headers={"X-Api-Key": api_key[1][Slot.PRIMARY]})

    assert response.status_code == 405
    # HEAD is answered as GET; OPTIONS with the Allow header.
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_portal_session_is_not_a_credential(cast, api_key):
    assert_refused(client_for(cast.owner).get(VERIFY))
