"""The management REST API (/api/manage/v1/): groups, members, credentials and Activity for
scripts, with a personal access token (automation.authentication).

Every rule is the portal's own: the access helpers of groups.access by user (404 for
non-members, 403 for viewers), the portal's forms for input, and the model methods that record
Activity, whose actor and address come from the request as on the pages. A change takes an
optional `version` (in the body, or an If-Match header): given, the change happens only if the
object is still at that version (else 409 conflict); omitted, the current version is used.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.db.models import Prefetch
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from automation import serializers as shapes
from automation.authentication import INVALID_TOKEN, PersonalAccessTokenAuthentication, TokenScope
from automation.forms import ActivityFilterForm, ExpiresAtForm
from credentials.api.base import ApiError, error_response
from credentials.api.base import exception_handler as api_exception_handler
from credentials.authentication import NO_STORE
from credentials.forms import (
    CredentialNameForm,
    NetworksForm,
    RateLimitForm,
    RegenerateSecretForm,
    ScopesForm,
    UnlockForm,
)
from credentials.models import ApiKey, ApiKeyCredential, ClientSecret, OAuthClient
from groups.access import owned_group, readable_group, visible_groups, writable_group
from groups.forms import AddMemberForm, GroupForm, PolicyForm, RoleForm, ServiceForm
from groups.models import EditConflict, Group, Invitation, LastOwner, Membership, Service

# The operations' tag, named with the same text as SPECTACULAR_SETTINGS["TAGS"].
TAG = _("Management API")


def exception_handler(exc, context):
    """The API's error shape {"error", "error_description"} for every refusal, never cached."""
    if isinstance(exc, ApiError):
        return error_response(exc)
    if isinstance(exc, EditConflict):
        return error_response(ApiError("conflict", exc.message, status=409))
    if isinstance(exc, LastOwner):
        return error_response(ApiError("last_owner", "A group needs at least one owner.", status=409))
    response = api_exception_handler(exc, context)
    if response is not None and response.status_code == 401:
        challenge = {"WWW-Authenticate": response["WWW-Authenticate"]}
        return error_response(ApiError("invalid_token", INVALID_TOKEN["error_description"], 401, challenge))
    return response


def _valid(form, as_sent=None):
    """The form's cleaned data, or 400 naming each field's first error (by the name the API uses
    for it, `as_sent` mapping the form's names that differ)."""
    if not form.is_valid():
        errors = form.errors.get_json_data()
        named = {
            (as_sent or {}).get(field, field): problems[0]["message"] for field, problems in errors.items()
        }
        described = "; ".join(f"{field}: {message}" for field, message in named.items())
        raise ApiError("invalid_request", described)
    return form.cleaned_data


def _data(request):
    if not isinstance(request.data, dict):
        raise ApiError("invalid_request", "Send a JSON object or form fields.")
    return request.data


def _required(request, name, meaning, empty="null"):
    """The body, which must name `name`: a change that left it out by mistake would clear it."""
    data = _data(request)
    if name not in data:
        raise ApiError("invalid_request", f"{name}: This field is required ({empty} for {meaning}).")
    return data


def _expires_at(data):
    """`expires_at`: a future time, or None (null or omitted) for never."""
    return _valid(ExpiresAtForm(data))["expires_at"]


def _scopes(data, group):
    """`scopes`: a list of the group's services, or None (null or omitted) for all of them,
    checked by the portal's form."""
    if "scopes" not in data:
        return None
    value = data.getlist("scopes") if isinstance(data, QueryDict) else data["scopes"]
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ApiError(
            "invalid_request", "scopes: Send a list of the group's service names, or null for all."
        )
    names = list(group.services.values_list("name", flat=True))
    if value and not names:
        raise ApiError("invalid_request", "scopes: The group has no services yet: add them first.")
    form = ScopesForm({"all_services": False, "services": value}, services=names)
    return _valid(form, {"services": "scopes"})["scopes"]


def _rate_limit(data):
    """`rate_limit`: requests per minute, or None (null or omitted) for no limit."""
    return _valid(RateLimitForm({"rate_limit": data.get("rate_limit")}))["rate_limit"]


