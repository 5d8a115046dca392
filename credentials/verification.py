"""The hot path: from a request's credential header to the group it authenticates, or None."""

from dataclasses import dataclass

from credentials.models import AccessToken, ApiKey
from groups.activity import source_address

# Sent with every 401 so a client learns which credentials are accepted (RFC 6750 3).
WWW_AUTHENTICATE = 'Bearer realm="api", ApiKey realm="api", header="X-Api-Key"'


@dataclass(frozen=True)
class Identity:
    """Who a credential says the caller is: a group, by which method and credential."""

    group_slug: str
    group_name: str
    method: str
    credential: str
    slot: str | None

    # Lets DRF's IsAuthenticated accept an Identity as request.user.
    is_authenticated = True

    def as_dict(self):
        return {
            "group": {"slug": self.group_slug, "name": self.group_name},
            "auth": {"method": self.method, "credential": self.credential, "slot": self.slot},
        }


def _access_token(request):
    token = request.headers.get("X-Access-Token")
    if token is not None:
        return token
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def presents_credential(request):
    return "X-Api-Key" in request.headers or _access_token(request) is not None


def identify(request):
    """The Identity for the request's X-Api-Key, X-Access-Token or Bearer header, or None.

    Only headers are read: a credential in a query string or a cookie is never accepted.
    """
    raw_key = request.headers.get("X-Api-Key")
    if raw_key is not None:
        key = ApiKey.objects.verify(raw_key, source_address(request))
        if key is None:
            return None
        credential = key.credential
        return Identity(credential.group.slug, credential.group.name, "api_key", credential.name, key.slot)
    raw_token = _access_token(request)
    if raw_token is not None:
        token = AccessToken.objects.verify(raw_token)
        if token is None:
            return None
        client = token.client
        return Identity(client.group.slug, client.group.name, "access_token", client.name, None)
    return None
