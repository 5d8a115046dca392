"""The hot path: from a request's credential header to the group it authenticates, or None."""

from dataclasses import dataclass

from credentials.models import ApiKey
from groups.activity import source_address

# Sent with every 401 so a client learns which headers are accepted.
WWW_AUTHENTICATE = 'ApiKey realm="api", header="X-Api-Key"'


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


def identify(request):
    """The Identity for the request's X-Api-Key header, or None. Query strings are never read."""
    raw = request.headers.get("X-Api-Key")
    if raw is None:
        return None
    key = ApiKey.objects.verify(raw, source_address(request))
    if key is None:
        return None
    credential = key.credential
    return Identity(credential.group.slug, credential.group.name, "api_key", credential.name, key.slot)


def presents_credential(request):
    return "X-Api-Key" in request.headers
