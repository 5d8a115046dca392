from oauth2_provider.oauth2_validators import OAuth2Validator

from tests.oidc_provider.tampering import current_mode, tamper


class Validator(OAuth2Validator):
    """Django-oauth-toolkit's validator with the launcher's claims and the tampering switch."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "profile"}

    def get_additional_claims(self):
        # Request-agnostic (callables), so the discovery document lists these claims.
        return {
            "preferred_username": lambda request: request.user.username,
            "name": lambda request: request.user.person.name,
            "email": lambda request: request.user.email,
            "email_verified": lambda request: request.user.person.email_verified,
            "groups": lambda request: request.user.person.groups,
        }

    def finalize_id_token(self, id_token, token, token_handler, request):
        signed = super().finalize_id_token(id_token, token, token_handler, request)
        return tamper(signed, request.client.jwk_key, current_mode())
