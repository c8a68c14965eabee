"""Reads for the packages feature: prices, selections of devices, orders, renewals, spend."""
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DateTimeField, Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Greatest, TruncMonth
from django.http import Http404, QueryDict
from django.utils import timezone

from devices.models import Device
from devices.order_models import PAID_STATES, Order, OrderState, PackagePrice, Purchase
from devices.packages import catalog

SELECTION_LIMIT = 5000  # one purchase; the review page pages through it


def price_map(*, tenant) -> dict[str, PackagePrice]:
    return {p.package_id: p for p in PackagePrice.objects.filter(tenant=tenant)}


def devices_by_ids(*, tenant, ids) -> QuerySet[Device]:
    return Device.objects.filter(tenant=tenant, pk__in=list(ids)).select_related("product")


class BadFilter(ValueError):
    """The fleet querystring does not describe a selection; the message says why."""


def devices_for_filter(*, tenant, user, role, querystring: str) -> QuerySet[Device]:
    """The devices the fleet page lists for its querystring, with the fleet's own form and
    selector, so "all matching the filter" means exactly what the fleet page showed."""
    from devices.forms import FleetFilterForm
    from devices.selectors import device_list

    form = FleetFilterForm(QueryDict(querystring or ""), tenant=tenant)
    if not form.is_valid():
        raise BadFilter(form.error_text() if hasattr(form, "error_text") else str(form.errors))
    return device_list(tenant=tenant, user=user, role=role, filters=form.filters())


def purchase_get(*, tenant, pk) -> Purchase:
    try:
        return Purchase.objects.get(tenant=tenant, pk=pk)
    except (Purchase.DoesNotExist, ValueError, TypeError):
        raise Http404


def purchase_progress(*, purchase: Purchase) -> dict:
    counts = dict(purchase.orders.values_list("state").annotate(n=Count("id")).order_by())
    total = sum(counts.values())
    done = sum(counts.get(s, 0) for s in (*PAID_STATES, OrderState.FAILED))
    return {
        "total": total,
        "done": done,
        "counts": counts,
        "active": counts.get(OrderState.ACTIVE, 0),
        "queued": counts.get(OrderState.QUEUED, 0),
        "failed": counts.get(OrderState.FAILED, 0),
        "open": counts.get(OrderState.PENDING, 0) + counts.get(OrderState.SUBMITTING, 0),
        "finished": total > 0 and done == total,
        "percent": int(100 * done / total) if total else 0,
    }


def order_list(*, tenant, filters: dict) -> QuerySet[Order]:
    """Orders of the tenant; `filters` are already validated (see forms.OrderFilterForm)."""
    qs = Order.objects.filter(tenant=tenant).select_related("device", "device__product")
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("package"):
        qs = qs.filter(package_id=filters["package"])
    if device := (filters.get("device") or "").strip():
        qs = qs.filter(Q(device__name__icontains=device) | Q(device__nickname__icontains=device))
    if filters.get("device_id"):
        qs = qs.filter(device_id=filters["device_id"])
    if filters.get("purchase"):
        qs = qs.filter(purchase_id=filters["purchase"])
    tz = timezone.get_current_timezone()
    if filters.get("date_from"):
        qs = qs.filter(created_at__gte=datetime.combine(filters["date_from"], datetime.min.time(), tz))
    if filters.get("date_to"):
        end = datetime.combine(filters["date_to"], datetime.min.time(), tz) + timedelta(days=1)
        qs = qs.filter(created_at__lt=end)
    return qs.order_by("-created_at", "-id")


def order_get(*, tenant, pk) -> Order:
    try:
        return Order.objects.select_related("device", "device__product").get(tenant=tenant, pk=pk)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise Http404


def storage_ends_annotated(qs: QuerySet[Device]) -> QuerySet[Device]:
    """Adds `storage_ends_at`: when the device's last package ends, from the cloud mirror or
    from the portal's own orders, whichever is later (the mirror may predate a purchase)."""
    last_order = Max("orders__expires_at",
                     filter=Q(orders__state__in=[OrderState.ACTIVE, OrderState.QUEUED]))
    return qs.annotate(last_order_expiry=last_order).annotate(
        storage_ends_at=Greatest(
            Coalesce("package_expires_at", "last_order_expiry", output_field=DateTimeField()),
            Coalesce("last_order_expiry", "package_expires_at", output_field=DateTimeField()),
        )
    )


def renewals_due(*, tenant, days: int, now=None) -> QuerySet[Device]:
    """Devices whose storage ends within `days` days (and has not already ended)."""
    now = now or timezone.now()
    qs = storage_ends_annotated(Device.objects.filter(tenant=tenant, removed_upstream=False))
    return (qs.filter(storage_ends_at__gt=now, storage_ends_at__lte=now + timedelta(days=days))
            .select_related("product").order_by("storage_ends_at", "id"))


def device_last_package(*, device: Device) -> str | None:
    """The package a renewal repeats: the device's latest paid order's package."""
    return (Order.objects.filter(device=device, state__in=PAID_STATES)
            .exclude(kind="free_trial").order_by("-created_at", "-id")
            .values_list("package_id", flat=True).first())


def last_packages(*, device_ids) -> dict[int, str]:
    """device id → the package of its latest paid order (one query for a whole page)."""
    rows = (Order.objects.filter(device_id__in=list(device_ids), state__in=PAID_STATES)
            .exclude(kind="free_trial").order_by("device_id", "-created_at", "-id")
            .values_list("device_id", "package_id"))
    result: dict[int, str] = {}
    for device_id, package_id in rows:
        result.setdefault(device_id, package_id)
    return result


def spend_by_month(*, tenant, since) -> list[dict]:
    """Money spent per month and package (orders the cloud accepted), in the user's zone."""
    rows = (Order.objects.filter(tenant=tenant, state__in=PAID_STATES, created_at__gte=since,
                                 price_cents__isnull=False)
            .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
            .values("month", "package_id", "currency")
            .annotate(total=Sum("price_cents"), count=Count("id"))
            .order_by("-month", "package_id"))
    return [dict(r, package_name=catalog.package_name(r["package_id"]),
                 amount=Decimal(r["total"]) / 100) for r in rows]


def orders_stale(*, older_than: timedelta, now=None, limit: int = 5000) -> list[int]:
    """Orders nobody is working on although they are not done: pending for longer than
    `older_than` (their message may be lost), or submitting with the claim's lease run out."""
    now = now or timezone.now()
    return list(Order.objects.filter(
        Q(state=OrderState.PENDING, updated_at__lte=now - older_than)
        | Q(state=OrderState.SUBMITTING, lease_until__lte=now)
        | Q(state=OrderState.SUBMITTING, lease_until__isnull=True, updated_at__lte=now - older_than)
    ).order_by("pk").values_list("pk", flat=True)[:limit])
