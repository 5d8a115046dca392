import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import InvitedAccountForm
from accounts.sessions import recent_password_required
from accounts.submissions import once
from groups import export
from groups.access import group_for, group_for_owner, visible_groups
from groups.forms import AddMemberForm, ExportForm, GroupForm, PolicyForm, RoleForm, ServiceForm, seen_version
from groups.models import (
    EditConflict,
    Group,
    Invitation,
    InvitationUnusable,
    LastOwner,
    Membership,
    Role,
    Service,
)
from groups.responses import conflict
from portal.times import local_text

logger = logging.getLogger(__name__)

ACTIVITY_PAGE_SIZE = 25
# The session's note of the invitation being accepted: the digest of its link's token, never the token.
INVITATION = "invitation"

# How messages name an invitation's state (Invitation.state).
INVITATION_STATES = {
    "pending": gettext_lazy("pending"),
    "accepted": gettext_lazy("accepted"),
    "declined": gettext_lazy("declined"),
    "revoked": gettext_lazy("revoked"),
    "expired": gettext_lazy("expired"),
}


@login_required
def group_list(request):
    own_role = Membership.objects.filter(group=OuterRef("pk"), user=request.user).values("role")
    groups = visible_groups(request.user).annotate(
        member_count=Count("memberships", distinct=True), own_role=Subquery(own_role)
    )
    invitations = Invitation.objects.pending().addressed_to(request.user).select_related("group")
    return render(request, "groups/list.html", {"groups": groups, "invitations": invitations})


@login_required
@once
def group_new(request):
    if not request.user.is_staff:
        raise PermissionDenied(gettext("Only platform administrators (staff users) can create groups."))
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in ("name", "slug", "description")}
        group = Group.objects.create_with_owner(form.cleaned_data["owner"], **fields)
        messages.success(request, gettext("Group %(name)s created.") % {"name": group.name})
        return redirect(group)
    return render(request, "groups/new.html", {"form": form})


def _render_members(request, group, form, status=200):
    context = {
        "group": group,
        "memberships": group.memberships.select_related("user"),
        "invitations": group.invitations.pending() if group.can_manage_members else [],
        "roles": Role.choices,
        "form": form,
        "invitation_hours": settings.INVITATION_HOURS,
    }
    return render(request, "groups/members.html", context, status=status)


@login_required
def members(request, slug):
    group = group_for(request, slug)
    return _render_members(request, group, AddMemberForm(group=group))


@login_required
@recent_password_required
@require_POST
@once
def member_add(request, slug):
    """Invite an email address; or a username: staff add the account at once, an owner invites
    it, with the same answer whether or not the account exists."""
    group = group_for_owner(request, slug)
    form = AddMemberForm(request.POST, group=group, precise=request.user.is_staff)
    if not form.is_valid():
        return _render_members(request, group, form, status=400)
    role, user = form.cleaned_data["role"], form.cleaned_data["user"]
    label = Role(role).label.lower()
    if form.cleaned_data["email"]:
        return _invite(request, group, form.cleaned_data["email"], role)
    if user is not None:
        Membership.objects.add(group, user, role)
        messages.success(
            request, gettext("%(username)s added as %(role)s.") % {"username": user.username, "role": label}
        )
        return redirect("groups:members", group.slug)
    username = form.cleaned_data["username"]
    Invitation.objects.invite_username(group, username, role, request.user)
    messages.success(
        request,
        gettext(
            "Invitation made for the username %(username)s. If an account has that username, it can join"
            " as %(role)s from its Group List within %(hours)s hours."
        )
        % {"username": username, "role": label, "hours": settings.INVITATION_HOURS},
    )
    return redirect("groups:members", group.slug)


