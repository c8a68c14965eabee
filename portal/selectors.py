"""Reads of tenancy data: which tenants a user belongs to, and in which role."""
from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from portal.models import AuditEntry, CloudConnection, Invitation, Membership, Tenant


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


def audit_filter_values(*, tenant: Tenant) -> tuple[list[str], list[str]]:
    """The object types and actions that occur in the tenant's log (the filter's choices)."""
    entries = AuditEntry.objects.filter(tenant=tenant)
    types = sorted(set(entries.values_list("object_type", flat=True).distinct()))
    actions = sorted(set(entries.values_list("action", flat=True).distinct()))
    return types, actions


def member_list(*, tenant: Tenant) -> QuerySet[Membership]:
    return (Membership.objects.filter(tenant=tenant).select_related("user")
            .order_by("user__username"))


def member_get(*, tenant: Tenant, membership_id) -> Membership:
    """A membership of this tenant, else 404 (ids of other tenants look like missing ones)."""
    try:
        return member_list(tenant=tenant).get(pk=int(membership_id))
    except (Membership.DoesNotExist, ValueError, TypeError):
        raise Http404


def invitation_list_pending(*, tenant: Tenant) -> QuerySet[Invitation]:
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.INVITATION_MAX_AGE)
    return (Invitation.objects.filter(tenant=tenant, accepted_at__isnull=True,
                                      created_at__gt=cutoff)
            .select_related("invited_by").order_by("-created_at"))


def invitation_get(*, tenant: Tenant, invitation_id) -> Invitation:
    try:
        return Invitation.objects.filter(tenant=tenant, accepted_at__isnull=True).get(
            pk=int(invitation_id))
    except (Invitation.DoesNotExist, ValueError, TypeError):
        raise Http404


def cloud_connection_get(*, tenant: Tenant) -> CloudConnection | None:
    return CloudConnection.objects.filter(tenant=tenant).first()
