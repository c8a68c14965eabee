"""Reads of devices, always scoped to a tenant and, for viewers, to the viewer's grants."""
from django.db.models import QuerySet
from django.http import Http404

from devices.models import Device
from portal.models import Role


def device_list_visible(*, tenant, user, role: str) -> QuerySet[Device]:
    """Every device of the tenant for admins and staff; only granted ones for viewers."""
    qs = Device.objects.filter(tenant=tenant).select_related("product")
    if role == Role.VIEWER:
        qs = qs.filter(grants__user=user)
    return qs


def device_get_for_user(request, device_id: int) -> Device:
    """The device if the request's user may see it in the request's tenant, else 404."""
    if request.tenant is None:
        raise Http404
    try:
        return device_list_visible(tenant=request.tenant, user=request.user,
                                   role=request.role).get(pk=device_id)
    except (Device.DoesNotExist, ValueError, TypeError):
        raise Http404
