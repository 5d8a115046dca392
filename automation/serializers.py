"""The management API's JSON shapes. Input is validated by the portal's own forms (the same rules);
these serializers write the answers and document both in the OpenAPI document."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from credentials.forms import RegenerateSecretForm
from credentials.models import RATE_LIMIT_MAX, Slot
from credentials.networks import MAX_NETWORKS
from groups.models import MAX_CREDENTIAL_AGE_DAYS, Action, Role


class Error(serializers.Serializer):
    error = serializers.CharField(help_text=_("invalid_request, invalid_token, conflict, last_owner..."))
    error_description = serializers.CharField()


class GroupOut(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    role = serializers.ChoiceField(
        choices=Role.choices, help_text=_("The caller's role; staff act as owners.")
    )
    suspended_at = serializers.DateTimeField(
        allow_null=True,
        help_text=_("Since when every credential of the group is refused; null: not suspended."),
    )


class GroupIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    slug = serializers.CharField(required=False, help_text=_("Derived from the name when omitted."))
    description = serializers.CharField(required=False)
    owner = serializers.CharField(required=False, help_text=_("Username of the group's first owner."))


class MemberOut(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Role.choices)
    version = serializers.IntegerField(help_text=_("Send it back as `version` to change it only as seen."))
    created_at = serializers.DateTimeField()


class MemberIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationOut(serializers.Serializer):
    invited = serializers.CharField(help_text=_("The username invited: it joins from its Group List."))
    role = serializers.ChoiceField(choices=Role.choices)
    expires_at = serializers.DateTimeField()


class RoleIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
    version = serializers.IntegerField(required=False, min_value=1)


class VersionIn(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text=_("Act only if the object is still at this version.")
    )


class KeyOut(serializers.Serializer):
    slot = serializers.ChoiceField(choices=Slot.choices)
    hint = serializers.CharField(help_text=_("The prefix and last four characters."))
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    last_used_address = serializers.IPAddressField(allow_null=True)


class ScopesField(serializers.ListField):
    """A credential's stored scopes (credentials.scopes) as a sorted list of service names, or
    null for all of the group's."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text", _("The services it may use, e.g. orders:read; null: every service of the group.")
        )
        super().__init__(child=serializers.CharField(), allow_null=True, **kwargs)

    def to_representation(self, data):
        return sorted(data.split())


class NetworksField(serializers.ListField):
    """A credential's allowed source networks (credentials.networks) as a list of CIDR ranges, the
    empty list for any address (stored as NULL)."""

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            _("Address ranges in CIDR notation, e.g. 192.0.2.0/24 or 2001:db8::/32; empty: any address."),
        )
        super().__init__(child=serializers.CharField(), max_length=MAX_NETWORKS, **kwargs)

    def get_attribute(self, instance):
        return super().get_attribute(instance) or ""

    def to_representation(self, data):
        return data.split()


def rate_limit_field(**kwargs):
    return serializers.IntegerField(
        allow_null=True,
        min_value=1,
        max_value=RATE_LIMIT_MAX,
        help_text=_("Requests per minute over all its keys or tokens; null: no limit."),
        **kwargs,
    )


class ApiKeyCredentialOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When both keys stop working; null: never.")
    )
    scopes = ScopesField()
    rate_limit = rate_limit_field()
    allowed_networks = NetworksField()
    keys = KeyOut(many=True)


class NameIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class CredentialIn(NameIn):
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_(
            "When its keys or its secret stop working, in the future (UTC unless an offset is "
            "given); null or omitted: never."
        ),
    )
    scopes = ScopesField(required=False)
    rate_limit = rate_limit_field(required=False)
    allowed_networks = NetworksField(required=False)


class ExpiryIn(serializers.Serializer):
    expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text=_(
            "When both keys stop working, in the future (UTC unless an offset is given); null: never."
        ),
    )
    version = serializers.IntegerField(required=False, min_value=1)


