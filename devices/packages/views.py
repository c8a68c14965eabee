"""Pages for staff: prices, purchase (choose → review → confirm → progress), orders, spend,
renewals and a device's storage actions. Thin: forms check input, services do the work."""
import csv
import secrets
from datetime import datetime, time, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from devices.models import Device, PackageState
from devices.order_models import Order, OrderState, Purchase
from devices.packages import catalog, selectors, services
from devices.packages.forms import (
    OrderFilterForm,
    PriceListForm,
    PurchaseForm,
    RenewalsForm,
    ResetForm,
    SpendForm,
    TransferForm,
)
from devices.selectors import device_get_for_user
from portal.iotvideo import errors
from portal.permissions import staff_required

REVIEW_PAGE_SIZE = 25
ORDERS_PAGE_SIZE = 50


def _device_ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise ValueError(value)
    return ids


# --- prices ---------------------------------------------------------------------------------

@staff_required
@require_http_methods(["GET", "POST"])
def prices(request):
    current = selectors.price_map(tenant=request.tenant)
    currency = next(iter(current.values())).currency if current else request.tenant.currency
    form = PriceListForm(request.POST or None, prices=current, initial={"currency": currency})
    if request.method == "POST" and form.is_valid():
        for package in catalog.paid_packages():
            services.price_set(tenant=request.tenant, user=request.user,
                               package_id=package.package_id,
                               price_cents=form.cleaned_data[f"price_{package.package_id}"],
                               currency=form.cleaned_data["currency"])
        messages.success(request, _("Prices saved."))
        return redirect("devices:prices")
    return render(request, "devices/packages/prices.html", {"form": form},
                  status=400 if form.is_bound else 200)


# --- purchase -------------------------------------------------------------------------------

def _selection(request, source) -> tuple[list[int], str, str | None]:
    """(device ids, the filter querystring, an error) from ?device=…&device=… or ?filter=…."""
    querystring = source.get("filter", "")
    try:
        ids = _device_ids(source.getlist("device"))
    except ValueError as exc:
        return [], querystring, _("“%(value)s” is not a device id.") % {"value": exc.args[0]}
    if querystring:
        try:
            qs = selectors.devices_for_filter(tenant=request.tenant, user=request.user,
                                              role=request.role, querystring=querystring)
        except selectors.BadFilter as exc:
            return [], querystring, _("The fleet filter is not valid: %(error)s") % {"error": exc}
        ids += list(qs.values_list("pk", flat=True)[: selectors.SELECTION_LIMIT + 1])
    ids = sorted(set(ids))
    found = set(selectors.devices_by_ids(tenant=request.tenant, ids=ids).values_list("pk", flat=True))
    if ids and found != set(ids):
        # Never tell which ids belong to another company: just refuse the unknown ones.
        return [], querystring, _("Some selected devices do not exist in this company.")
    return ids, querystring, None


@staff_required
@require_http_methods(["GET", "POST"])
def purchase_new(request):
    source = request.POST if request.method == "POST" else request.GET
    ids, querystring, error = _selection(request, source)
    if error:
        return render(request, "devices/packages/purchase_new.html",
                      {"error": error, "form": None}, status=400)
    form = PurchaseForm(request.POST or None, initial={
        "token": secrets.token_urlsafe(24), "package": request.GET.get("package")})
    devices = selectors.devices_by_ids(tenant=request.tenant, ids=ids)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                purchase = services.purchase_draft_create(
                    tenant=request.tenant, user=request.user,
                    package_id=form.cleaned_data["package"],
                    start_mode=form.cleaned_data["start_mode"], device_ids=ids,
                    token=form.cleaned_data["token"])
            except services.PurchaseError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("devices:purchase_review", pk=purchase.pk)
        status = 400
    context = {
        "form": form,
        "device_ids": ids,
        "filter": querystring,
        "count": len(ids),
        "picture_count": devices.filter(product__stream_kind="picture").count(),
        "low_power_count": devices.filter(product__low_power=True).count(),
        "sample": list(devices.order_by("name")[:10]),
        "packages": catalog.paid_packages(),
        "prices": selectors.price_map(tenant=request.tenant),
    }
    return render(request, "devices/packages/purchase_new.html", context, status=status)


