"""The management API's JSON shapes. Input is validated by the portal's own forms (the same rules);
these serializers write the answers and document both in the OpenAPI document."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from credentials.forms import RegenerateSecretForm
from credentials.models import Slot
from groups.models import Action, Role


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


class ApiKeyCredentialOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    keys = KeyOut(many=True)


class NameIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)


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
    version = serializers.IntegerField(required=False, min_value=1)


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
