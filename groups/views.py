from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.sessions import recent_password_required
from accounts.submissions import once
from groups import export
from groups.access import group_for, group_for_owner, visible_groups
from groups.forms import AddMemberForm, ExportForm, GroupForm, RoleForm, seen_version
from groups.models import EditConflict, Group, Membership, Role
from groups.responses import conflict

ACTIVITY_PAGE_SIZE = 25


@login_required
def group_list(request):
    own_role = Membership.objects.filter(group=OuterRef("pk"), user=request.user).values("role")
    groups = visible_groups(request.user).annotate(
        member_count=Count("memberships", distinct=True), own_role=Subquery(own_role)
    )
    return render(request, "groups/list.html", {"groups": groups})


@login_required
@once
def group_new(request):
    if not request.user.is_staff:
        raise PermissionDenied("Only platform administrators (staff users) can create groups.")
    form = GroupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in ("name", "slug", "description")}
        group = Group.objects.create_with_owner(form.cleaned_data["owner"], **fields)
        messages.success(request, f"Group {group.name} created.")
        return redirect(group)
    return render(request, "groups/new.html", {"form": form})


def _render_members(request, group, form, status=200):
    context = {
        "group": group,
        "memberships": group.memberships.select_related("user"),
        "roles": Role.choices,
        "form": form,
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
    group = group_for_owner(request, slug)
    form = AddMemberForm(request.POST, group=group)
    if not form.is_valid():
        return _render_members(request, group, form, status=400)
    user, role = form.cleaned_data["username"], form.cleaned_data["role"]
    Membership.objects.add(group, user, role)
    messages.success(request, f"{user.username} added as {Role(role).label.lower()}.")
    return redirect("groups:members", group.slug)


@login_required
@recent_password_required
@require_POST
@once
def member_role(request, slug, username):
    group = group_for_owner(request, slug)
    membership = get_object_or_404(group.memberships, user__username=username)
    form = RoleForm(request.POST, instance=membership)
    try:
        with transaction.atomic():  # the claim locks the member's row, the last-owner check the group's
            membership.claim(seen_version(request), request.user)
            if not form.is_valid():
                transaction.set_rollback(True)  # the claim too: nothing changed
                messages.error(request, " ".join(form.errors["role"]))
                return redirect("groups:members", group.slug)
            membership.set_role(form.cleaned_data["role"])
    except EditConflict as error:
        return conflict(request, error, reverse("groups:members", args=[group.slug]))
    messages.success(request, f"{username} is now {membership.get_role_display().lower()}.")
    return redirect("groups:members", group.slug)


@login_required
@recent_password_required
@once
def member_remove(request, slug, username):
    group = group_for_owner(request, slug)
    membership = get_object_or_404(group.memberships.select_related("user"), user__username=username)
    try:
        with transaction.atomic():  # the claim locks the member's row, the last-owner check the group's
            if request.method == "POST":
                membership.claim(seen_version(request), request.user)
            if membership.is_last_owner():
                transaction.set_rollback(True)  # the claim too: nothing changed
                messages.error(request, "A group needs at least one owner: add another owner first.")
                return redirect("groups:members", group.slug)
            if request.method != "POST":
                return render(
                    request, "groups/member_remove.html", {"group": group, "membership": membership}
                )
            membership.remove()
    except EditConflict as error:
        return conflict(request, error, reverse("groups:members", args=[group.slug]))
    messages.success(request, f"{username} removed from {group.name}.")
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
