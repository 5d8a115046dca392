from django.contrib import admin
from django.contrib.auth.models import Group as PermissionGroup

from groups.models import Activity, Group, Membership

# django.contrib.auth's groups of permissions: the portal grants nothing through them (its groups
# are groups.Group, with roles), and a second "Groups" in the admin's index only misleads.
admin.site.unregister(PermissionGroup)

# Bulk deletion logs its LogEntry rows without a signal, so the audit trail would miss them
# (groups/audit.py): objects are deleted one at a time, each recorded.
admin.site.disable_action("delete_selected")


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ["user", "role"]
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    """Read-only: the activity log is a record, not something to edit."""

    list_display = ["created_at", "group", "actor_name", "action", "target", "source_address"]
    list_filter = ["action"]
    search_fields = ["group__name", "actor_name", "target"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
