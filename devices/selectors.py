"""Reads of devices, always scoped to a tenant and, for viewers, to the viewer's grants."""
import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field

from django.db.models import F, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.http import Http404
from django.utils import timezone

from devices.models import Device, DeviceGrant, PackageState, Product, SyncRun
from portal.models import AuditEntry, Membership, Role


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


# --- The fleet: filters, search, sort, keyset pagination -----------------------------------

# sort key in the URL -> (model field, nullable)
SORTS: dict[str, tuple[str, bool]] = {
    "name": ("name", False),
    "nickname": ("nickname", False),
    "last_seen": ("last_seen_at", True),
    "expiry": ("package_expires_at", True),
    "created": ("created_at", False),
}


class BadCursor(ValueError):
    pass


def device_list(*, tenant, user, role: str, filters: dict) -> QuerySet[Device]:
    """The devices of the fleet page and the API list: visible to the user, filtered.

    `filters` holds cleaned values (see devices.forms.FleetFilterForm): q, product, online,
    package, days, kind, tag, owner."""
    qs = device_list_visible(tenant=tenant, user=user, role=role).select_related("owner")
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(Q(name__icontains=q) | Q(nickname__icontains=q)
                       | Q(tag_index__icontains=q.lower()))
    if filters.get("product"):
        qs = qs.filter(product=filters["product"])
    online = filters.get("online")
    if online == "online":
        qs = qs.filter(online=1)
    elif online == "offline":
        qs = qs.exclude(online=1)
    package = filters.get("package")
    now = timezone.now()
    if package == "none":
        qs = qs.filter(package_state=PackageState.NONE)
    elif package == "active":
        # The mirror may lag the clock: a package past its expiry is expired, synced or not.
        qs = qs.filter(package_state=PackageState.ACTIVE).filter(
            Q(package_expires_at__isnull=True) | Q(package_expires_at__gt=now))
    elif package == "expiring":
        days = filters.get("days") or 30
        qs = qs.filter(package_state=PackageState.ACTIVE, package_expires_at__gt=now,
                       package_expires_at__lte=now + dt.timedelta(days=days))
    elif package == "expired":
        qs = qs.filter(Q(package_state=PackageState.EXPIRED)
                       | Q(package_state=PackageState.ACTIVE, package_expires_at__lte=now))
    if filters.get("kind"):
        qs = qs.filter(product__stream_kind=filters["kind"])
    if filters.get("tag"):
        qs = qs.filter(tag_index__contains=f",{filters['tag'].lower()},")
    owner = filters.get("owner")
    if owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif owner:
        qs = qs.filter(owner=owner)
    if filters.get("removed") is not None:
        qs = qs.filter(removed_upstream=filters["removed"])
    return qs


@dataclass
class DevicePage:
    items: list[Device]
    next_cursor: str | None
    sort: str
    size: int
    extra: dict = field(default_factory=dict)


def _encode_cursor(value, pk: int) -> str:
    if isinstance(value, dt.datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, *, nullable: bool, is_time: bool):
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, int):
            raise ValueError
        if isinstance(value, dict) and is_time:
            value = dt.datetime.fromisoformat(value["t"])
            if timezone.is_naive(value):
                raise ValueError
        elif value is None:
            if not nullable:
                raise ValueError
        elif not isinstance(value, str) or is_time:
            raise ValueError
        return value, pk
    except (ValueError, TypeError, KeyError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        raise BadCursor(cursor)


def device_page(qs: QuerySet[Device], *, sort: str = "name", cursor: str = "",
                size: int = 50) -> DevicePage:
    """One page of `qs` after `cursor`, by keyset: the 1,000th page costs what the first does.

    A nullable sort key (last seen, expiry) lists the devices that have a value first and the
    others after them, each part with its own index-friendly query."""
    descending = sort.startswith("-")
    field_name, nullable = SORTS[sort.lstrip("-")]
    is_time = field_name.endswith("_at")
    after = _decode_cursor(cursor, nullable=nullable, is_time=is_time) if cursor else None
    cmp = TupleLessThan if descending else TupleGreaterThan
    order = [f"-{field_name}", "-id"] if descending else [field_name, "id"]
    id_order = "-id" if descending else "id"
    id_cmp = "id__lt" if descending else "id__gt"

    items: list[Device] = []
    if after is None or after[0] is not None:
        part = qs.filter(**{f"{field_name}__isnull": False}) if nullable else qs
        if after is not None:
            part = part.filter(cmp(Tuple(F(field_name), F("id")), after))
        items = list(part.order_by(*order)[: size + 1])
    if nullable and len(items) <= size:
        part = qs.filter(**{f"{field_name}__isnull": True})
        if after is not None and after[0] is None:
            part = part.filter(**{id_cmp: after[1]})
        items += list(part.order_by(id_order)[: size + 1 - len(items)])

    next_cursor = None
    if len(items) > size:
        items = items[:size]
        last = items[-1]
        next_cursor = _encode_cursor(getattr(last, field_name), last.pk)
    return DevicePage(items=items, next_cursor=next_cursor, sort=sort, size=size)


def product_list(*, tenant) -> QuerySet[Product]:
    return Product.objects.filter(tenant=tenant).order_by("name", "id")


def tag_list(*, tenant, user, role: str) -> list[str]:
    """Every tag in use on the devices the user can see, sorted."""
    tags: set[str] = set()
    rows = (device_list_visible(tenant=tenant, user=user, role=role)
            .exclude(tag_index="").values_list("tag_index", flat=True).distinct())
    for index in rows.iterator():
        tags.update(t for t in index.split(",") if t)
    return sorted(tags)


def member_list(*, tenant) -> QuerySet[Membership]:
    return Membership.objects.filter(tenant=tenant).select_related("user").order_by("user__email")


def grant_list(*, tenant, device=None, user=None) -> QuerySet[DeviceGrant]:
    qs = DeviceGrant.objects.filter(device__tenant=tenant).select_related("device", "user")
    if device is not None:
        qs = qs.filter(device=device)
    if user is not None:
        qs = qs.filter(user=user)
    return qs.order_by("-created_at", "-id")


def sync_run_latest(*, tenant) -> SyncRun | None:
    return SyncRun.objects.filter(tenant=tenant).first()


def device_audit_list(*, device: Device, limit: int = 20) -> QuerySet[AuditEntry]:
    return (AuditEntry.objects.filter(tenant_id=device.tenant_id, object_type=Device._meta.label,
                                      object_id=str(device.pk))
            .select_related("actor")[:limit])
