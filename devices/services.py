"""Writes of the fleet: the cloud sync, products and devices made or removed in the cloud,
the portal's own metadata (tags, owners, grants), end-user invitations and the CSV import.

Every change a person makes records an audit entry in the same transaction."""
from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import logging
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.api.keys import ApiKey
from devices.models import (
    Device,
    DeviceGrant,
    PackageState,
    Product,
    StreamKind,
    SyncRun,
    normalize_tags,
    tag_index_for,
)
from portal import iotvideo
from portal.audit import audit_record, snapshot
from portal.iotvideo import errors as cloud_errors
from portal.models import AuditEntry, Membership, Role, Tenant

logger = logging.getLogger(__name__)

DEVICE_AUDIT_FIELDS = ["name", "nickname", "tags", "notes", "location", "owner", "enabled"]
PRODUCT_AUDIT_FIELDS = ["product_id", "name", "stream_kind", "low_power", "device_type"]
DEVICE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,48}$")
PREFIX_RE = re.compile(r"^[A-Za-z0-9_-]{1,24}$")
MAX_BATCH = 1000
CHUNK = 500


class ServiceError(Exception):
    """A refused change, with a message fit to show the person who asked for it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _cloud(tenant: Tenant, *, background: bool = False):
    try:
        if background:
            return iotvideo.cloud_for(tenant, priority="background")
        return iotvideo.cloud_for(tenant)
    except cloud_errors.CloudError:
        raise
    except Exception as exc:  # no connection row yet, and the like
        raise cloud_errors.NotConfigured(
            _("This company has no cloud connection yet. An admin sets it up in the cloud settings."),
            code="NotConfigured") from exc


# --- Sync ------------------------------------------------------------------------------------


def sync_run_request(*, tenant: Tenant, actor=None) -> tuple[SyncRun, bool]:
    """A sync run for the tenant: the one already queued or running, else a new one queued
    after the transaction commits. Returns (run, created)."""
    from devices import tasks  # tasks import services; the task module is a thin wrapper

    stale = timezone.now() - dt.timedelta(hours=1)
    with transaction.atomic():
        # Lock the tenant row so two clicks on "Sync now" cannot both queue a run.
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        running = (SyncRun.objects.filter(tenant=tenant, created_at__gte=stale,
                                          status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING])
                   .first())
        if running is not None:
            return running, False
        run = SyncRun.objects.create(tenant=tenant, started_by=actor if actor and actor.is_authenticated else None)
        run_id = run.pk
        transaction.on_commit(lambda: tasks.tenant_sync.apply_async((run_id,), queue=settings.DEVICES_QUEUE))
    return run, True


@dataclass
class _Listing:
    product: Product
    devices: list  # list[iotvideo.types.DeviceInfo]


def _progress(run: SyncRun, **fields) -> None:
    for name, value in fields.items():
        setattr(run, name, value)
    SyncRun.objects.filter(pk=run.pk).update(**fields)


def sync_run_execute(*, run_id: int) -> SyncRun | None:
    """Run a queued sync. Claimed with a conditional UPDATE so a redelivered task (acks late)
    never runs the same sync twice at once."""
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return None
    run = SyncRun.objects.select_related("tenant").get(pk=run_id)
    try:
        tenant_sync(tenant=run.tenant, run=run)
    except cloud_errors.CloudError as exc:
        logger.warning("sync of tenant %s failed: %r", run.tenant_id, exc)
        _progress(run, status=SyncRun.Status.FAILED, error=exc.message, finished_at=timezone.now())
        return run
    except Exception as exc:
        logger.exception("sync of tenant %s crashed", run.tenant_id)
        _progress(run, status=SyncRun.Status.FAILED,
                  error=_("The sync stopped on an unexpected error (%(error)s). Nothing was "
                          "changed by the part that failed.") % {"error": type(exc).__name__},
                  finished_at=timezone.now())
        raise
    _progress(run, status=SyncRun.Status.DONE, finished_at=timezone.now())
    from devices import tasks

    tenant_id = run.tenant_id
    transaction.on_commit(lambda: tasks.tenant_packages_refresh.apply_async(
        (tenant_id,), queue=settings.DEVICES_QUEUE))
    return run


def tenant_sync(*, tenant: Tenant, run: SyncRun, cloud=None) -> SyncRun:
    """Mirror the tenant's products and devices from the cloud.

    Phase 1 reads every product and every page of devices; nothing is written unless the whole
    listing succeeded, because a listing cut short by a cloud error must not mark the missing
    devices as removed. Phase 2 writes the mirror in one transaction with bulk statements.
    The package in force and the queue are read afterwards by tenant_packages_refresh.
    The portal's own metadata (nickname, tags, notes, location, owner, grants, stream kind,
    low-power) is never touched."""
    cloud = cloud or _cloud(tenant, background=True)
    now = timezone.now()

    cloud_products = _read_all(lambda offset: cloud.describe_products(offset=offset, limit=100))
    existing_products = {p.product_id: p for p in Product.objects.filter(tenant=tenant)}
    seen_product_ids = {p.product_id for p in cloud_products}
    _progress(run, products_seen=len(cloud_products))

    # First page of every product tells the total for the progress bar.
    first_pages = {}
    for cp in cloud_products:
        first_pages[cp.product_id] = cloud.describe_devices(cp.product_id, offset=0, limit=100)
    _progress(run, total=sum(p.total for p in first_pages.values()))

    listings: dict[str, list] = {}
    done = 0
    for cp in cloud_products:
        page = first_pages[cp.product_id]
        items = list(page.items)
        done += len(page.items)
        while len(items) < page.total:
            more = cloud.describe_devices(cp.product_id, offset=len(items), limit=100)
            if not more.items:
                break
            items.extend(more.items)
            done += len(more.items)
            _progress(run, done=done)
        listings[cp.product_id] = items
    _progress(run, done=done)

    added = updated = removed = 0
    with transaction.atomic():
        products: dict[str, Product] = {}
        new_products = []
        for cp in cloud_products:
            product = existing_products.get(cp.product_id)
            if product is None:
                product = Product(
                    tenant=tenant, product_id=cp.product_id,
                    stream_kind=(StreamKind.PICTURE if cp.category_id == Product.PICTURE_STREAM_CATEGORY
                                 else StreamKind.VIDEO))
                new_products.append(product)
            product.name = cp.name[:64]
            product.device_type = cp.device_type
            product.category_id = cp.category_id
            product.description = (cp.description or "")[:256]
            product.removed_upstream = False
            product.synced_at = now
            products[cp.product_id] = product
        Product.objects.bulk_create(new_products)
        Product.objects.bulk_update(
            [p for p in products.values() if p.pk and p not in new_products],
            ["name", "device_type", "category_id", "description", "removed_upstream", "synced_at"])
        gone_products = [p.pk for pid, p in existing_products.items() if pid not in seen_product_ids]
        Product.objects.filter(pk__in=gone_products).update(removed_upstream=True)
        for product in new_products:  # bulk_create sets pks on PostgreSQL and SQLite
            products[product.product_id] = product

        for product_id, infos in listings.items():
            product = products[product_id]
            a, u, r = _devices_write(tenant=tenant, product=product, infos=infos, now=now)
            added, updated, removed = added + a, updated + u, removed + r
        # Devices of a product that vanished upstream are gone with it.
        removed += Device.objects.filter(product_id__in=gone_products, removed_upstream=False).update(
            removed_upstream=True, online=0)
    _progress(run, devices_added=added, devices_updated=updated, devices_removed=removed)

    return run


def tenant_packages_refresh(*, tenant: Tenant, limit: int = 2000) -> tuple[int, int, list[str]]:
    """Read the package in force and the queue of up to `limit` devices whose package may have
    changed: never read, not read for DEVICES_PACKAGE_REFRESH_SECONDS, or past their expiry.

    This is one call per device, and the cloud allows about 20 calls per second per action
    (the client keeps background work to part of that), so it runs after the listing in its
    own task, a chunk at a time. Returns (read, still stale, failure messages)."""
    now = timezone.now()
    stale_before = now - dt.timedelta(seconds=settings.DEVICES_PACKAGE_REFRESH_SECONDS)
    stale = (Device.objects.filter(tenant=tenant, removed_upstream=False)
             .filter(_package_stale_q(now=now, stale_before=stale_before)))
    to_read = list(stale.select_related("product").only("id", "name", "product__product_id")
                   .order_by("packages_synced_at", "id")[:limit])
    read, failures = devices_packages_refresh(tenant=tenant, devices=to_read)
    remaining = max(0, stale.count()) if len(to_read) == limit and read else 0
    return read, remaining, failures


def _package_stale_q(*, now, stale_before):
    from django.db.models import Q

    return (Q(packages_synced_at__isnull=True) | Q(packages_synced_at__lt=stale_before)
            | Q(package_state=PackageState.ACTIVE, package_expires_at__lte=now))


def _read_all(fetch: Callable[[int], object]) -> list:
    items: list = []
    while True:
        page = fetch(len(items))
        items.extend(page.items)
        if not page.items or len(items) >= page.total:
            return items


def _devices_write(*, tenant, product, infos, now) -> tuple[int, int, int]:
    """Write one product's listing: create new devices, update changed cloud fields, mark the
    missing ones removed. Returns (added, updated, removed)."""
    existing = {d.name: d for d in Device.objects.filter(tenant=tenant, product=product).only(
        "id", "name", "online", "enabled", "last_seen_at", "removed_upstream")}
    new, changed = [], []
    seen = set()
    for info in infos:
        seen.add(info.device_name)
        device = existing.get(info.device_name)
        last_seen = info.login_at
        if device is None:
            new.append(Device(tenant=tenant, product=product, name=info.device_name,
                              online=info.online, enabled=info.enabled, last_seen_at=last_seen,
                              synced_at=now))
            continue
        if (device.online, device.enabled, device.last_seen_at, device.removed_upstream) != (
                info.online, info.enabled, last_seen, False):
            device.online, device.enabled = info.online, info.enabled
            device.last_seen_at, device.removed_upstream = last_seen, False
            device.synced_at = now
            changed.append(device)
    Device.objects.bulk_create(new, batch_size=CHUNK)
    Device.objects.bulk_update(changed, ["online", "enabled", "last_seen_at", "removed_upstream",
                                         "synced_at"], batch_size=CHUNK)
    gone = [d.pk for name, d in existing.items() if name not in seen and not d.removed_upstream]
    for i in range(0, len(gone), CHUNK):
        Device.objects.filter(pk__in=gone[i:i + CHUNK]).update(removed_upstream=True, online=0)
    return len(new), len(changed), len(gone)


def _package_fields(packages) -> dict:
    """The mirror's package columns from DescribeDevicePackages' list."""
    in_force = [p for p in packages if p.status == 2]
    waiting = [p for p in packages if p.status == 0]
    expired = [p for p in packages if p.status == 1]
    if in_force:
        p = max(in_force, key=lambda p: p.expires_at or timezone.now())
        return {"package_state": PackageState.ACTIVE, "package_type": p.type,
                "package_retention_days": p.retention_days, "package_expires_at": p.expires_at,
                "package_queued_count": len(waiting)}
    if expired or waiting:
        last = max(expired, key=lambda p: p.expires_at or dt.datetime.min.replace(tzinfo=dt.UTC),
                   default=None)
        return {"package_state": PackageState.EXPIRED if expired else PackageState.NONE,
                "package_type": last.type if last else None,
                "package_retention_days": last.retention_days if last else None,
                "package_expires_at": last.expires_at if last else None,
                "package_queued_count": len(waiting)}
    return {"package_state": PackageState.NONE, "package_type": None,
            "package_retention_days": None, "package_expires_at": None, "package_queued_count": 0}


PACKAGE_FIELDS = ["package_state", "package_type", "package_retention_days", "package_expires_at",
                  "package_queued_count", "packages_synced_at"]


def devices_packages_refresh(*, tenant: Tenant, devices: list[Device],
                             on_progress: Callable[[int], None] | None = None,
                             ) -> tuple[int, list[str]]:
    """Read the package in force and the queue of each device from the cloud and store them.

    The reads run on a few threads (each with its own client: the SDK's client is not shared
    across threads); the database writes stay on this thread, one chunk at a time, so a failed
    read leaves that device as it was. Returns (devices read, messages of failed reads)."""
    local = threading.local()

    def read(device: Device):
        cloud = getattr(local, "cloud", None)
        if cloud is None:
            cloud = local.cloud = _cloud(tenant, background=True)
        try:
            return device, cloud.describe_device_packages(device.product.product_id, device.name), None
        except cloud_errors.CloudError as exc:
            return device, None, exc

    read_count, failures = 0, []
    workers = max(1, settings.DEVICES_SYNC_THREADS)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i in range(0, len(devices), CHUNK):
            results = list(pool.map(read, devices[i:i + CHUNK]))
            now = timezone.now()
            batch = []
            for device, packages, error in results:
                if error is not None:
                    if not isinstance(error, cloud_errors.NotFound):
                        failures.append(error.message)
                    continue
                for name, value in _package_fields(packages).items():
                    setattr(device, name, value)
                device.packages_synced_at = now
                batch.append(device)
            with transaction.atomic():
                Device.objects.bulk_update(batch, PACKAGE_FIELDS, batch_size=CHUNK)
            read_count += len(batch)
            if on_progress:
                on_progress(read_count)
    return read_count, failures


def device_refresh(*, device: Device) -> Device:
    """Re-read one device from the cloud now (DescribeDevice for online state and last login,
    DescribeDevicePackages for the package and the queue)."""
    cloud = _cloud(device.tenant)
    try:
        info = cloud.describe_device(device.product.product_id, device.name)
    except cloud_errors.NotFound:
        Device.objects.filter(pk=device.pk).update(removed_upstream=True, online=0)
        device.removed_upstream, device.online = True, 0
        return device
    packages = cloud.describe_device_packages(device.product.product_id, device.name)
    device.online, device.enabled, device.last_seen_at = info.online, info.enabled, info.login_at
    device.removed_upstream = False
    for name, value in _package_fields(packages).items():
        setattr(device, name, value)
    device.synced_at = device.packages_synced_at = timezone.now()
    device.save(update_fields=["online", "enabled", "last_seen_at", "removed_upstream",
                               "synced_at", *PACKAGE_FIELDS])
    return device


# --- Products and devices in the cloud -------------------------------------------------------


def product_create(*, tenant: Tenant, actor, name: str, stream_kind: str, low_power: bool,
                   device_type: int = 1, description: str = "") -> Product:
    """Create a product in the cloud and mirror it. A picture-stream product is made in the
    visual-intercom-lock category (595): the category is what makes the cloud store MJPEG + AAC
    events instead of HLS video for its devices."""
    name = name.strip()
    if not name:
        raise ServiceError(_("Give the product a name."))
    if stream_kind not in StreamKind.values:
        raise ServiceError(_("Choose video stream or picture stream."))
    category = Product.PICTURE_STREAM_CATEGORY if stream_kind == StreamKind.PICTURE else 0
    cloud = _cloud(tenant)
    created = cloud.create_product(name, device_type=device_type, category_id=category,
                                   description=description)
    with transaction.atomic():
        product, _created = Product.objects.update_or_create(
            tenant=tenant, product_id=created.product_id,
            defaults={"name": created.name or name, "device_type": created.device_type or device_type,
                      "category_id": category, "description": description,
                      "stream_kind": stream_kind, "low_power": low_power,
                      "removed_upstream": False, "synced_at": timezone.now()})
        audit_record(tenant=tenant, actor=actor, action="create", obj=product,
                     after=snapshot(product, PRODUCT_AUDIT_FIELDS))
    return product


def product_update(*, product: Product, actor, low_power: bool) -> Product:
    """The portal's own knowledge of a product (the cloud does not hold it)."""
    before = snapshot(product, PRODUCT_AUDIT_FIELDS)
    with transaction.atomic():
        product.low_power = low_power
        product.save(update_fields=["low_power"])
        audit_record(tenant=product.tenant, actor=actor, action="update", obj=product,
                     before=before, after=snapshot(product, PRODUCT_AUDIT_FIELDS))
    return product


