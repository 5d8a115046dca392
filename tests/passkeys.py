"""A registered passkey as allauth stores it, made without a browser: a P-256 key in a WebAuthn
registration response with "none" attestation, for pages that list or exclude existing passkeys.
The browser tests register real ones (Chromium's virtual authenticator)."""

import hashlib
import secrets

from allauth.mfa.models import Authenticator
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorAttestationResponse,
    AuthenticatorData,
    CollectedClientData,
    RegistrationResponse,
)


def make_passkey(user, name, rp_id="testserver", passwordless=True):
    public_key = ES256.from_cryptography_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    credential_id = secrets.token_bytes(16)
    flags = AuthenticatorData.FLAG.UP | AuthenticatorData.FLAG.UV | AuthenticatorData.FLAG.AT
    auth_data = AuthenticatorData.create(
        hashlib.sha256(rp_id.encode()).digest(),
        flags,
        0,
        AttestedCredentialData.create(bytes(16), credential_id, public_key),
    )
    client_data = CollectedClientData.create("webauthn.create", secrets.token_bytes(16), f"https://{rp_id}")
    response = RegistrationResponse(
        raw_id=credential_id,
        response=AuthenticatorAttestationResponse(
            client_data=client_data, attestation_object=AttestationObject.create("none", auth_data, {})
        ),
    )
    credential = dict(response)
    credential["clientExtensionResults"] = {"credProps": {"rk": passwordless}}
    return Authenticator.objects.create(
        user=user, type=Authenticator.Type.WEBAUTHN, data={"name": name, "credential": credential}
    )
