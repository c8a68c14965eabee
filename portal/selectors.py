"""Reads of tenancy data: which tenants a user belongs to, and in which role."""
from django.db.models import QuerySet

from portal.models import AuditEntry, Membership, Tenant


def membership_list(*, user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")


def membership_get(*, user, tenant_id: int | None) -> Membership | None:
    """The user's membership of that tenant, or their first one; None for no membership."""
    memberships = membership_list(user=user)
    if tenant_id is not None:
        found = memberships.filter(tenant_id=tenant_id).first()
        if found is not None:
            return found
    return memberships.first()


def audit_entry_list(*, tenant: Tenant, filters: dict | None = None) -> QuerySet[AuditEntry]:
    qs = AuditEntry.objects.filter(tenant=tenant).select_related("actor")
    filters = filters or {}
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=filters["object_id"])
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("actor"):
        qs = qs.filter(actor__username__icontains=filters["actor"])
    if filters.get("since"):
        qs = qs.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(created_at__lt=filters["until"])
    return qs