class ScopesIn(serializers.Serializer):
    scopes = ScopesField()
    version = serializers.IntegerField(required=False, min_value=1)


class RateLimitIn(serializers.Serializer):
    rate_limit = rate_limit_field()
    version = serializers.IntegerField(required=False, min_value=1)


class NetworksIn(serializers.Serializer):
    allowed_networks = NetworksField()
    version = serializers.IntegerField(required=False, min_value=1)


class NetworksOut(serializers.Serializer):
    allowed_networks = NetworksField()
    version = serializers.IntegerField(help_text=_("Send it back as `version` to change it only as seen."))


class Policy(serializers.Serializer):
    """A group's policy, read and written whole."""

    max_credential_age_days = serializers.IntegerField(
        allow_null=True,
        min_value=1,
        max_value=MAX_CREDENTIAL_AGE_DAYS,
        help_text=_("Days from a key's or client secret's issue or last regeneration; null: no maximum."),
    )
    max_age_enforced = serializers.BooleanField(
        help_text=_("True: values past the maximum age are refused; false: only marked (warned).")
    )
    two_factor_required = serializers.BooleanField(
        required=False,
        help_text=_(
            "True: members need an authenticator app or a passkey to show or change credentials and"
            " members. Left out of a change: unchanged."
        ),
    )


class NewApiKeyCredentialOut(ApiKeyCredentialOut):
    values = serializers.DictField(
        child=serializers.CharField(), help_text=_("{primary, secondary}: shown only in this answer.")
    )


class SecretValueOut(serializers.Serializer):
    value = serializers.CharField(help_text=_("The value in clear: copy it now."))
    version = serializers.IntegerField(help_text=_("The credential's version after the change."))


class OAuthClientOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    client_id = serializers.CharField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    secret_hint = serializers.CharField()
    secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When the current secret stops working; null: never.")
    )
    scopes = ScopesField()
    rate_limit = rate_limit_field()
    allowed_networks = NetworksField()
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When a replaced secret in its grace period stops working.")
    )


class NewOAuthClientOut(OAuthClientOut):
    client_secret = serializers.CharField(help_text=_("Shown only in this answer."))


class RegenerateSecretIn(serializers.Serializer):
    grace_seconds = serializers.ChoiceField(
        choices=[seconds for seconds, _ in RegenerateSecretForm.GRACE_CHOICES],
        required=False,
        help_text=_("When the old secret stops working: 0 (now, the default), 3600, 86400 or 604800."),
    )
    revoke_tokens = serializers.BooleanField(
        required=False, help_text=_("Revoke every token issued so far (the default is true).")
    )
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text=_("When the new secret stops working, in the future; null or omitted: never."),
    )
    version = serializers.IntegerField(required=False, min_value=1)


class GraceEndedOut(serializers.Serializer):
    ended = serializers.BooleanField(
        help_text=_("False if no replaced secret was still in its grace period.")
    )
    version = serializers.IntegerField(help_text=_("The client's version after the change."))


class ServiceOut(serializers.Serializer):
    name = serializers.CharField(help_text=_("The service's name, a scope such as orders:read."))
    created_at = serializers.DateTimeField()


class ServiceIn(serializers.Serializer):
    name = serializers.CharField(max_length=64, help_text=_("A scope name such as orders:read."))


class UnlockIn(serializers.Serializer):
    address = serializers.IPAddressField(help_text=_("The address whose lock to lift."))


class UnlockOut(serializers.Serializer):
    unlocked = serializers.BooleanField(help_text=_("False if that address was not locked."))


class ActivityOut(serializers.Serializer):
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_name")
    action = serializers.ChoiceField(choices=Action.choices)
    target = serializers.CharField()
    source_address = serializers.IPAddressField(allow_null=True)
    occurrences = serializers.IntegerField()
    request_id = serializers.CharField()


class ActivityPage(serializers.Serializer):
    count = serializers.IntegerField(help_text=_("Rows matching the filters, on every page."))
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ActivityOut(many=True)
