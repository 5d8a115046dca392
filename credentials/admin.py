from django.contrib import admin

from credentials.models import ApiKey, ApiKeyCredential


class ApiKeyInline(admin.TabularInline):
    """Shows each slot's hint and usage; the digest and encrypted copy stay out of the admin."""

    model = ApiKey
    fields = ["slot", "hint", "created_at", "last_used_at", "last_used_address"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ApiKeyCredential)
class ApiKeyCredentialAdmin(admin.ModelAdmin):
    list_display = ["name", "group", "created_by", "created_at"]
    search_fields = ["name", "group__name"]
    readonly_fields = ["public_id", "group", "created_by", "created_at"]
    inlines = [ApiKeyInline]

    def has_add_permission(self, request):
        # Keys are created on the portal's Authentication Information tab, which shows them once.
        return False
