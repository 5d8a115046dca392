from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from credentials import secrets
from credentials.models import ApiKey, ApiKeyCredential, OAuthClient, Slot
from credentials.secrets import Kind
from tests.conftest import key_identity, make_api_key, make_group


def test_create_with_keys_gives_two_different_well_formed_values(cast):
    credential, values = make_api_key(cast.group, created_by=cast.owner)

    assert set(values) == {Slot.PRIMARY, Slot.SECONDARY}
    assert values[Slot.PRIMARY] != values[Slot.SECONDARY]
    assert all(secrets.is_well_formed(value, Kind.API_KEY) for value in values.values())
    assert credential.created_by == cast.owner
    assert credential.keys.count() == 2


def test_stored_key_is_a_digest_an_encrypted_copy_and_a_hint_never_the_value(cast):
    credential, values = make_api_key(cast.group)

    for slot, value in values.items():
        key = ApiKey.objects.get(credential=credential, slot=slot)
        assert key.digest == secrets.digest(value)
        assert value not in key.encrypted
        assert secrets.decrypt(key.encrypted) == value
        assert key.hint == f"gpk_…{value[-4:]}"


def test_verify_finds_the_key_of_each_slot(cast):
    credential, values = make_api_key(cast.group)

    for slot, value in values.items():
        identity = key_identity(value)
        assert (identity.credential, identity.slot) == (credential.name, slot)
        assert (identity.group_slug, identity.method) == (cast.group.slug, "api_key")


@pytest.mark.parametrize("value", [secrets.generate(Kind.API_KEY), "gpk_short", "", None])
def test_verify_refuses_an_unknown_or_malformed_value(cast, value):
    make_api_key(cast.group)

    assert key_identity(value) is None


def test_verify_refuses_a_value_of_another_kind(cast):
    make_api_key(cast.group)

    assert key_identity(secrets.generate(Kind.ACCESS_TOKEN)) is None


def test_changing_the_digest_key_makes_every_key_fail(cast, settings):
    _, values = make_api_key(cast.group)

    settings.CREDENTIALS_DIGEST_KEY = "another digest key"

    assert key_identity(values[Slot.PRIMARY]) is None
    assert key_identity(values[Slot.SECONDARY]) is None


def test_regenerate_replaces_only_that_slot(cast):
    credential, values = make_api_key(cast.group)

    new = credential.regenerate(Slot.PRIMARY, credential.version, None)

    assert new not in values.values()
    assert key_identity(values[Slot.PRIMARY]) is None
    assert key_identity(new).slot == Slot.PRIMARY
    assert key_identity(values[Slot.SECONDARY]).slot == Slot.SECONDARY


def test_regenerate_resets_usage_and_issue_time(cast):
    credential, values = make_api_key(cast.group)
    key_identity(values[Slot.PRIMARY], "203.0.113.7")
    issued = credential.keys.get(slot=Slot.PRIMARY).created_at

    credential.regenerate(Slot.PRIMARY, credential.version, None)

    key = credential.keys.get(slot=Slot.PRIMARY)
    assert (key.last_used_at, key.last_used_address) == (None, None)
    assert key.created_at > issued


def test_reveal_decrypts_the_stored_copy(cast):
    credential, values = make_api_key(cast.group)

    assert credential.reveal(Slot.PRIMARY) == values[Slot.PRIMARY]
    assert credential.reveal(Slot.SECONDARY) == values[Slot.SECONDARY]


def test_verify_records_first_use_time_and_address(cast):
    credential, values = make_api_key(cast.group)

    key_identity(values[Slot.SECONDARY], "2001:db8::1")

    key = credential.keys.get(slot=Slot.SECONDARY)
    assert key.last_used_address == "2001:db8::1"
    assert timezone.now() - key.last_used_at < timedelta(seconds=5)
    assert credential.keys.get(slot=Slot.PRIMARY).last_used_at is None


def test_deleting_the_credential_deletes_both_keys(cast):
    credential, values = make_api_key(cast.group)

    credential.delete()

    assert not ApiKey.objects.exists()
    assert key_identity(values[Slot.PRIMARY]) is None


def test_name_is_unique_within_a_group(cast):
    make_api_key(cast.group, "Billing app")

    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKeyCredential.objects.create(group=cast.group, name="Billing app")


def test_same_name_is_allowed_in_another_group(cast):
    make_api_key(cast.group, "Billing app")

    make_api_key(make_group("Logistics"), "Billing app")

    assert ApiKeyCredential.objects.filter(name="Billing app").count() == 2


def test_public_id_is_random_not_sequential(cast):
    first, _ = make_api_key(cast.group, "One")
    second, _ = make_api_key(cast.group, "Two")

    assert first.public_id.version == second.public_id.version == 4
    assert first.public_id != second.public_id


def test_fresh_credential_warns_that_the_other_slot_was_never_used(cast):
    credential, _ = make_api_key(cast.group)

    warnings = credential.rotation_warnings(Slot.PRIMARY)

    assert warnings == [
        "The secondary key has not been used since it was issued:"
        " applications may not have switched to it yet."
    ]


@pytest.mark.parametrize("model", [ApiKeyCredential, OAuthClient])
def test_names_are_validated_on_the_model_so_the_admin_site_keeps_to_them(db, model):
    group = make_group()
    with pytest.raises(ValidationError) as raised:
        model(group=group, name="Billing\r\nX-Injected: yes").full_clean()
    assert "name" in raised.value.message_dict
    model(group=group, name="Billing app 2.0").full_clean()
