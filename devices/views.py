"""Pages of the fleet: the fleet table with bulk actions, the device page, products and
batches, the sync with its progress bar, end users and grants, CSV import and API keys.

Views parse input and pick a template; the rules live in devices.services and selectors."""
import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from devices import selectors, services
from devices.api.keys import ApiKey
from devices.fleet_table import fleet_rows
from devices.forms import (
    FILTER_FIELDS,
    ApiKeyForm,
    BatchForm,
    BulkForm,
    DeviceMetaForm,
    FleetFilterForm,
    GrantForm,
    ImportForm,
    InviteForm,
    ProductForm,
)
from devices.models import Device, DeviceGrant, Product, SyncRun
from portal.iotvideo import errors as cloud_errors
from portal.models import Role
from portal.permissions import admin_required, member_required, staff_required


def _reverse_or_none(name: str, *args) -> str | None:
    """The URL of a page another feature provides, or None while it does not exist yet."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _fleet_form(request, data) -> FleetFilterForm:
    tenant = request.tenant
    show_owner = request.role != Role.VIEWER
    return FleetFilterForm(
        data, tenant=tenant, products=selectors.product_list(tenant=tenant),
        members=selectors.member_list(tenant=tenant) if show_owner else None,
        show_owner=show_owner)


def _filter_querystring(params: QueryDict, *, without=("cursor",)) -> str:
    keep = QueryDict(mutable=True)
    for key in params:
        if key not in without and params.getlist(key) != [""]:
            keep.setlist(key, [v for v in params.getlist(key) if v != ""])
    return keep.urlencode()


@member_required
def fleet(request):
    """The fleet table. All state is in the query string; an htmx request gets only the
    results partial, a plain request the whole page (so it works without JavaScript)."""
    form = _fleet_form(request, request.GET)
    if not form.is_valid():
        return _fleet_error(request, form, form.error_text())
    qs = selectors.device_list(tenant=request.tenant, user=request.user, role=request.role,
                               filters=form.filters())
    try:
        page = selectors.device_page(qs, sort=form.sort_key, cursor=form.cleaned_data["cursor"],
                                     size=form.page_size)
    except selectors.BadCursor:
        return _fleet_error(request, form, _("This page link is damaged or outdated. Start again "
                                             "from the first page."))
    query = _filter_querystring(request.GET)
    next_url = None
    if page.next_cursor:
        params = request.GET.copy()
        params["cursor"] = page.next_cursor
        next_url = f"?{_filter_querystring(params, without=())}"
    can_staff = request.role in (Role.ADMIN, Role.STAFF)
    partial = request.htmx and not request.htmx.boosted
    context = {
        "form": form,
        "page": page,
        "rows": fleet_rows(page.items, can_staff=can_staff),
        "query": query,
        "filter_query": _filter_querystring(request.GET, without=("cursor", "sort", "size")),
        "next_url": next_url,
        "first_url": f"?{query}" if query else "?",
        "is_first": not form.cleaned_data["cursor"],
        "can_admin": request.role == Role.ADMIN,
        "can_staff": can_staff,
        "purchase_url": _reverse_or_none("devices:purchase_new"),
        # The sync box is outside the results partial: an htmx request does not read it.
        "sync_run": (selectors.sync_run_latest(tenant=request.tenant)
                     if request.role == Role.ADMIN and not partial else None),
    }
    if partial:
        return render(request, "devices/fleet.html#results", context)
    return render(request, "devices/fleet.html", context)


def _fleet_error(request, form, message: str):
    """A filter the page cannot apply: 400 with the message. htmx does not swap error answers
    into the page, so its partial comes with 200 (the message is what the person must see)."""
    context = {"form": form, "error": message, "page": None}
    if request.htmx:
        return render(request, "devices/fleet.html#results", context)
    return render(request, "devices/fleet.html", context, status=400)


def _bulk_devices(request, form: BulkForm):
    """The devices a bulk action applies to: the ticked rows, or all that match the filter the
    page showed. Either way only devices of the tenant the user may see."""
    if form.cleaned_data["scope"] == "filter":
        params = QueryDict(form.cleaned_data.get("filter") or "")
        fleet_form = _fleet_form(request, params)
        if not fleet_form.is_valid():
            return None, fleet_form.error_text()
        return selectors.device_list(tenant=request.tenant, user=request.user, role=request.role,
                                     filters=fleet_form.filters()), ""
    ids = form.cleaned_data["device"]
    qs = selectors.device_list_visible(tenant=request.tenant, user=request.user, role=request.role)
    qs = qs.filter(pk__in=ids)
    if qs.count() != len(set(ids)):
        return None, _("Some of the selected devices do not exist or are not yours.")
    return qs, ""


@staff_required
@require_POST
def bulk(request):
    form = BulkForm(request.POST)
    back = reverse("devices:fleet") + (f"?{form.data.get('filter')}" if form.data.get("filter") else "")
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return _back(request, back, status=400)
    devices, problem = _bulk_devices(request, form)
    if devices is None:
        messages.error(request, problem)
        return _back(request, back, status=400)
    action = form.cleaned_data["action"]
    if action == "export":
        return _export_csv(request, devices)
    if action == "purchase":
        url = _reverse_or_none("devices:purchase_new")
        if url is None:
            messages.error(request, _("Buying packages is not available yet."))
            return _back(request, back, status=400)
        if form.cleaned_data["scope"] == "filter":
            return redirect(f"{url}?{urlencode({'filter': form.cleaned_data.get('filter') or ''})}")
        ids = list(devices.order_by("pk").values_list("pk", flat=True))
        return redirect(f"{url}?{urlencode([('device', i) for i in ids])}")
    if request.role != Role.ADMIN:
        messages.error(request, _("Only admins can change tags and owners."))
        return _back(request, back, status=403)
    try:
        if action == "tag":
            count = services.devices_tag(
                tenant=request.tenant, actor=request.user, devices=devices,
                add=form.cleaned_data["add_tags"].split(","),
                remove=form.cleaned_data["remove_tags"].split(","))
            messages.success(request, _("Tags changed on %(count)d device(s).") % {"count": count})
        else:
            email = form.cleaned_data["owner_email"].strip()
            owner = None
            if email:
                member = services.member_by_email(tenant=request.tenant, email=email)
                if member is None:
                    raise services.ServiceError(
                        _("No member of this company has the email %(email)s. Invite them first.")
                        % {"email": email})
                owner = member.user
            count = services.devices_assign_owner(tenant=request.tenant, actor=request.user,
                                                  devices=devices, owner=owner)
            messages.success(request, _("Owner changed on %(count)d device(s).") % {"count": count})
    except services.ServiceError as exc:
        messages.error(request, exc.message)
        return _back(request, back, status=400)
    return _back(request, back)


def _back(request, url, status=302):
    """Redirect back to the fleet; a refused action answers 4xx so scripts notice, while a
    browser still lands on a page that shows the message."""
    if status == 302:
        return redirect(url)
    response = HttpResponseRedirect(url)
    if status >= 400:
        response = render(request, "devices/bulk_error.html", {"back": url}, status=status)
    return response


class _Echo:
    def write(self, value):
        return value


def _export_csv(request, devices):
    def fmt(value):
        return date_format(timezone.localtime(value), "Y-m-d H:i") if value else ""

    writer = csv.writer(_Echo())

    def cell(value: str) -> str:
        # A nickname like "=HYPERLINK(...)" must not run as a formula in a spreadsheet.
        return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value

    def rows():
        yield writer.writerow(["device", "product", "nickname", "tags", "owner_email", "online",
                               "last_seen", "package", "package_type", "retention_days",
                               "expires", "queued"])
        last = 0
        qs = devices.select_related("product", "owner").order_by("pk")
        while True:
            chunk = list(qs.filter(pk__gt=last)[:1000])
            if not chunk:
                return
            for d in chunk:
                yield writer.writerow([
                    d.name, d.product.product_id, cell(d.nickname), cell(";".join(d.tags)),
                    d.owner.email if d.owner else "", "yes" if d.online == 1 else "no",
                    fmt(d.last_seen_at), d.package_state, d.package_type or "",
                    d.package_retention_days or "", fmt(d.package_expires_at),
                    d.package_queued_count])
            last = chunk[-1].pk

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="devices.csv"'
    return response


# --- Sync -------------------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def sync(request):
    """POST queues a sync ("Sync now"); GET renders its progress, which htmx polls."""
    if request.method == "POST":
        run, created = services.sync_run_request(tenant=request.tenant, actor=request.user)
        if not request.htmx:
            messages.info(request, _("Sync started.") if created else _("A sync is already running."))
            return redirect("devices:fleet")
    else:
        run = selectors.sync_run_latest(tenant=request.tenant)
    return render(request, "devices/fleet.html#sync", {"sync_run": run})


# --- Device page ---------------------------------------------------------------------------------


def _cloud_view(device: Device):
    """The package in force, the queue and the latest events with thumbnails, read live from
    the cloud; a cloud error becomes a message on the page, not an error page."""
    from devices.services import _cloud

    data = {"packages": None, "events": None, "error": ""}
    try:
        cloud = _cloud(device.tenant)
        data["packages"] = sorted(
            cloud.describe_device_packages(device.product.product_id, device.name),
            key=lambda p: (-p.status, p.expires_at or timezone.now()))
        page = cloud.describe_cloud_storage_events(device.product.product_id, device.name,
                                                   size=10)
        names = [e.thumbnail for e in page.events if e.thumbnail]
        signed = (cloud.describe_thumbnails(device.product.product_id, device.name, names)
                  if names else {})
        data["events"] = [(e, signed[e.thumbnail].url if e.thumbnail in signed else "")
                          for e in page.events]
    except cloud_errors.CloudError as exc:
        data["error"] = exc.message
    return data


@member_required
def device_detail(request, pk: int):
    device = selectors.device_get_for_user(request, pk)
    is_admin = request.role == Role.ADMIN
    orders = getattr(device, "orders", None)
    context = {
        "device": device,
        "cloud": _cloud_view(device),
        "can_admin": is_admin,
        "can_staff": request.role in (Role.ADMIN, Role.STAFF),
        "orders": orders.all()[:20] if orders is not None and request.role != Role.VIEWER else None,
        "audit": selectors.device_audit_list(device=device) if request.role != Role.VIEWER else None,
        "grants": selectors.grant_list(tenant=request.tenant, device=device) if is_admin else None,
        "meta_form": DeviceMetaForm(initial={"nickname": device.nickname,
                                             "tags": ", ".join(device.tags),
                                             "location": device.location,
                                             "notes": device.notes}) if is_admin else None,
        "grant_form": GrantForm() if is_admin else None,
        "playback_url": _reverse_or_none("playback:device", device.pk),
        "purchase_url": _reverse_or_none("devices:purchase_new"),
    }
    return render(request, "devices/device.html", context)


@admin_required
@require_POST
def device_edit(request, pk: int):
    device = selectors.device_get_for_user(request, pk)
    form = DeviceMetaForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("devices:device", pk=device.pk)
    services.device_update(device=device, actor=request.user, nickname=form.cleaned_data["nickname"],
                           tags=form.tag_list(), notes=form.cleaned_data["notes"],
                           location=form.cleaned_data["location"])
    messages.success(request, _("Saved."))
    return redirect("devices:device", pk=device.pk)


@staff_required
@require_POST
def device_refresh(request, pk: int):
    device = selectors.device_get_for_user(request, pk)
    try:
        services.device_refresh(device=device)
        messages.success(request, _("Read again from the cloud."))
    except cloud_errors.CloudError as exc:
        messages.error(request, exc.message)
    return redirect("devices:device", pk=device.pk)


@admin_required
@require_http_methods(["GET", "POST"])
def device_delete(request, pk: int):
    """GET asks for confirmation (the device name typed again); POST deletes in the cloud."""
    device = selectors.device_get_for_user(request, pk)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != device.name:
            error = _("Type the device name exactly to confirm.")
        else:
            try:
                services.device_delete(device=device, actor=request.user)
                messages.success(request, _("Device %(name)s deleted in the cloud.") % {"name": device.name})
                return redirect("devices:fleet")
            except cloud_errors.CloudError as exc:
                error = exc.message
    return render(request, "devices/device_confirm.html",
                  {"device": device, "action": "delete", "error": error},
                  status=400 if error else 200)


@admin_required
@require_http_methods(["GET", "POST"])
def device_enable(request, pk: int):
    """Disable (after confirmation) or re-enable a device in the cloud."""
    device = selectors.device_get_for_user(request, pk)
    enable = not device.enabled
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            error = _("Confirm to go ahead.")
        else:
            try:
                services.device_set_enabled(device=device, actor=request.user, enabled=enable)
                messages.success(request, _("Device enabled.") if enable else _("Device disabled."))
                return redirect("devices:device", pk=device.pk)
            except cloud_errors.CloudError as exc:
                error = exc.message
    return render(request, "devices/device_confirm.html",
                  {"device": device, "action": "enable" if enable else "disable", "error": error},
                  status=400 if error else 200)


@admin_required
@require_POST
def grant_add(request, pk: int):
    device = selectors.device_get_for_user(request, pk)
    form = GrantForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid email address."))
        return redirect("devices:device", pk=device.pk)
    member = services.member_by_email(tenant=request.tenant, email=form.cleaned_data["email"])
    if member is None:
        messages.error(request, _("No member of this company has that email. Invite them as an "
                                  "end user first."))
        return redirect("devices:device", pk=device.pk)
    services.grant_create(tenant=request.tenant, actor=request.user, device=device, user=member.user)
    messages.success(request, _("%(email)s can now see this device.") % {"email": member.user.email})
    return redirect("devices:device", pk=device.pk)


@admin_required
@require_POST
def grant_revoke(request, pk: int, grant_id: int):
    device = selectors.device_get_for_user(request, pk)
    grant = get_object_or_404(DeviceGrant.objects.select_related("user", "device"), pk=grant_id,
                              device=device)
    services.grant_revoke(tenant=request.tenant, actor=request.user, grant=grant)
    messages.success(request, _("Access revoked."))
    return redirect("devices:device", pk=device.pk)


# --- Products and batches ------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def products(request):
    form = ProductForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                product = services.product_create(tenant=request.tenant, actor=request.user,
                                                  **form.cleaned_data)
                messages.success(request, _("Product %(name)s created.") % {"name": product.name})
                return redirect("devices:products")
            except (services.ServiceError, cloud_errors.CloudError) as exc:
                form.add_error(None, exc.message)
        status = 400
    return render(request, "devices/products.html",
                  {"form": form, "products": selectors.product_list(tenant=request.tenant),
                   "batch_form": BatchForm()}, status=status)


@admin_required
@require_POST
def batch_create(request, pk: int):
    product = get_object_or_404(Product, pk=pk, tenant=request.tenant)
    form = BatchForm(request.POST)
    if not form.is_valid():
        return render(request, "devices/products.html",
                      {"form": ProductForm(), "products": selectors.product_list(tenant=request.tenant),
                       "batch_form": form, "batch_product": product}, status=400)
    try:
        batch_id, added = services.device_batch_create(
            tenant=request.tenant, actor=request.user, product=product, **form.cleaned_data)
    except (services.ServiceError, cloud_errors.CloudError) as exc:
        form.add_error(None, exc.message)
        return render(request, "devices/products.html",
                      {"form": ProductForm(), "products": selectors.product_list(tenant=request.tenant),
                       "batch_form": form, "batch_product": product}, status=400)
    messages.success(request, _("Batch %(batch)s made %(count)d device(s).") % {"batch": batch_id,
                                                                               "count": added})
    return redirect(f"{reverse('devices:fleet')}?product={product.pk}")


# --- End users ----------------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def end_users(request):
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                message = services.end_user_invite(
                    tenant=request.tenant, actor=request.user, email=form.cleaned_data["email"],
                    devices=[], accept_url_for=lambda token: _accept_url(request, token))
                messages.success(request, message)
                return redirect("devices:end_users")
            except services.ServiceError as exc:
                form.add_error("email", exc.message)
        status = 400
    viewers = (selectors.member_list(tenant=request.tenant).filter(role=Role.VIEWER))
    grants = {}
    for grant in selectors.grant_list(tenant=request.tenant).filter(user__in=[m.user for m in viewers]):
        grants.setdefault(grant.user_id, []).append(grant.device)
    rows = [(m, grants.get(m.user_id, [])) for m in viewers]
    return render(request, "devices/end_users.html", {"form": form, "rows": rows}, status=status)


def _accept_url(request, token: str) -> str:
    for name in ("invitation_accept", "portal:invitation_accept", "accept_invitation"):
        try:
            return request.build_absolute_uri(reverse(name, args=[token]))
        except NoReverseMatch:
            continue
    return request.build_absolute_uri(f"/invitations/{token}/")


# --- CSV import ----------------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def device_import(request):
    """POST with a file shows the dry run; POST with apply=1 and the same text applies it."""
    if request.method == "GET":
        return render(request, "devices/import.html", {"form": ImportForm()})
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "devices/import.html", {"form": form}, status=400)
    text = form.cleaned_data["text"]
    if request.POST.get("apply") == "1":
        try:
            preview = services.device_import_apply(tenant=request.tenant, actor=request.user, text=text)
        except services.ServiceError as exc:
            preview = services.device_import_preview(tenant=request.tenant, text=text)
            return render(request, "devices/import.html",
                          {"form": ImportForm(initial={"text": text}), "preview": preview,
                           "error": exc.message}, status=400)
        messages.success(request, _("Imported: %(count)d device(s) changed.") % {
            "count": preview.counts["update"]})
        return redirect("devices:fleet")
    preview = services.device_import_preview(tenant=request.tenant, text=text)
    return render(request, "devices/import.html",
                  {"form": ImportForm(initial={"text": text}), "preview": preview},
                  status=200 if preview.ok else 400)


# --- API keys ------------------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    new_key = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                _key, new_key = services.api_key_create(tenant=request.tenant, actor=request.user,
                                                        **form.cleaned_data)
                form = ApiKeyForm()
            except services.ServiceError as exc:
                form.add_error(None, exc.message)
                status = 400
        else:
            status = 400
    keys = ApiKey.objects.filter(tenant=request.tenant).select_related("created_by")
    # The key is shown in this response only; it is never stored or shown again.
    response = TemplateResponse(request, "devices/api_keys.html",
                                {"form": form, "keys": keys, "new_key": new_key}, status=status)
    response["Cache-Control"] = "no-store"
    return response


@admin_required
@require_POST
def api_key_revoke(request, pk: int):
    key = get_object_or_404(ApiKey, pk=pk, tenant=request.tenant)
    services.api_key_revoke(key=key, actor=request.user)
    messages.success(request, _("Key %(name)s revoked.") % {"name": key.name})
    return redirect("devices:api_keys")


__all__ = ["fleet", "SyncRun", "FILTER_FIELDS"]
