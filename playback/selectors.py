"""Reads of playback's own rows: share links, always scoped to a device the caller may see."""
from django.db.models import Count, QuerySet
from django.http import Http404

from devices.models import Device
from playback.models import ShareLink
from portal.models import Role


def share_list_for_device(*, device: Device, user, role: str) -> QuerySet[ShareLink]:
    """Admins see every link of the device; everyone else the links they made."""
    qs = ShareLink.objects.filter(device=device).annotate(view_count=Count("views"))
    if role != Role.ADMIN:
        qs = qs.filter(created_by=user)
    return qs


def share_get_for_user(*, device: Device, user, role: str, pk: int) -> ShareLink:
    try:
        return share_list_for_device(device=device, user=user, role=role).get(pk=pk)
    except ShareLink.DoesNotExist:
        raise Http404


def share_get_by_token(token: str) -> ShareLink:
    """The link of a token, usable or not (the page says which); unknown tokens are 404."""
    try:
        return ShareLink.objects.select_related("device__product", "tenant").get(token=token)
    except ShareLink.DoesNotExist:
        raise Http404