def device_batch_create(*, tenant: Tenant, actor, product: Product, prefix: str,
                        count: int) -> tuple[int, int]:
    """CreateBatch in the cloud, then mirror the product's devices. Returns (batch id, devices
    added to the mirror)."""
    if product.tenant_id != tenant.pk:
        raise ServiceError(_("Unknown product."))
    if not PREFIX_RE.match(prefix or ""):
        raise ServiceError(_("The prefix may hold 1 to 24 letters, digits, '_' and '-'."))
    if not 1 <= count <= MAX_BATCH:
        raise ServiceError(_("Make between 1 and %(max)d devices at once.") % {"max": MAX_BATCH})
    cloud = _cloud(tenant)
    batch_id = cloud.create_batch(product.product_id, count=count, prefix=prefix)
    infos = _read_all(lambda offset: cloud.describe_devices(product.product_id, offset=offset,
                                                            limit=100))
    with transaction.atomic():
        added, _u, _r = _devices_write(tenant=tenant, product=product, infos=infos,
                                       now=timezone.now())
        audit_record(tenant=tenant, actor=actor, action="create_batch", obj=product,
                     after={"batch_id": batch_id, "prefix": prefix, "count": count,
                            "added": added})
    return batch_id, added


def device_delete(*, device: Device, actor) -> Device:
    """Delete the device in the cloud. The portal keeps its row (marked removed upstream) so
    its orders and audit trail stay readable."""
    cloud = _cloud(device.tenant)
    # Already gone upstream is fine: the portal only has to catch up.
    with contextlib.suppress(cloud_errors.NotFound):
        cloud.delete_device(device.product.product_id, device.name)
    before = snapshot(device, DEVICE_AUDIT_FIELDS)
    with transaction.atomic():
        device.removed_upstream, device.online, device.enabled = True, 0, False
        device.save(update_fields=["removed_upstream", "online", "enabled"])
        audit_record(tenant=device.tenant, actor=actor, action="delete", obj=device,
                     before=before, after=snapshot(device, DEVICE_AUDIT_FIELDS))
    return device