def _invite(request, group, email, role):
    """Invite `email` and mail the link; if the mail cannot be sent, no invitation is left."""
    try:
        with transaction.atomic():
            invitation, token = Invitation.objects.invite(group, email, role, request.user)
            path = f"{reverse('groups:invitation')}?{urlencode({'token': token})}"
            invitation.send(request.build_absolute_uri(path))
    except OSError as error:  # smtplib's errors, a refused connection, a timeout
        logger.warning("Invitation mail for group %s not sent: %s", group.slug, type(error).__name__)
        messages.error(
            request,
            gettext(
                "The invitation could not be mailed to %(email)s, so none was made. Try again later; if it"
                " keeps failing, a platform administrator should check the portal's mail settings."
            )
            % {"email": email},
        )
        return redirect("groups:members", group.slug)
    messages.success(
        request,
        gettext(
            "Invitation sent to %(email)s. Its link adds them as %(role)s and works once, until %(until)s."
        )
        % {
            "email": email,
            "role": Role(role).label.lower(),
            "until": local_text(invitation.expires_at),
        },
    )
    return redirect("groups:members", group.slug)


@login_required
@recent_password_required
@require_POST
@once
def invitation_revoke(request, slug, invitation_id):
    group = group_for_owner(request, slug)
    invitation = get_object_or_404(group.invitations, public_id=invitation_id)
    if invitation.revoke():
        if invitation.email:
            revoked = gettext("The invitation of %(invitee)s is revoked: its link no longer works.")
        else:
            revoked = gettext("The invitation of %(invitee)s is revoked: it can no longer be joined.")
        messages.success(request, revoked % {"invitee": invitation.invitee})
    else:
        already = gettext("The invitation of %(invitee)s was already %(state)s.")
        messages.error(
            request,
            already
            % {
                "invitee": invitation.invitee,
                "state": INVITATION_STATES.get(invitation.state, invitation.state),
            },
        )
    return redirect("groups:members", group.slug)


@never_cache
@require_GET
def invitation(request):
    """The page an invitation's link opens. The token moves from the address into the session, as
    its digest, at once: it is then in no later address, history entry or Referer."""
    if "token" in request.GET:
        request.session[INVITATION] = Invitation.digest_of(request.GET["token"]) or ""
        return redirect("groups:invitation")
    invitation = Invitation.objects.by_digest(request.session.get(INVITATION))
    if invitation is not None and invitation.state == "accepted" and invitation.accepted_by == request.user:
        return redirect(invitation.group)  # their own link again, after joining
    if invitation is None or invitation.state != "pending":
        return _unusable(request, invitation.state if invitation else "unknown")
    form = None
    if not request.user.is_authenticated and not invitation.email_has_account():
        form = InvitedAccountForm(invitation.email)
    context = {"invitation": invitation, "form": form, "member": invitation.has_member(request.user)}
    return render(request, "groups/invitation.html", context)


@login_required
@require_POST
@once
def invitation_join(request):
    """Accept the invitation as the signed-in user."""
    invitation = Invitation.objects.by_digest(request.session.get(INVITATION))
    if invitation is None:
        return _unusable(request, "unknown")
    if invitation.has_member(request.user):
        return redirect("groups:invitation")  # it says so, and leaves the link for its addressee
    return _accept(request, invitation, request.user)


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_POST
def invitation_account(request):
    """Make an account for the invited address and accept the invitation with it."""
    invitation = Invitation.objects.by_digest(request.session.get(INVITATION))
    if invitation is None or invitation.state != "pending":
        return _unusable(request, invitation.state if invitation else "unknown")
    if request.user.is_authenticated or invitation.email_has_account():
        return redirect("groups:invitation")  # they accept by joining as, or signing in to, that account
    form = InvitedAccountForm(invitation.email, request.POST)
    if not form.is_valid():
        context = {"invitation": invitation, "form": form}
        return render(request, "groups/invitation.html", context, status=400)
    return _accept(request, invitation, None, form)