@staff_required
@require_http_methods(["GET", "POST"])
def purchase_review(request, pk):
    purchase = selectors.purchase_get(tenant=request.tenant, pk=pk)
    if purchase.status == Purchase.Status.CONFIRMED:
        return redirect("devices:purchase_detail", pk=purchase.pk)
    if request.method == "POST":
        try:
            services.purchase_confirm(purchase=purchase, user=request.user)
        except services.PurchaseError as exc:
            messages.error(request, str(exc))
            return redirect("devices:purchase_review", pk=purchase.pk)
        return redirect("devices:purchase_detail", pk=purchase.pk)
    paginator = Paginator(purchase.device_ids, REVIEW_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    review = services.purchase_review(purchase=purchase, page_ids=list(page.object_list))
    context = {"purchase": purchase, "review": review, "page": page}
    template = "devices/packages/purchase_review.html"
    if request.htmx:
        template += "#table"
    return render(request, template, context)


@staff_required
def purchase_detail(request, pk):
    purchase = selectors.purchase_get(tenant=request.tenant, pk=pk)
    if purchase.status == Purchase.Status.DRAFT:
        return redirect("devices:purchase_review", pk=purchase.pk)
    progress = selectors.purchase_progress(purchase=purchase)
    context = {
        "purchase": purchase,
        "progress": progress,
        "failed": purchase.orders.filter(state=OrderState.FAILED).select_related("device")[:100],
        "package_name": catalog.package_name(purchase.package_id) if purchase.package_id else "",
    }
    template = "devices/packages/purchase_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, context)


# --- orders ---------------------------------------------------------------------------------

@staff_required
def orders(request):
    form = OrderFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "devices/orders/orders.html",
                      {"form": form, "page": None}, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    qs = selectors.order_list(tenant=request.tenant, filters=filters)
    if request.GET.get("format") == "csv":
        return _orders_csv(qs)
    page = Paginator(qs, ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    querystring = request.GET.copy()
    querystring.pop("page", None)
    context = {"form": form, "page": page, "querystring": querystring.urlencode()}
    template = "devices/orders/orders.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


class _Echo:
    def write(self, value):
        return value


def _orders_csv(qs):
    writer = csv.writer(_Echo())
    header = ["order_id", "created_at", "device", "product", "package", "package_name",
              "start_mode", "state", "start_at", "expires_at", "price", "currency", "reason"]

    def rows():
        yield writer.writerow(header)
        for o in qs.iterator(chunk_size=1000):
            yield writer.writerow([
                o.order_id, timezone.localtime(o.created_at).isoformat(), o.device.name,
                o.device.product.product_id, o.package_id, catalog.package_name(o.package_id),
                o.start_mode, o.state,
                timezone.localtime(o.start_at).isoformat() if o.start_at else "",
                timezone.localtime(o.expires_at).isoformat() if o.expires_at else "",
                f"{o.price_cents / 100:.2f}" if o.price_cents is not None else "", o.currency,
                o.failure_reason,
            ])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="orders.csv"'
    return response


@staff_required
@require_POST
def order_retry(request, pk):
    order = selectors.order_get(tenant=request.tenant, pk=pk)
    if services.order_retry(order=order, user=request.user):
        messages.success(request, _("Order %(id)s sent again.") % {"id": order.order_id})
    else:
        messages.error(request, _("Only a failed order can be sent again."))
    if order.purchase_id and request.POST.get("next") == "purchase":
        return redirect("devices:purchase_detail", pk=order.purchase_id)
    return redirect("devices:orders")


# --- spend ----------------------------------------------------------------------------------

@staff_required
def spend(request):
    form = SpendForm(request.GET or None)
    today = timezone.localdate()
    start, end = today - timedelta(days=364), today
    if form.is_bound:
        if not form.is_valid():
            return render(request, "devices/packages/spend.html", {"form": form}, status=400)
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        if (end - start).days > 366:
            start = end - timedelta(days=364)
    since = datetime.combine(start, time.min, tzinfo=timezone.get_current_timezone())
    rows = selectors.spend_by_month(tenant=request.tenant, since=since)
    stats, stats_error = [], ""
    try:
        stats = services._cloud(request.tenant, background=False).describe_package_consume_stats(start, end)
    except errors.CloudError as exc:
        stats_error = exc.message
    chart = _bar_chart([(s.package_id, s.count, s.price) for s in stats])
    months: dict = {}
    for row in rows:
        month = months.setdefault(row["month"], {"month": row["month"], "rows": [], "totals": {}})
        month["rows"].append(row)
        month["totals"][row["currency"]] = month["totals"].get(row["currency"], 0) + row["amount"]
    context = {"form": form, "months": list(months.values()), "stats": stats,
               "stats_error": stats_error, "chart": chart, "start": start, "end": end}
    return render(request, "devices/packages/spend.html", context)


def _bar_chart(items: list[tuple[str, int, int]]) -> dict:
    """Geometry for an inline SVG bar chart (no script needed): one bar per package."""
    if not items:
        return {"bars": [], "height": 0}
    top = max(count for _l, count, _p in items) or 1
    bar_h, gap, label_w, width = 22, 8, 90, 420
    bars = []
    for i, (label, count, price) in enumerate(items):
        y = i * (bar_h + gap)
        bars.append({"label": label, "count": count, "price": price, "y": y, "ty": y + 15,
                     "w": max(2, int(width * count / top)), "tx": label_w + max(2, int(width * count / top)) + 6})
    return {"bars": bars, "height": len(items) * (bar_h + gap), "label_w": label_w,
            "bar_h": bar_h, "width": label_w + width + 120}


# --- renewals -------------------------------------------------------------------------------

@staff_required
@require_http_methods(["GET", "POST"])
def renewals(request):
    form = RenewalsForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "devices/packages/renewals.html", {"form": form}, status=400)
    days = (form.cleaned_data.get("days") if form.is_bound else None) or 30
    due = selectors.renewals_due(tenant=request.tenant, days=days)
    if request.method == "POST":
        try:
            ids = _device_ids(request.POST.getlist("device"))
        except ValueError:
            return HttpResponseBadRequest(_("Bad device selection."))
        chosen = list(due.filter(pk__in=ids)) if ids else list(due[: selectors.SELECTION_LIMIT])
        if not chosen:
            messages.error(request, _("Nothing to renew: select devices whose storage ends soon."))
            return redirect(f"{reverse('devices:renewals')}?days={days}")
        token = request.POST.get("token") or secrets.token_urlsafe(24)
        purchase, skipped = services.renew_devices(tenant=request.tenant, user=request.user,
                                                   devices=chosen, token=f"renew:{token}")
        for device, reason in skipped[:20]:
            messages.warning(request, f"{device}: {reason}")
        if purchase is None:
            return redirect(f"{reverse('devices:renewals')}?days={days}")
        return redirect("devices:purchase_detail", pk=purchase.pk)
    page = Paginator(due, 100).get_page(request.GET.get("page"))
    last = selectors.last_packages(device_ids=[d.pk for d in page.object_list])
    rows = [{"device": d, "package_id": last.get(d.pk), "package_name":
             catalog.package_name(last[d.pk]) if last.get(d.pk) else ""} for d in page.object_list]
    context = {"form": form, "days": days, "page": page, "rows": rows,
               "token": secrets.token_urlsafe(24)}
    return render(request, "devices/packages/renewals.html", context)


# --- a device's storage ---------------------------------------------------------------------

def _device(request, device_id) -> Device:
    device = device_get_for_user(request, device_id)
    if device.tenant_id != request.tenant.pk:
        raise Http404
    return device


@staff_required
def device_storage(request, device_id):
    device = _device(request, device_id)
    packages, cloud_error = [], ""
    try:
        packages = services._cloud(request.tenant, background=False).describe_device_packages(
            device.product.product_id, device.name)
    except errors.CloudError as exc:
        cloud_error = exc.message
    targets = (Device.objects.filter(tenant=request.tenant, removed_upstream=False)
               .exclude(pk=device.pk).exclude(package_state=PackageState.ACTIVE)
               .select_related("product").order_by("name"))
    trial = catalog.free_trial_for(device)
    context = {
        "device": device,
        "packages": [{"info": p, "name": catalog.package_name(p.package_id)} for p in packages],
        "cloud_error": cloud_error,
        "orders": device.orders.all()[:50],
        "transfer_form": TransferForm(targets=targets),
        "reset_form": ResetForm(),
        "trial": trial,
        "trial_used": device.orders.filter(kind="free_trial").exists(),
        "trial_reason": catalog.ineligibility_reason(trial, device),
    }
    return render(request, "devices/packages/device_storage.html", context)


def _storage_action(request, device, action):
    try:
        action()
    except services.PurchaseError as exc:
        messages.error(request, str(exc))
    except errors.CloudError as exc:
        messages.error(request, exc.message)
    else:
        return True
    return False


@staff_required
@require_POST
def device_auto_renew(request, device_id):
    device = _device(request, device_id)
    enabled = request.POST.get("auto_renew") == "1"
    Device.objects.filter(pk=device.pk).update(auto_renew=enabled)
    from portal.audit import audit_record

    audit_record(tenant=request.tenant, actor=request.user, action="update", obj=device,
                 before={"auto_renew": device.auto_renew}, after={"auto_renew": enabled})
    messages.success(request, _("Auto-renew is on.") if enabled else _("Auto-renew is off."))
    return redirect("devices:device_storage", device_id=device.pk)


@staff_required
@require_POST
def device_transfer(request, device_id):
    device = _device(request, device_id)
    targets = Device.objects.filter(tenant=request.tenant).exclude(pk=device.pk)
    form = TransferForm(request.POST, targets=targets)
    if not form.is_valid():
        messages.error(request, _("Choose a device of this company to transfer to."))
        return redirect("devices:device_storage", device_id=device.pk)
    target = form.cleaned_data["target"]
    if _storage_action(request, device, lambda: services.storage_transfer(
            tenant=request.tenant, user=request.user, source=device, target=target)):
        messages.success(request, _("Cloud storage moved to %(target)s.") % {"target": target})
    return redirect("devices:device_storage", device_id=device.pk)


@staff_required
@require_POST
def device_reset(request, device_id):
    device = _device(request, device_id)
    form = ResetForm(request.POST)
    confirmation = form.data.get("confirmation", "")
    if _storage_action(request, device, lambda: services.storage_reset(
            tenant=request.tenant, user=request.user, device=device, confirmation=confirmation)):
        messages.success(request, _("The device's cloud storage was reset."))
    return redirect("devices:device_storage", device_id=device.pk)


@staff_required
@require_POST
def device_free_trial(request, device_id):
    device = _device(request, device_id)
    if _storage_action(request, device, lambda: services.free_trial_start(
            tenant=request.tenant, user=request.user, device=device)):
        messages.success(request, _("Free trial requested."))
    return redirect("devices:device_storage", device_id=device.pk)


def orders_for_device(device) -> list[Order]:
    """For the fleet's device page: the device's latest orders."""
    return list(device.orders.all()[:20])