def device_set_enabled(*, device: Device, actor, enabled: bool) -> Device:
    cloud = _cloud(device.tenant)
    cloud.modify_device(device.product.product_id, device.name, enabled=enabled)
    before = snapshot(device, DEVICE_AUDIT_FIELDS)
    with transaction.atomic():
        device.enabled = enabled
        device.save(update_fields=["enabled"])
        audit_record(tenant=device.tenant, actor=actor,
                     action="enable" if enabled else "disable", obj=device,
                     before=before, after=snapshot(device, DEVICE_AUDIT_FIELDS))
    return device


def device_update(*, device: Device, actor, nickname: str, tags: list[str], notes: str,
                  location: str) -> Device:
    before = snapshot(device, DEVICE_AUDIT_FIELDS)
    with transaction.atomic():
        device.nickname, device.tags = nickname.strip(), normalize_tags(tags)
        device.notes, device.location = notes, location.strip()
        device.save(update_fields=["nickname", "tags", "notes", "location"])
        audit_record(tenant=device.tenant, actor=actor, action="update", obj=device,
                     before=before, after=snapshot(device, DEVICE_AUDIT_FIELDS))
    return device


# --- Bulk actions ------------------------------------------------------------------------------


def _bulk_audit(*, tenant, actor, action: str, devices: list[Device], before: dict[int, dict],
                after: dict) -> None:
    """One audit entry per device, written in one statement: a bulk action over thousands of
    devices must still show on each device's trail. The same fields audit_record writes."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    label = Device._meta.label
    AuditEntry.objects.bulk_create(
        [AuditEntry(tenant=tenant, actor=actor, action=action, object_type=label,
                    object_id=str(d.pk), object_repr=str(d)[:200], before=before.get(d.pk),
                    after=after) for d in devices], batch_size=CHUNK)


def devices_tag(*, tenant: Tenant, actor, devices: QuerySet[Device], add: Iterable[str] = (),
                remove: Iterable[str] = ()) -> int:
    """Add and remove tags on every device of `devices`. Returns how many changed."""
    add, remove = normalize_tags(add), set(normalize_tags(remove))
    if not add and not remove:
        raise ServiceError(_("Name at least one tag to add or remove."))
    changed = 0
    with transaction.atomic():
        for chunk in _chunks(devices.filter(tenant=tenant).only("id", "name", "nickname", "tags")):
            batch, before = [], {}
            for device in chunk:
                tags = [t for t in device.tags if t not in remove] + [t for t in add if t not in device.tags]
                if tags != device.tags:
                    before[device.pk] = {"tags": device.tags}
                    device.tags, device.tag_index = tags, tag_index_for(tags)
                    batch.append(device)
            Device.objects.bulk_update(batch, ["tags", "tag_index"], batch_size=CHUNK)
            _bulk_audit(tenant=tenant, actor=actor, action="tag", devices=batch, before=before,
                        after={"added": add, "removed": sorted(remove)})
            changed += len(batch)
    return changed


def member_by_email(*, tenant: Tenant, email: str) -> Membership | None:
    return (Membership.objects.filter(tenant=tenant, user__email__iexact=email.strip())
            .select_related("user").first())


def devices_assign_owner(*, tenant: Tenant, actor, devices: QuerySet[Device], owner) -> int:
    """Make `owner` (a member of the tenant, or None) the owner of the devices. An owner who
    is an end user (viewer) is granted the devices, or they could not see their own cameras."""
    membership = None
    if owner is not None:
        membership = Membership.objects.filter(tenant=tenant, user=owner).first()
        if membership is None:
            raise ServiceError(_("The owner must be a member of this company."))
    changed = 0
    with transaction.atomic():
        for chunk in _chunks(devices.filter(tenant=tenant).only("id", "name", "nickname", "owner_id")):
            batch = [d for d in chunk if d.owner_id != (owner.pk if owner else None)]
            before = {d.pk: {"owner": d.owner_id} for d in batch}
            for device in batch:
                device.owner = owner
            Device.objects.bulk_update(batch, ["owner"], batch_size=CHUNK)
            if membership is not None and membership.role == Role.VIEWER:
                DeviceGrant.objects.bulk_create([DeviceGrant(device=d, user=owner) for d in chunk],
                                                ignore_conflicts=True, batch_size=CHUNK)
            _bulk_audit(tenant=tenant, actor=actor, action="owner", devices=batch, before=before,
                        after={"owner": owner.pk if owner else None})
            changed += len(batch)
    return changed


def _chunks(qs: QuerySet[Device]):
    """The queryset in id order, CHUNK rows at a time, each chunk locked while it changes."""
    last = 0
    while True:
        chunk = list(qs.select_related(None).filter(pk__gt=last).order_by("pk")
                     .select_for_update(of=("self",))[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


# --- End users: grants and invitations ---------------------------------------------------------


def grant_create(*, tenant: Tenant, actor, device: Device, user) -> DeviceGrant:
    if device.tenant_id != tenant.pk:
        raise ServiceError(_("Unknown device."))
    if not Membership.objects.filter(tenant=tenant, user=user).exists():
        raise ServiceError(_("Only members of this company can be granted devices."))
    with transaction.atomic():
        grant, created = DeviceGrant.objects.get_or_create(device=device, user=user)
        if created:
            audit_record(tenant=tenant, actor=actor, action="grant", obj=device,
                         after={"user": user.pk, "email": user.email})
    return grant


def grant_revoke(*, tenant: Tenant, actor, grant: DeviceGrant) -> None:
    if grant.device.tenant_id != tenant.pk:
        raise ServiceError(_("Unknown grant."))
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="revoke", obj=grant.device,
                     before={"user": grant.user_id, "email": grant.user.email})
        grant.delete()


def end_user_invite(*, tenant: Tenant, actor, email: str, devices: list[Device],
                    accept_url_for: Callable[[str], str]) -> str:
    """Invite an end user (viewer) by email; an existing member is granted the devices at once.

    Returns a sentence for the admin saying what happened."""
    from portal import services as portal_services

    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError(_("Enter a valid email address."))
    member = member_by_email(tenant=tenant, email=email)
    if member is not None:
        for device in devices:
            grant_create(tenant=tenant, actor=actor, device=device, user=member.user)
        return _("%(email)s is already a member; %(count)d device(s) granted.") % {
            "email": email, "count": len(devices)}
    try:
        portal_services.invitation_create(tenant=tenant, actor=actor, email=email,
                                          role=Role.VIEWER, accept_url_for=accept_url_for)
    except portal_services.ServiceError as exc:
        raise ServiceError(exc.message)
    return _("Invitation sent to %(email)s. Grant devices once they have accepted.") % {"email": email}


# --- CSV import ----------------------------------------------------------------------------------

IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_ROWS = 20000
IMPORT_COLUMNS = {"device", "product", "nickname", "tags", "owner_email"}


@dataclass
class ImportRow:
    line: int
    device_name: str
    device: Device | None = None
    changes: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if self.errors:
            return "error"
        return "update" if self.changes else "unchanged"


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    errors: list[str]  # problems of the file itself

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.errors for r in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"update": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            counts[row.outcome] += 1
        return counts


def device_import_preview(*, tenant: Tenant, text: str) -> ImportPreview:
    """What importing this CSV would do, row by row, without writing anything.

    Columns (header row, any order): device (required), product (product id; needed only when
    two products hold devices of the same name), nickname, tags (separated by ';'), owner_email.
    An empty cell leaves that field as it is."""
    if len(text.encode()) > IMPORT_MAX_BYTES:
        return ImportPreview([], [_("The file is larger than 2 MB; split it.")])
    text = text.lstrip("\ufeff")  # Excel writes a byte-order mark
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        return ImportPreview([], [_("This is not a readable CSV file: %(error)s") % {"error": exc}])
    if "device" not in header:
        return ImportPreview([], [_("The first row must name the columns and include 'device'.")])
    unknown = [h for h in header if h not in IMPORT_COLUMNS]
    if unknown:
        return ImportPreview([], [_("Unknown column(s): %(cols)s. Allowed: %(allowed)s.") % {
            "cols": ", ".join(unknown), "allowed": ", ".join(sorted(IMPORT_COLUMNS))}])
    reader.fieldnames = header
    try:
        raw_rows = list(reader)
    except csv.Error as exc:
        return ImportPreview([], [_("This is not a readable CSV file: %(error)s") % {"error": exc}])
    if not raw_rows:
        return ImportPreview([], [_("The file has no rows below the header.")])
    if len(raw_rows) > IMPORT_MAX_ROWS:
        return ImportPreview([], [_("At most %(max)d rows at once.") % {"max": IMPORT_MAX_ROWS}])

    names = {(r.get("device") or "").strip() for r in raw_rows}
    by_name: dict[str, list[Device]] = {}
    for device in Device.objects.filter(tenant=tenant, name__in=names).select_related("product", "owner"):
        by_name.setdefault(device.name, []).append(device)
    emails = {(r.get("owner_email") or "").strip().lower() for r in raw_rows} - {""}
    members = {m.user.email.lower(): m for m in Membership.objects.filter(
        tenant=tenant, user__email__in=list(emails)).select_related("user")}
    # Case-insensitive match for the rest (rare; one query).
    missing = emails - members.keys()
    if missing:
        for m in Membership.objects.filter(tenant=tenant).select_related("user"):
            if m.user.email.lower() in missing:
                members[m.user.email.lower()] = m
    User = get_user_model()
    elsewhere = set(User.objects.filter(email__in=list(emails - members.keys()))
                    .values_list("email", flat=True)) if emails - members.keys() else set()
    elsewhere = {e.lower() for e in elsewhere}

    rows: list[ImportRow] = []
    seen_devices: dict[int, int] = {}
    for number, raw in enumerate(raw_rows, start=2):
        if None in raw:  # more cells than columns
            row = ImportRow(number, (raw.get("device") or "").strip())
            row.errors.append(_("This row has more cells than the header has columns."))
            rows.append(row)
            continue
        name = (raw.get("device") or "").strip()
        row = ImportRow(number, name)
        rows.append(row)
        if not name:
            row.errors.append(_("The device name is empty."))
            continue
        candidates = by_name.get(name, [])
        product_id = (raw.get("product") or "").strip()
        if product_id:
            candidates = [d for d in candidates if d.product.product_id == product_id]
        if not candidates:
            # A device of another company is "unknown" too: the import never reveals it.
            row.errors.append(_("Unknown device “%(name)s”.") % {"name": name})
            continue
        if len(candidates) > 1:
            row.errors.append(_("Several products hold a device named “%(name)s”; add a product "
                                "column.") % {"name": name})
            continue
        device = row.device = candidates[0]
        if device.pk in seen_devices:
            row.errors.append(_("The same device is already on line %(line)d.") % {
                "line": seen_devices[device.pk]})
            continue
        seen_devices[device.pk] = number
        nickname = (raw.get("nickname") or "").strip()
        if nickname:
            if len(nickname) > 100:
                row.errors.append(_("The nickname is longer than 100 characters."))
            elif nickname != device.nickname:
                row.changes["nickname"] = nickname
        tags_cell = (raw.get("tags") or "").strip()
        if tags_cell:
            tags = normalize_tags(tags_cell.split(";"))
            if tags != device.tags:
                row.changes["tags"] = tags
        email = (raw.get("owner_email") or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                row.errors.append(_("“%(email)s” is not a valid email address.") % {"email": email})
                continue
            member = members.get(email.lower())
            if member is None:
                if email.lower() in elsewhere:
                    row.errors.append(_("%(email)s belongs to another company, not this one; "
                                        "invite them first.") % {"email": email})
                else:
                    row.errors.append(_("No member has the email %(email)s; invite them first.")
                                      % {"email": email})
            elif member.user_id != device.owner_id:
                row.changes["owner"] = member.user
    return ImportPreview(rows, [])


def device_import_apply(*, tenant: Tenant, actor, text: str) -> ImportPreview:
    """Apply the CSV: every row or none. Refused when the preview shows any error."""
    preview = device_import_preview(tenant=tenant, text=text)
    if not preview.ok:
        raise ServiceError(_("The file has errors; nothing was changed. Fix them and try again."))
    with transaction.atomic():
        for row in preview.rows:
            if not row.changes:
                continue
            device = Device.objects.select_for_update().get(pk=row.device.pk)
            before = snapshot(device, DEVICE_AUDIT_FIELDS)
            for name, value in row.changes.items():
                setattr(device, name, value)
            device.save(update_fields=[*row.changes.keys(), "tag_index"])
            owner = row.changes.get("owner")
            if owner is not None and Membership.objects.filter(
                    tenant=tenant, user=owner, role=Role.VIEWER).exists():
                DeviceGrant.objects.get_or_create(device=device, user=owner)
            audit_record(tenant=tenant, actor=actor, action="import", obj=device, before=before,
                         after=snapshot(device, DEVICE_AUDIT_FIELDS))
    return preview


# --- API keys ------------------------------------------------------------------------------------


def api_key_create(*, tenant: Tenant, actor, name: str, role: str) -> tuple[ApiKey, str]:
    """A new key; the full key is returned once and never stored."""
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the key a name."))
    if role not in Role.values:
        raise ServiceError(_("Choose a valid role."))
    full, lookup, key_hash = ApiKey.new_key_material()
    with transaction.atomic():
        key = ApiKey.objects.create(tenant=tenant, name=name[:100], role=role, lookup=lookup,
                                    key_hash=key_hash, created_by=actor)
        audit_record(tenant=tenant, actor=actor, action="create", obj=key,
                     after={"name": key.name, "role": role})
    return key, full


def api_key_revoke(*, key: ApiKey, actor) -> ApiKey:
    with transaction.atomic():
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(tenant=key.tenant, actor=actor, action="revoke", obj=key,
                         after={"name": key.name})
    return key
