import hashlib
import hmac
import math
import re
import zlib
from functools import reduce
from operator import and_, or_

import pytest
from cryptography.fernet import Fernet, InvalidToken

from credentials import secrets
from credentials.secrets import ALPHABET, Kind

KEY_SHAPE = re.compile(r"^gpk_[0-9A-Za-z]{49}$")


def base62_decode(digits):
    return reduce(lambda number, digit: number * 62 + ALPHABET.index(digit), digits, 0)


def base62_encode(number, width):
    digits = ""
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits = ALPHABET[rest] + digits
    return digits


def with_checksum(head):
    """The documented format, independently: CRC32 of the head as 6 base62 digits."""
    return head + base62_encode(zlib.crc32(head.encode()), 6)


def new_key():
    return secrets.generate(Kind.API_KEY)


def test_generated_key_has_prefix_and_49_base62_digits():
    for _ in range(100):
        assert KEY_SHAPE.match(new_key())


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_has_its_own_prefix_and_is_refused_as_another_kind(kind):
    value = secrets.generate(kind)

    assert value.startswith(f"{kind}_")
    assert secrets.is_well_formed(value, kind)
    assert [other for other in Kind if secrets.is_well_formed(value, other)] == [kind]


def test_last_six_digits_are_the_crc32_of_the_rest():
    value = new_key()

    assert value == with_checksum(value[:-6])


def test_ten_thousand_keys_have_no_duplicates():
    values = {new_key() for _ in range(10_000)}

    assert len(values) == 10_000


def test_random_part_carries_256_bits():
    bodies = [base62_decode(new_key()[4:-6]) for _ in range(10_000)]

    assert 43 * math.log2(62) >= 256
    assert max(bodies) < 2**256
    # Over 10,000 samples every one of the 256 bit positions is seen both set and clear.
    assert reduce(or_, bodies) == 2**256 - 1
    assert reduce(and_, bodies) == 0


@pytest.mark.parametrize("prefix", ["gps_", "gpx_", "GPK_", "gpk-", "gpkk", "_gpk"])
def test_wrong_prefix_is_refused_even_with_a_matching_checksum(prefix):
    value = with_checksum(prefix + new_key()[4:-6])

    assert not secrets.is_well_formed(value, Kind.API_KEY)


@pytest.mark.parametrize("body_length", [0, 1, 42, 44, 100])
def test_wrong_length_is_refused_even_with_a_matching_checksum(body_length):
    value = with_checksum("gpk_" + ("a1B2" * 30)[:body_length])

    assert not secrets.is_well_formed(value, Kind.API_KEY)


@pytest.mark.parametrize("outsider", ["-", "_", "+", "/", "=", " ", ".", "é", "٣", "\n"])
def test_character_outside_base62_is_refused_even_with_a_matching_checksum(outsider):
    body = new_key()[4:-6]
    value = with_checksum(f"gpk_{body[:20]}{outsider}{body[21:]}")

    assert not secrets.is_well_formed(value, Kind.API_KEY)


def test_any_single_character_change_is_caught_by_the_checksum():
    value = new_key()

    for position in range(4, len(value)):
        swapped = ALPHABET[(ALPHABET.index(value[position]) + 1) % 62]
        flipped = value[:position] + swapped + value[position + 1 :]
        assert KEY_SHAPE.match(flipped)
        assert not secrets.is_well_formed(flipped, Kind.API_KEY), position


@pytest.mark.parametrize("value", [None, 42, b"gpk_", ""])
def test_non_string_or_empty_value_is_refused(value):
    assert not secrets.is_well_formed(value, Kind.API_KEY)


def test_trailing_newline_is_refused():
    assert not secrets.is_well_formed(new_key() + "\n", Kind.API_KEY)


def test_digest_is_64_hex_characters_and_stable():
    value = new_key()

    assert re.fullmatch(r"[0-9a-f]{64}", secrets.digest(value))
    assert secrets.digest(value) == secrets.digest(value)
    assert secrets.digest(value) != secrets.digest(new_key())


def test_digest_is_hmac_sha256_keyed_with_the_digest_key(settings):
    settings.CREDENTIALS_DIGEST_KEY = "a server-side digest key for this test"
    value = new_key()

    expected = hmac.new(b"a server-side digest key for this test", value.encode(), hashlib.sha256)
    assert secrets.digest(value) == expected.hexdigest()


def test_digest_changes_with_the_digest_key(settings):
    value = new_key()
    settings.CREDENTIALS_DIGEST_KEY = "first key"
    first = secrets.digest(value)

    settings.CREDENTIALS_DIGEST_KEY = "second key"

    assert secrets.digest(value) != first


def test_encrypt_then_decrypt_returns_the_value():
    value = new_key()

    encrypted = secrets.encrypt(value)

    assert value not in encrypted
    assert value[4:-6] not in encrypted
    assert secrets.decrypt(encrypted) == value


def test_encrypting_twice_gives_different_ciphertexts():
    value = new_key()

    assert secrets.encrypt(value) != secrets.encrypt(value)


def test_rotated_key_list_still_decrypts_old_ciphertext(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_ENCRYPTION_KEY = [old]
    value = new_key()
    encrypted_with_old = secrets.encrypt(value)

    settings.CREDENTIALS_ENCRYPTION_KEY = [new, old]

    assert secrets.decrypt(encrypted_with_old) == value


def test_after_rotation_new_values_are_encrypted_with_the_first_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CREDENTIALS_ENCRYPTION_KEY = [new, old]
    value = new_key()

    encrypted = secrets.encrypt(value)

    assert Fernet(new).decrypt(encrypted.encode()).decode() == value
    with pytest.raises(InvalidToken):
        Fernet(old).decrypt(encrypted.encode())


def test_ciphertext_of_a_removed_key_cannot_be_decrypted(settings):
    settings.CREDENTIALS_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    encrypted = secrets.encrypt(new_key())

    settings.CREDENTIALS_ENCRYPTION_KEY = [Fernet.generate_key().decode()]

    with pytest.raises(InvalidToken):
        secrets.decrypt(encrypted)


def test_hint_shows_the_prefix_and_the_last_four_characters_only():
    value = new_key()

    hint = secrets.hint(value)

    assert hint == f"gpk_…{value[-4:]}"
    assert value[4:-4] not in hint
    assert len(hint.replace("gpk_…", "")) == 4
