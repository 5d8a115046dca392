"""Generating, checking, digesting and encrypting secrets: the only module that handles raw values.

A value reads `<kind>_<43 base62 digits: 256 random bits><6 base62 digits: CRC32>`, for example
`gpk_…`. The prefix tells a leaked value's kind to people and secret scanners; the checksum lets a
typo or a random string be refused without any I/O. Neither adds security: the 256 bits do.

The database holds an HMAC-SHA256 digest (keyed with CREDENTIALS_DIGEST_KEY, which lives outside
the database) for lookups, and, for kinds that can be shown again, a Fernet-encrypted copy.
A slow password hasher would protect nothing for 256-bit random values and only cost time.
"""

import enum
import hashlib
import hmac
import re
import secrets
import zlib

from django.conf import settings

# The encrypted copies behind Show: re-exported, so that credentials name one module for their secrets.
from portal.encryption import decrypt, encrypt, is_under_first_key, reencrypt  # noqa: F401

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_BYTES = 32
RANDOM_DIGITS = 43  # 62**43 > 2**256
CHECKSUM_DIGITS = 6  # 62**6 > 2**32


class Kind(enum.StrEnum):
    """The prefix of each kind of value (public by design, so not secrets themselves)."""

    API_KEY = "gpk"
    CLIENT_SECRET = "gps"  # noqa: S105
    ACCESS_TOKEN = "gpa"  # noqa: S105
    REFRESH_TOKEN = "gpr"  # noqa: S105
    PERSONAL_ACCESS_TOKEN = "gpu"  # noqa: S105  (a user's, for the management API)


_SHAPE = {kind: re.compile(rf"{kind}_[0-9A-Za-z]{{{RANDOM_DIGITS + CHECKSUM_DIGITS}}}\Z") for kind in Kind}


def _base62(number, digits):
    out = []
    for _ in range(digits):
        number, rest = divmod(number, 62)
        out.append(ALPHABET[rest])
    return "".join(reversed(out))


def _checksum(head):
    return _base62(zlib.crc32(head.encode("ascii")), CHECKSUM_DIGITS)


def generate(kind):
    """A new value of this kind with 256 bits from the operating system's CSPRNG."""
    body = _base62(int.from_bytes(secrets.token_bytes(RANDOM_BYTES)), RANDOM_DIGITS)
    head = f"{kind}_{body}"
    return head + _checksum(head)


def generate_client_id():
    """A public OAuth client ID: not a secret, but unguessable so clients cannot be enumerated."""
    return "gpc_" + _base62(int.from_bytes(secrets.token_bytes(16)), 22)


def generate_reveal_id():
    """The id of a Reveal, in the URL its values wait behind: 256 bits, so it cannot be guessed."""
    return secrets.token_urlsafe(RANDOM_BYTES)


def is_well_formed(raw, kind):
    """True if `raw` has this kind's prefix, length, alphabet and a matching checksum (no I/O)."""
    if not isinstance(raw, str) or not _SHAPE[kind].match(raw):
        return False
    head, check = raw[:-CHECKSUM_DIGITS], raw[-CHECKSUM_DIGITS:]
    return hmac.compare_digest(_checksum(head), check)


def digest_of(raw, kind):
    """The digest of a well-formed value of this kind, or None: garbage costs no lookup."""
    return digest(raw) if is_well_formed(raw, kind) else None


def digest(raw):
    """The keyed digest stored and looked up in place of the value (64 hex characters)."""
    key = settings.CREDENTIALS_DIGEST_KEY.encode()
    return hmac.new(key, raw.encode("ascii"), hashlib.sha256).hexdigest()


def same(a, b):
    """Constant-time equality of two strings, whatever characters a caller put in them."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def hint(raw):
    """What may be shown of a value without revealing it: its prefix and last four characters."""
    kind = raw.split("_", 1)[0]
    return f"{kind}_…{raw[-4:]}"
