"""Django admin for operators (superusers). The SecretKey is not editable here and never shown:
tenants' admins change it on the cloud settings page."""
from django.contrib import admin

from portal.models import AuditEntry, CloudConnection, Invitation, Membership, Tenant, UserProfile


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(CloudConnection)
class CloudConnectionAdmin(admin.ModelAdmin):
    list_display = ["tenant", "kind", "endpoint", "region", "secret_id", "updated_at"]
    fields = ["tenant", "kind", "endpoint", "region", "secret_id"]

    def has_add_permission(self, request):
        return False  # a connection without a SecretKey is useless; use the settings page


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "created_at", "accepted_at"]
    exclude = ["token"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


admin.site.register(UserProfile)