def _accept(request, invitation, user, form=None):
    """Accept as `user`, or as the account `form` makes (then signed in): both or neither."""
    try:
        with transaction.atomic():
            user = user or form.save()
            membership, joined = invitation.accept(user)
    except InvitationUnusable as error:
        return _unusable(request, error.state)
    if not request.user.is_authenticated:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _joined(request, invitation.group, membership, joined)


def _joined(request, group, membership, joined):
    """Into the group just joined, saying with which role."""
    role = membership.get_role_display().lower()
    if joined:
        messages.success(
            request,
            gettext("Welcome to %(group)s: you joined as %(role)s.") % {"group": group.name, "role": role},
        )
    else:
        messages.info(
            request,
            gettext("You were a member of %(group)s already, as %(role)s: that stays.")
            % {"group": group.name, "role": role},
        )
    return redirect(group)


def _unusable(request, state):
    """A clear page for a link that does nothing (any more): 404 if it never did, else 410 Gone."""
    status = 404 if state == "unknown" else 410
    return render(request, "groups/invitation_unusable.html", {"state": state}, status=status)


def _invitation_to(request, invitation_id):
    """The username invitation addressed to the signed-in account, in any state; 404 for anyone
    else's, so that nobody learns of another's invitations."""
    invitations = Invitation.objects.addressed_to(request.user).select_related("group")
    return get_object_or_404(invitations, public_id=invitation_id)


@login_required
@require_POST
@once
def invitation_accept(request, invitation_id):
    """Join the group of an invitation to one's username, from the Group List."""
    invitation = _invitation_to(request, invitation_id)
    try:
        membership, joined = invitation.accept(request.user)
    except InvitationUnusable as error:
        return _no_longer_works(request, invitation, error)
    return _joined(request, invitation.group, membership, joined)


@login_required
@require_POST
@once
def invitation_decline(request, invitation_id):
    """Turn down an invitation to one's username, from the Group List."""
    invitation = _invitation_to(request, invitation_id)
    try:
        invitation.decline(request.user)
    except InvitationUnusable as error:
        return _no_longer_works(request, invitation, error)
    messages.success(
        request, gettext("You declined the invitation to %(group)s.") % {"group": invitation.group.name}
    )
    return redirect("groups:list")


def _no_longer_works(request, invitation, error):
    """Back to the Group List, which no longer shows it, saying why."""
    messages.error(
        request,
        gettext("The invitation to %(group)s is %(state)s: it no longer works.")
        % {"group": invitation.group.name, "state": INVITATION_STATES.get(error.state, error.state)},
    )
    return redirect("groups:list")


@login_required
@recent_password_required
@require_POST
@once
def member_role(request, slug, username):
    group = group_for_owner(request, slug)
    membership = get_object_or_404(group.memberships, user__username=username)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["role"]))
        return redirect("groups:members", group.slug)
    try:
        membership.change_role(form.cleaned_data["role"], seen_version(request), request.user)
    except EditConflict as error:
        return conflict(request, error, reverse("groups:members", args=[group.slug]))
    except LastOwner:
        messages.error(request, gettext("A group needs at least one owner."))
        return redirect("groups:members", group.slug)
    messages.success(
        request,
        gettext("%(username)s is now %(role)s.")
        % {"username": username, "role": membership.get_role_display().lower()},
    )
    return redirect("groups:members", group.slug)


@login_required
@recent_password_required
@once
def member_remove(request, slug, username):
    group = group_for_owner(request, slug)
    membership = get_object_or_404(group.memberships.select_related("user"), user__username=username)
    last_owner = gettext("A group needs at least one owner: add another owner first.")
    if request.method != "POST":  # the confirmation page, for browsers without the dialog
        with transaction.atomic():  # is_last_owner locks the group's row
            if membership.is_last_owner():
                messages.error(request, last_owner)
                return redirect("groups:members", group.slug)
        return render(request, "groups/member_remove.html", {"group": group, "membership": membership})
    try:
        membership.remove_as_seen(seen_version(request), request.user)
    except EditConflict as error:
        return conflict(request, error, reverse("groups:members", args=[group.slug]))
    except LastOwner:
        messages.error(request, last_owner)
        return redirect("groups:members", group.slug)
    messages.success(
        request, gettext("%(username)s removed from %(group)s.") % {"username": username, "group": group.name}
    )
    if membership.user == request.user and not request.user.is_staff:
        return redirect("groups:list")  # they can no longer see this group
    return redirect("groups:members", group.slug)


