"""The ID token defects the tests ask for, each on an otherwise valid token.

The mode is kept in a file of the provider's directory, so that every worker reads the same one.
"""

import functools
import json
import os
import time

from django.conf import settings
from jwcrypto import jwk, jws, jwt

MODES = ("normal", "wrong_audience", "expired", "bad_signature")
OTHER_AUDIENCE = "another-client"


def _path():
    return settings.STATE_DIR / "mode"


def current_mode():
    try:
        return _path().read_text()
    except FileNotFoundError:
        return "normal"


def set_mode(mode):
    """Write the mode atomically, so a token request never reads half of it."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}")
    partial = _path().with_suffix(".new")
    partial.write_text(mode)
    os.replace(partial, _path())


@functools.cache
def _unpublished_key():
    # A key of the right kind that the JWKS never lists: what it signs cannot verify there.
    return jwk.JWK.generate(kty="RSA", size=2048)


def tamper(token, key, mode):
    """`token` (a signed ID token) with the one defect of `mode`, signed again by `key` except
    for bad_signature, which keeps header and claims and is signed by an unpublished key."""
    if mode == "normal":
        return token
    parsed = jws.JWS()
    parsed.deserialize(token)
    header = json.loads(parsed.objects["protected"])
    claims = json.loads(parsed.objects["payload"])
    if mode == "wrong_audience":
        claims["aud"] = OTHER_AUDIENCE
    elif mode == "expired":
        # Issued two hours ago and expired an hour ago: far past any clock-skew leeway.
        now = int(time.time())
        claims.update(iat=now - 7200, exp=now - 3600, auth_time=min(claims["auth_time"], now - 7200))
    elif mode == "bad_signature":
        key = _unpublished_key()
    signed = jwt.JWT(header=json.dumps(header), claims=json.dumps(claims))
    signed.make_signed_token(key)
    return signed.serialize()