def _networks(data):
    """`allowed_networks`: a list of address ranges ([] or omitted: any address), or as form fields
    the portal's text, checked by the portal's form. The stored text, or None for any address."""
    if "allowed_networks" not in data:
        return None
    if isinstance(data, QueryDict):
        text = " ".join(data.getlist("allowed_networks"))
    else:
        ranges = data["allowed_networks"]
        # A blank item would vanish from the list, and an empty list allows any address.
        if not isinstance(ranges, list) or not all(isinstance(item, str) and item.strip() for item in ranges):
            raise ApiError(
                "invalid_request",
                "allowed_networks: Send a list of address ranges such as 192.0.2.0/24, or [] for any "
                "address.",
            )
        text = " ".join(ranges)
    return _valid(NetworksForm({"allowed_networks": text}))["allowed_networks"]


def _flag(data, name):
    """A boolean field: true or false in JSON, the same words as form fields."""
    value = data[name]
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        raise ApiError("invalid_request", f"{name}: Send true or false.")
    return value


def _new_credential(request, group, existing):
    """A new credential's name, expiry, services, rate limit and allowed networks, each checked by the
    portal's forms."""
    data = _data(request)
    name = _valid(CredentialNameForm({"name": data.get("name")}, existing=existing))["name"]
    return {
        "name": name,
        "expires_at": _expires_at(data),
        "scopes": _scopes(data, group),
        "rate_limit": _rate_limit(data),
        "allowed_networks": _networks(data),
    }


def _version(request, obj):
    """The version the caller saw: `version` in the body, else If-Match, else the current one."""
    data = _data(request)
    given = data["version"] if "version" in data else request.headers.get("If-Match", "")
    if isinstance(given, str):
        given = given.strip().removeprefix("W/").strip('"')
    if given in (None, ""):
        return obj.version
    try:
        version = int(given)
    except (TypeError, ValueError):
        version = 0
    if version < 1 or isinstance(given, bool):
        raise ApiError("invalid_request", "version: Send the version as a positive integer.")
    return version