def _render_activity(request, group, form, status=200):
    page = Paginator(group.activities.all(), ACTIVITY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"group": group, "page": page, "export_form": form}
    return render(request, "groups/activity.html", context, status=status)


@login_required
def activity(request, slug):
    group = group_for(request, slug)
    return _render_activity(request, group, ExportForm())


@login_required
@require_GET
def activity_export(request, slug):
    """The group's Activity in a period as a CSV or JSON Lines download: what every member
    already sees on the tab."""
    group = group_for(request, slug)
    form = ExportForm(request.GET)
    if not form.is_valid():
        return _render_activity(request, group, form, status=400)
    chunks = export.stream(form.period(group.activities.all()), form.cleaned_data["format"])
    response = StreamingHttpResponse(
        chunks, content_type=export.FORMATS[form.cleaned_data["format"]].content_type
    )
    response["Content-Disposition"] = f'attachment; filename="{form.filename(group.slug)}"'
    response["Cache-Control"] = "no-store"
    return response


def _owners_only():
    return gettext("Only the group's owners can add or remove its services")


@login_required
def services(request, slug):
    """The group's services (the scopes its credentials may be limited to); owners add them here."""
    group = group_for(request, slug)
    return _render_services(request, group, ServiceForm())


def _render_services(request, group, form, status=200):
    context = {"group": group, "services": group.services.all(), "form": form}
    return render(request, "groups/services.html", context, status=status)


@login_required
@require_POST
@once
def service_add(request, slug):
    group = group_for_owner(request, slug, _owners_only(), "services")
    form = ServiceForm(request.POST)
    if not form.is_valid():
        return _render_services(request, group, form, status=400)
    name = form.cleaned_data["service"]
    if Service.objects.add(group, name, request.user):  # adding one twice changes nothing
        messages.success(request, gettext("Service %(name)s added.") % {"name": name})
    return redirect("groups:services", group.slug)


@login_required
@once
def service_remove(request, slug, service):
    """Remove a service: every credential limited to it loses it, in the same transaction."""
    group = group_for_owner(request, slug, _owners_only(), "services")
    service = get_object_or_404(group.services, name=service)
    if request.method != "POST":  # the confirmation page, for browsers without the dialog
        return render(request, "groups/service_remove.html", {"group": group, "service": service})
    if service.remove(request.user):
        messages.success(request, gettext("Service %(name)s removed.") % {"name": service.name})
    return redirect("groups:services", group.slug)


@login_required
@once
def policy(request, slug):
    """The group's policy: every member sees it; owners (and staff) change it on POST."""
    if request.method != "POST":
        group = group_for(request, slug)
        fields = ("max_credential_age_days", "max_age_enforced", "two_factor_required")
        initial = {field: getattr(group, field) for field in fields}
        return _render_policy(request, group, PolicyForm(initial=initial))
    group = group_for_owner(request, slug, gettext("Only the group's owners can change its policy"), "policy")
    form = PolicyForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_policy(request, group, form, status=400)
    days, enforced = form.cleaned_data["max_credential_age_days"], form.cleaned_data["max_age_enforced"]
    if group.set_policy(days, enforced, request.user, form.cleaned_data["two_factor_required"]):
        messages.success(request, gettext("Policy of %(name)s saved.") % {"name": group.name})
    return redirect("groups:policy", group.slug)


def _render_policy(request, group, form, status=200):
    return render(request, "groups/policy.html", {"group": group, "form": form}, status=status)
