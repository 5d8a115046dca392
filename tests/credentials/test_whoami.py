from datetime import timedelta

import pytest
from django.utils import timezone

from credentials import secrets
from credentials.models import ApiKey, Slot
from credentials.secrets import Kind
from credentials.verification import WWW_AUTHENTICATE
from tests.conftest import client_for, make_api_key

WHOAMI = "/v1/whoami"


@pytest.fixture
def api_key(cast):
    """The cast's group with one API key credential: (credential, {slot: value})."""
    return make_api_key(cast.group)


# Ways a presented key can be malformed, each built from a real key; none may cost a query.
MALFORMED = {
    "empty": lambda value: "",
    "garbage": lambda value: "not-a-key",
    "too short": lambda value: value[:-1],
    "too long": lambda value: value + "A",
    "wrong checksum": lambda value: value[:-1] + ("B" if value.endswith("A") else "A"),
    "wrong prefix": lambda value: "gps_" + value[4:],
    "token kind": lambda value: secrets.generate(Kind.ACCESS_TOKEN),
    "bearer prefix": lambda value: f"Bearer {value}",
}


def assert_refused(response):
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_credentials"
    assert response.json()["error_description"]
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


@pytest.mark.parametrize("slot", list(Slot))
def test_each_slot_identifies_the_group_and_credential(client, api_key, slot):
    credential, values = api_key

    response = client.get(WHOAMI, headers={"X-Api-Key": values[slot]})

    assert response.status_code == 200
    assert response.json() == {
        "group": {"slug": "payments", "name": "Payments"},
        "auth": {"method": "api_key", "credential": credential.name, "slot": slot.value},
        "scopes": None,
    }


def test_both_slots_are_valid_at_the_same_time(client, api_key):
    _, values = api_key

    slots = [client.get(WHOAMI, headers={"X-Api-Key": values[slot]}).json()["auth"]["slot"] for slot in Slot]

    assert slots == ["primary", "secondary"]


def test_missing_header_is_refused(client, api_key):
    assert_refused(client.get(WHOAMI))


def test_unknown_well_formed_key_is_refused(client, api_key):
    assert_refused(client.get(WHOAMI, headers={"X-Api-Key": secrets.generate(Kind.API_KEY)}))


def test_key_of_a_deleted_credential_is_refused(client, api_key):
    credential, values = api_key
    credential.delete()

    for value in values.values():
        assert_refused(client.get(WHOAMI, headers={"X-Api-Key": value}))


@pytest.mark.parametrize("variant", MALFORMED)
def test_malformed_key_is_refused_without_a_database_query(
    client, api_key, variant, django_assert_num_queries
):
    value = MALFORMED[variant](api_key[1][Slot.PRIMARY])

    with django_assert_num_queries(0):
        response = client.get(WHOAMI, headers={"X-Api-Key": value})

    assert_refused(response)


@pytest.mark.parametrize("parameter", ["api_key", "X-Api-Key", "x-api-key", "apikey", "key"])
def test_key_in_the_query_string_is_refused(client, api_key, parameter):
    response = client.get(WHOAMI, {parameter: api_key[1][Slot.PRIMARY]})

    assert_refused(response)
    assert ApiKey.objects.filter(last_used_at__isnull=False).count() == 0


def test_key_in_a_cookie_is_refused(client, api_key):
    client.cookies["X-Api-Key"] = api_key[1][Slot.PRIMARY]

    assert_refused(client.get(WHOAMI))


def test_first_use_costs_one_lookup_and_one_update(client, api_key, django_assert_num_queries):
    with django_assert_num_queries(2) as captured:
        response = client.get(WHOAMI, headers={"X-Api-Key": api_key[1][Slot.PRIMARY]})

    assert response.status_code == 200
    statements = [query["sql"].split()[0].upper() for query in captured.captured_queries]
    assert statements == ["SELECT", "UPDATE"]


def test_first_use_records_time_and_source_address(client, api_key):
    credential, values = api_key

    client.get(WHOAMI, headers={"X-Api-Key": values[Slot.PRIMARY]}, REMOTE_ADDR="203.0.113.7")

    primary, secondary = credential.keys.get(slot=Slot.PRIMARY), credential.keys.get(slot=Slot.SECONDARY)
    assert primary.last_used_address == "203.0.113.7"
    assert timezone.now() - primary.last_used_at < timedelta(seconds=5)
    assert (secondary.last_used_at, secondary.last_used_address) == (None, None)


def test_second_use_within_the_interval_writes_nothing(client, api_key, django_assert_num_queries):
    credential, values = api_key
    client.get(WHOAMI, headers={"X-Api-Key": values[Slot.PRIMARY]}, REMOTE_ADDR="203.0.113.7")
    first = credential.keys.get(slot=Slot.PRIMARY).last_used_at

    with django_assert_num_queries(1) as captured:
        response = client.get(WHOAMI, headers={"X-Api-Key": values[Slot.PRIMARY]}, REMOTE_ADDR="198.51.100.2")

    assert response.status_code == 200
    assert captured.captured_queries[0]["sql"].upper().startswith("SELECT")
    key = credential.keys.get(slot=Slot.PRIMARY)
    assert (key.last_used_at, key.last_used_address) == (first, "203.0.113.7")


def test_use_after_the_interval_records_again(client, api_key, settings):
    credential, values = api_key
    client.get(WHOAMI, headers={"X-Api-Key": values[Slot.PRIMARY]}, REMOTE_ADDR="203.0.113.7")
    earlier = timezone.now() - timedelta(seconds=settings.LAST_USED_INTERVAL + 1)
    credential.keys.filter(slot=Slot.PRIMARY).update(last_used_at=earlier)

    client.get(WHOAMI, headers={"X-Api-Key": values[Slot.PRIMARY]}, REMOTE_ADDR="198.51.100.2")

    key = credential.keys.get(slot=Slot.PRIMARY)
    assert key.last_used_address == "198.51.100.2"
    assert key.last_used_at > earlier + timedelta(seconds=1)


def test_forwarded_for_from_an_untrusted_peer_is_not_believed(client, api_key):
    credential, values = api_key

    client.get(
        WHOAMI,
        headers={"X-Api-Key": values[Slot.PRIMARY], "X-Forwarded-For": "192.0.2.66"},
        REMOTE_ADDR="203.0.113.7",
    )

    assert credential.keys.get(slot=Slot.PRIMARY).last_used_address == "203.0.113.7"


def test_refused_key_records_no_use(client, api_key):
    client.get(WHOAMI, headers={"X-Api-Key": secrets.generate(Kind.API_KEY)})

    assert not ApiKey.objects.filter(last_used_at__isnull=False).exists()


def test_portal_session_is_not_a_credential(cast, api_key):
    response = client_for(cast.owner).get(WHOAMI)

    assert_refused(response)