class JsonBody(JSONParser):
    """DRF's JSON parser, with nesting too deep for Python's parser a 400 like any other bad JSON
    (it raises RecursionError, which DRF does not catch)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class ManageView(APIView):
    """A management API view: a personal access token, JSON (or form fields) in, JSON out."""

    authentication_classes = [PersonalAccessTokenAuthentication]
    permission_classes = [TokenScope]
    parser_classes = [JsonBody, FormParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for name, value in NO_STORE.items():  # answers carry secrets, and are one user's view
            response[name] = value
        return response


def _errors(*codes):
    return {code: OpenApiResponse(shapes.Error) for code in codes}


READ = _errors(401, 404)
WRITE = _errors(400, 401, 403, 404, 409)


def _group_out(group):
    return {
        **{f: getattr(group, f) for f in ("slug", "name", "description", "created_at", "suspended_at")},
        "role": group.role,
    }


def _api_keys(group):
    return group.api_key_credentials.prefetch_related(
        Prefetch("keys", queryset=ApiKey.objects.order_by("slot"))
    )


def _api_key_out(credential):
    return shapes.ApiKeyCredentialOut(credential).data


def _oauth_clients(group):
    secrets = Prefetch("secrets", queryset=ClientSecret.objects.order_by("-created_at", "-id"))
    return group.oauth_clients.prefetch_related(secrets)


# What an OAuth client's answer takes from the model as it is.
CLIENT_FIELDS = ("name", "client_id", "version", "created_at", "scopes", "rate_limit", "allowed_networks")


def _client_out(client):
    old, current = client.old_secrets(), client.current_secret()
    return {
        **{field: getattr(client, field) for field in CLIENT_FIELDS},
        "id": client.public_id,
        "secret_hint": current.hint if current else "",  # none once an expired secret is purged
        "secret_expires_at": current.expires_at if current else None,
        "previous_secret_expires_at": max((secret.expires_at for secret in old), default=None),
    }


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("List the groups you may see"),
        description=_("Every group for staff; else the groups you are a member of, each with your role."),
        responses={200: shapes.GroupOut(many=True), **READ},
    ),
    post=extend_schema(
        tags=[TAG],
        summary=_("Create a group (staff)"),
        description=_("Only staff. The slug comes from the name when omitted; owner names its first owner."),
        request=shapes.GroupIn,
        responses={201: shapes.GroupOut, **WRITE},
    ),
)
class GroupList(ManageView):
    def get(self, request):
        groups = visible_groups(request.user)
        roles = dict(Membership.objects.filter(user=request.user).values_list("group_id", "role"))
        for group in groups:
            group.role = "owner" if request.user.is_staff else roles[group.pk]
        return Response(shapes.GroupOut([_group_out(group) for group in groups], many=True).data)

    def post(self, request):
        if not request.user.is_staff:
            raise PermissionDenied("Only platform administrators (staff users) can create groups.")
        data = _valid(GroupForm(_data(request)))
        fields = {name: data[name] for name in ("name", "slug", "description")}
        group = Group.objects.create_with_owner(data["owner"], **fields)
        group.role = "owner"
        return Response(shapes.GroupOut(_group_out(group)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("Read a group"),
        description=_("A group you may see, with your role in it; 404 for anyone else."),
        responses={200: shapes.GroupOut, **READ},
    )
)
class GroupDetail(ManageView):
    def get(self, request, slug):
        return Response(shapes.GroupOut(_group_out(readable_group(request.user, slug))).data)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("List a group's members"),
        description=_("Every member may see the others, with their roles and versions."),
        responses={200: shapes.MemberOut(many=True), **READ},
    ),
    post=extend_schema(
        tags=[TAG],
        summary=_("Add a member (owners)"),
        description=_(
            "Staff add an existing account at once (201). An owner's username becomes an "
            "invitation that the account accepts from its Group List (202), with the same answer "
            "whether or not such an account exists, as on the portal's Members tab."
        ),
        request=shapes.MemberIn,
        responses={201: shapes.MemberOut, 202: shapes.InvitationOut, **WRITE},
    ),
)
class MemberList(ManageView):
    def get(self, request, slug):
        group = readable_group(request.user, slug)
        return Response(shapes.MemberOut(group.memberships.select_related("user"), many=True).data)

    def post(self, request, slug):
        group = owned_group(request.user, slug)
        data = _valid(AddMemberForm(_data(request), group=group, precise=request.user.is_staff))
        if data["email"]:
            raise ApiError(
                "invalid_request", "username: Invite email addresses from the portal's Members tab."
            )
        if data["user"] is not None:
            membership = Membership.objects.add(group, data["user"], data["role"])
            return Response(shapes.MemberOut(membership).data, status=status.HTTP_201_CREATED)
        invitation = Invitation.objects.invite_username(group, data["username"], data["role"], request.user)
        body = {"invited": invitation.username, "role": invitation.role, "expires_at": invitation.expires_at}
        return Response(shapes.InvitationOut(body).data, status=status.HTTP_202_ACCEPTED)


def _membership(group, username):
    return get_object_or_404(group.memberships.select_related("user"), user__username=username)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("Read a member"),
        description=_("One member of the group, with the role and the version to send back."),
        responses={200: shapes.MemberOut, **READ},
    ),
    patch=extend_schema(
        tags=[TAG],
        summary=_("Change a member's role (owners)"),
        description=_("As on the Members tab: the group keeps at least one owner (else 409 last_owner)."),
        request=shapes.RoleIn,
        responses={200: shapes.MemberOut, **WRITE},
    ),
    delete=extend_schema(
        tags=[TAG],
        summary=_("Remove a member (owners)"),
        description=_("As on the Members tab: the group keeps at least one owner (else 409 last_owner)."),
        request=shapes.VersionIn,
        responses={204: None, **WRITE},
    ),
)
class MemberDetail(ManageView):
    def get(self, request, slug, username):
        return Response(shapes.MemberOut(_membership(readable_group(request.user, slug), username)).data)

    def patch(self, request, slug, username):
        membership = _membership(owned_group(request.user, slug), username)
        role = _valid(RoleForm(_data(request)))["role"]
        membership.change_role(role, _version(request, membership), request.user)
        return Response(shapes.MemberOut(membership).data)

    def delete(self, request, slug, username):
        membership = _membership(owned_group(request.user, slug), username)
        membership.remove_as_seen(_version(request, membership), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("List a group's API key credentials"),
        description=_("Names, versions and each key's hint and last use; never the values."),
        responses={200: shapes.ApiKeyCredentialOut(many=True), **READ},
    ),
    post=extend_schema(
        tags=[TAG],
        summary=_("Create an API key credential (owners, admins)"),
        description=_(
            "Optionally with an expiry, the services it may use and a rate limit (each null or "
            "omitted: none). The answer holds both keys in clear, once."
        ),
        request=shapes.CredentialIn,
        responses={201: shapes.NewApiKeyCredentialOut, **WRITE},
    ),
)
class ApiKeyList(ManageView):
    def get(self, request, slug):
        group = readable_group(request.user, slug)
        return Response(shapes.ApiKeyCredentialOut(_api_keys(group), many=True).data)

    def post(self, request, slug):
        group = writable_group(request.user, slug)
        new = _new_credential(request, group, group.api_key_credentials)
        try:
            credential, values = ApiKeyCredential.create_with_keys(group, created_by=request.user, **new)
        except IntegrityError:  # the same name, created at the same moment by someone else
            raise ApiError("conflict", str(CredentialNameForm.NAME_TAKEN), status=409) from None
        body = {**_api_key_out(_api_keys(group).get(pk=credential.pk)), "values": values}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("Read an API key credential"),
        description=_("Its name, version and each key's hint and last use; never the values."),
        responses={200: shapes.ApiKeyCredentialOut, **READ},
    ),
    delete=extend_schema(
        tags=[TAG],
        summary=_("Delete an API key credential (owners, admins)"),
        description=_("Both of its keys stop working at once."),
        request=shapes.VersionIn,
        responses={204: None, **WRITE},
    ),
)
class ApiKeyDetail(ManageView):
    def get(self, request, slug, public_id):
        group = readable_group(request.user, slug)
        return Response(_api_key_out(get_object_or_404(_api_keys(group), public_id=public_id)))

    def delete(self, request, slug, public_id):
        group = writable_group(request.user, slug)
        credential = get_object_or_404(group.api_key_credentials, public_id=public_id)
        credential.delete_as_seen(_version(request, credential), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Regenerate one key of an API key credential (owners, admins)"),
        description=_(
            "Only that slot's key is replaced; the old value stops working at once. The "
            "answer holds the new value, once."
        ),
        request=shapes.VersionIn,
        responses={200: shapes.SecretValueOut, **WRITE},
    )
)
class ApiKeyRegenerate(ManageView):
    def post(self, request, slug, public_id, slot):
        group = writable_group(request.user, slug)
        credential = get_object_or_404(group.api_key_credentials, public_id=public_id)
        value = credential.regenerate(slot, _version(request, credential), request.user)
        return Response(shapes.SecretValueOut({"value": value, "version": credential.version}).data)


def _require_show_enabled():
    if not settings.CREDENTIALS_SHOW:
        raise PermissionDenied("Show is turned off on this portal: regenerate the value instead.")


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Reveal one key of an API key credential (owners, admins)"),
        description=_(
            "As Show on the portal: recorded in Activity, and refused (403) when the portal "
            "runs with CREDENTIALS_SHOW=false."
        ),
        request=None,
        responses={200: shapes.SecretValueOut, **WRITE},
    )
)
class ApiKeyReveal(ManageView):
    def post(self, request, slug, public_id, slot):
        group = writable_group(request.user, slug)
        _require_show_enabled()
        credential = get_object_or_404(_api_keys(group), public_id=public_id)
        value = credential.reveal(slot)
        return Response(shapes.SecretValueOut({"value": value, "version": credential.version}).data)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("List a group's OAuth clients"),
        description=_("Names, Client IDs, versions and the secret's hint; never the secret."),
        responses={200: shapes.OAuthClientOut(many=True), **READ},
    ),
    post=extend_schema(
        tags=[TAG],
        summary=_("Create an OAuth client (owners, admins)"),
        description=_(
            "Optionally with its secret's expiry, the services its tokens may use and a rate "
            "limit (each null or omitted: none). The answer holds the client secret in clear, once."
        ),
        request=shapes.CredentialIn,
        responses={201: shapes.NewOAuthClientOut, **WRITE},
    ),
)
class OAuthClientList(ManageView):
    def get(self, request, slug):
        group = readable_group(request.user, slug)
        return Response(
            shapes.OAuthClientOut([_client_out(c) for c in _oauth_clients(group)], many=True).data
        )

    def post(self, request, slug):
        group = writable_group(request.user, slug)
        new = _new_credential(request, group, group.oauth_clients)
        try:
            client, secret = OAuthClient.create_with_secret(group, created_by=request.user, **new)
        except IntegrityError:
            raise ApiError("conflict", str(CredentialNameForm.NAME_TAKEN), status=409) from None
        body = {**_client_out(_oauth_clients(group).get(pk=client.pk)), "client_secret": secret}
        return Response(shapes.NewOAuthClientOut(body).data, status=status.HTTP_201_CREATED)


def _client(group, public_id):
    return get_object_or_404(_oauth_clients(group), public_id=public_id)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("Read an OAuth client"),
        description=_("Its name, Client ID, version and the secret's hint; never the secret."),
        responses={200: shapes.OAuthClientOut, **READ},
    ),
    delete=extend_schema(
        tags=[TAG],
        summary=_("Delete an OAuth client (owners, admins)"),
        description=_("Its Client ID and secret stop working at once and all its tokens are revoked."),
        request=shapes.VersionIn,
        responses={204: None, **WRITE},
    ),
)
class OAuthClientDetail(ManageView):
    def get(self, request, slug, public_id):
        return Response(
            shapes.OAuthClientOut(_client_out(_client(readable_group(request.user, slug), public_id))).data
        )

    def delete(self, request, slug, public_id):
        client = _client(writable_group(request.user, slug), public_id)
        client.delete_as_seen(_version(request, client), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Regenerate an OAuth client's secret (owners, admins)"),
        description=_(
            "The old secret stops working now or after grace_seconds (3600, 86400 or "
            "604800); tokens issued so far are revoked unless revoke_tokens is false. The new secret "
            "expires at expires_at (null or omitted: never). The answer holds the new secret, once."
        ),
        request=shapes.RegenerateSecretIn,
        responses={200: shapes.SecretValueOut, **WRITE},
    )
)
class OAuthSecretRegenerate(ManageView):
    def post(self, request, slug, public_id):
        client = _client(writable_group(request.user, slug), public_id)
        data = dict(_data(request).items())
        data.setdefault("grace_seconds", 0)
        # Absent means revoke, as the portal's dialog proposes; a form's unticked box is absent there.
        revoke = data.get("revoke_tokens", True)
        data["revoke_tokens"] = "" if revoke in (False, "false", "False", "0", "off", "") else "on"
        # The portal form's own expiry fields (a choice of days) are not the API's: expires_at is.
        form = _valid(
            RegenerateSecretForm({k: v for k, v in data.items() if k not in ("expires", "expires_on")})
        )
        grace, revoke, expires_at = form["grace_seconds"], form["revoke_tokens"], _expires_at(data)
        value = client.regenerate_secret(_version(request, client), request.user, grace, revoke, expires_at)
        return Response(shapes.SecretValueOut({"value": value, "version": client.version}).data)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Unlock an OAuth client for an address (owners, admins)"),
        description=_("Lifts the lockout after failed client authentications from that address."),
        request=shapes.UnlockIn,
        responses={200: shapes.UnlockOut, **WRITE},
    )
)
class OAuthClientUnlock(ManageView):
    def post(self, request, slug, public_id):
        client = get_object_or_404(writable_group(request.user, slug).oauth_clients, public_id=public_id)
        address = _valid(UnlockForm(_data(request)))["address"]
        if not address:
            raise ApiError("invalid_request", "address: This field is required.")
        return Response(shapes.UnlockOut({"unlocked": client.unlock(address)}).data)


class ActivityPages(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("Read a group's Activity"),
        description=_(
            "Newest first, 100 a page (page_size up to 1000). since and until take a day "
            "(YYYY-MM-DD, counted whole) or a time (UTC unless it carries an offset)."
        ),
        parameters=[
            OpenApiParameter("since", str, description=_("From this day or time.")),
            OpenApiParameter("until", str, description=_("Up to this day or time.")),
            OpenApiParameter("action", str, description=_("Only this action, e.g. api_key.regenerated.")),
        ],
        responses={200: shapes.ActivityPage, **_errors(400, 401, 404)},
    )
)
class ActivityList(ManageView):
    pagination_class = ActivityPages

    def get(self, request, slug):
        group = readable_group(request.user, slug)
        form = ActivityFilterForm(request.query_params)
        _valid(form)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(form.filter(group.activities.all()), request, view=self)
        return paginator.get_paginated_response(shapes.ActivityOut(page, many=True).data)


def _suspension_rule():
    """What a 403 on Suspend or Resume says, as on the portal (staff act as owners)."""
    return gettext("Only the group's owners can suspend or resume it")


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Suspend a group (owners)"),
        description=_(
            "As Suspend on the portal: every credential of the group is refused and every token "
            "revoked. Suspending a suspended group changes nothing."
        ),
        request=None,
        responses={200: shapes.GroupOut, **_errors(401, 403, 404)},
    )
)
class GroupSuspend(ManageView):
    def post(self, request, slug):
        group = owned_group(request.user, slug, _suspension_rule(), "suspension")
        group.suspend(request.user)
        return Response(shapes.GroupOut(_group_out(group)).data)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Resume a group (owners)"),
        description=_(
            "As Resume on the portal: its API keys and client secrets work again; the tokens "
            "revoked by the suspension stay revoked. Resuming a group that is not suspended changes nothing."
        ),
        request=None,
        responses={200: shapes.GroupOut, **_errors(401, 403, 404)},
    )
)
class GroupResume(ManageView):
    def post(self, request, slug):
        group = owned_group(request.user, slug, _suspension_rule(), "suspension")
        group.resume(request.user)
        return Response(shapes.GroupOut(_group_out(group)).data)


def _services_rule():
    return gettext("Only the group's owners can add or remove its services")


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("List a group's services"),
        description=_("The scopes its credentials may be limited to; every member may see them."),
        responses={200: shapes.ServiceOut(many=True), **READ},
    ),
    post=extend_schema(
        tags=[TAG],
        summary=_("Add a service (owners)"),
        description=_("201 when it is new; 200, and nothing changed, when the group has it already."),
        request=shapes.ServiceIn,
        responses={200: shapes.ServiceOut, 201: shapes.ServiceOut, **_errors(400, 401, 403, 404)},
    ),
)
class ServiceList(ManageView):
    def get(self, request, slug):
        group = readable_group(request.user, slug)
        return Response(shapes.ServiceOut(group.services.all(), many=True).data)

    def post(self, request, slug):
        group = owned_group(request.user, slug, _services_rule(), "services")
        form = ServiceForm({"service": _data(request).get("name")})
        name = _valid(form, {"service": "name"})["service"]
        created = Service.objects.add(group, name, request.user)
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(shapes.ServiceOut(group.services.get(name=name)).data, status=answer)


@extend_schema_view(
    delete=extend_schema(
        tags=[TAG],
        summary=_("Remove a service (owners)"),
        description=_("Every credential and token limited to it loses it, in the same transaction."),
        request=None,
        responses={204: None, **_errors(401, 403, 404)},
    )
)
class ServiceDetail(ManageView):
    def delete(self, request, slug, service):
        group = owned_group(request.user, slug, _services_rule(), "services")
        get_object_or_404(group.services, name=service).remove(request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _policy_rule():
    """What a 403 on the policy says, as on the Policy tab (staff act as owners)."""
    return gettext("Only the group's owners can change its policy")


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("Read a group's policy"),
        description=_("Its maximum credential age, and whether it is enforced; every member may read it."),
        responses={200: shapes.Policy, **READ},
    ),
    put=extend_schema(
        tags=[TAG],
        summary=_("Set a group's policy (owners)"),
        description=_(
            "As on the Policy tab, the age fields at once. Enforced, keys and client secrets past the "
            "maximum age are refused within seconds on every server until they are regenerated; "
            "warned, they are only marked. two_factor_required, when sent, sets whether members "
            "need a second factor to show or change credentials and members. Saving the same policy "
            "changes nothing."
        ),
        request=shapes.Policy,
        responses={200: shapes.Policy, **_errors(400, 401, 403, 404)},
    ),
)
class GroupPolicy(ManageView):
    def get(self, request, slug):
        return Response(shapes.Policy(readable_group(request.user, slug)).data)

    def put(self, request, slug):
        group = owned_group(request.user, slug, _policy_rule(), "policy")
        data = _required(request, "max_credential_age_days", "no maximum")
        _required(request, "max_age_enforced", "warned only", "false")
        fields = {"max_credential_age_days": data["max_credential_age_days"]}
        fields["max_age_enforced"] = _flag(data, "max_age_enforced")
        # Optional: left out, the requirement stays as it is.
        two_factor = _flag(data, "two_factor_required") if "two_factor_required" in data else None
        fields["two_factor_required"] = bool(two_factor)
        policy = _valid(PolicyForm(fields, user=request.user))
        group.set_policy(
            policy["max_credential_age_days"], policy["max_age_enforced"], request.user, two_factor
        )
        return Response(shapes.Policy(group).data)


def _writable_api_key(request, slug, public_id):
    group = writable_group(request.user, slug)
    return group, get_object_or_404(group.api_key_credentials, public_id=public_id)


def _api_key_after(group, credential):
    return Response(_api_key_out(_api_keys(group).get(pk=credential.pk)))


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Set when an API key credential expires (owners, admins)"),
        description=_("Both keys are refused from expires_at on, as a wrong key is; null: never."),
        request=shapes.ExpiryIn,
        responses={200: shapes.ApiKeyCredentialOut, **WRITE},
    )
)
class ApiKeyExpiry(ManageView):
    def post(self, request, slug, public_id):
        group, credential = _writable_api_key(request, slug, public_id)
        expires_at = _expires_at(_required(request, "expires_at", "never"))
        credential.set_expiry(expires_at, _version(request, credential), request.user)
        return _api_key_after(group, credential)


SCOPES_DESCRIPTION = _(
    "A list of the group's services, or null for every one of them, those added later included."
)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Set the services an API key credential may use (owners, admins)"),
        description=SCOPES_DESCRIPTION,
        request=shapes.ScopesIn,
        responses={200: shapes.ApiKeyCredentialOut, **WRITE},
    )
)
class ApiKeyScopes(ManageView):
    def post(self, request, slug, public_id):
        group, credential = _writable_api_key(request, slug, public_id)
        scopes = _scopes(_required(request, "scopes", "all services"), group)
        credential.set_scopes(scopes, _version(request, credential), request.user)
        return _api_key_after(group, credential)


RATE_LIMIT_DESCRIPTION = _(
    "Requests per minute over all its keys or tokens together, or null for no limit; every server "
    "applies it within seconds."
)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Set an API key credential's rate limit (owners, admins)"),
        description=RATE_LIMIT_DESCRIPTION,
        request=shapes.RateLimitIn,
        responses={200: shapes.ApiKeyCredentialOut, **WRITE},
    )
)
class ApiKeyRateLimit(ManageView):
    def post(self, request, slug, public_id):
        group, credential = _writable_api_key(request, slug, public_id)
        rate_limit = _rate_limit(_required(request, "rate_limit", "no limit"))
        credential.set_rate_limit(rate_limit, _version(request, credential), request.user)
        return _api_key_after(group, credential)


def _client_after(group, client):
    return Response(shapes.OAuthClientOut(_client_out(_client(group, client.public_id))).data)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Set the services an OAuth client's tokens may use (owners, admins)"),
        description=SCOPES_DESCRIPTION,
        request=shapes.ScopesIn,
        responses={200: shapes.OAuthClientOut, **WRITE},
    )
)
class OAuthClientScopes(ManageView):
    def post(self, request, slug, public_id):
        group = writable_group(request.user, slug)
        client = _client(group, public_id)
        scopes = _scopes(_required(request, "scopes", "all services"), group)
        client.set_scopes(scopes, _version(request, client), request.user)
        return _client_after(group, client)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("Set an OAuth client's rate limit (owners, admins)"),
        description=RATE_LIMIT_DESCRIPTION,
        request=shapes.RateLimitIn,
        responses={200: shapes.OAuthClientOut, **WRITE},
    )
)
class OAuthClientRateLimit(ManageView):
    def post(self, request, slug, public_id):
        group = writable_group(request.user, slug)
        client = _client(group, public_id)
        rate_limit = _rate_limit(_required(request, "rate_limit", "no limit"))
        client.set_rate_limit(rate_limit, _version(request, client), request.user)
        return _client_after(group, client)


NETWORKS_DESCRIPTION = _(
    "The address ranges (CIDR, IPv4 or IPv6) it may be used from, replacing the list; [] allows any "
    "address. Requests from elsewhere are refused and counted; every server applies it within seconds."
)


def _networks_after(request, credential):
    """Set `credential`'s allowed networks from the body, with the portal's method (version check
    and Activity); the answer is the new list and version."""
    allowed = _networks(_required(request, "allowed_networks", "any address", "[]"))
    credential.set_allowed_networks(allowed, _version(request, credential), request.user)
    return Response(shapes.NetworksOut(credential).data)


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("Read an API key credential's allowed networks"),
        description=_(
            "Where its keys may be used from; every member may read them, as on the Authentication "
            "Information tab. []: any address."
        ),
        responses={200: shapes.NetworksOut, **READ},
    ),
    put=extend_schema(
        tags=[TAG],
        summary=_("Set an API key credential's allowed networks (owners, admins)"),
        description=NETWORKS_DESCRIPTION,
        request=shapes.NetworksIn,
        responses={200: shapes.NetworksOut, **WRITE},
    ),
)
class ApiKeyNetworks(ManageView):
    def get(self, request, slug, public_id):
        group = readable_group(request.user, slug)
        credential = get_object_or_404(group.api_key_credentials, public_id=public_id)
        return Response(shapes.NetworksOut(credential).data)

    def put(self, request, slug, public_id):
        return _networks_after(request, _writable_api_key(request, slug, public_id)[1])


@extend_schema_view(
    get=extend_schema(
        tags=[TAG],
        summary=_("Read an OAuth client's allowed networks"),
        description=_(
            "Where its Client Secret and tokens may be used from; every member may read them, as on "
            "the Authentication Information tab. []: any address."
        ),
        responses={200: shapes.NetworksOut, **READ},
    ),
    put=extend_schema(
        tags=[TAG],
        summary=_("Set an OAuth client's allowed networks (owners, admins)"),
        description=NETWORKS_DESCRIPTION,
        request=shapes.NetworksIn,
        responses={200: shapes.NetworksOut, **WRITE},
    ),
)
class OAuthClientNetworks(ManageView):
    def get(self, request, slug, public_id):
        client = get_object_or_404(readable_group(request.user, slug).oauth_clients, public_id=public_id)
        return Response(shapes.NetworksOut(client).data)

    def put(self, request, slug, public_id):
        client = get_object_or_404(writable_group(request.user, slug).oauth_clients, public_id=public_id)
        return _networks_after(request, client)


@extend_schema_view(
    post=extend_schema(
        tags=[TAG],
        summary=_("End an OAuth client's grace period now (owners, admins)"),
        description=_("The replaced secrets still in their grace period are refused from now on."),
        request=shapes.VersionIn,
        responses={200: shapes.GraceEndedOut, **WRITE},
    )
)
class OAuthGraceEnd(ManageView):
    def post(self, request, slug, public_id):
        client = _client(writable_group(request.user, slug), public_id)
        ended = client.end_grace(_version(request, client), request.user)
        return Response(shapes.GraceEndedOut({"ended": bool(ended), "version": client.version}).data)
