"""Writes of the packages feature: prices, purchases (draft → review → confirm), submitting
orders to the cloud exactly once, reconciliation, renewals, transfer, reset and free trials."""
import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.models import Device, PackageState
from devices.order_models import (
    OPEN_STATES,
    Order,
    OrderKind,
    OrderState,
    PackagePrice,
    Purchase,
    StartMode,
)
from devices.packages import catalog, selectors
from portal import iotvideo
from portal.audit import audit_record, snapshot
from portal.iotvideo import errors
from portal.iotvideo.types import PackageInfo, PackageStatus
from portal.models import Membership, Role

log = logging.getLogger(__name__)

ORDER_FIELDS = ["state", "package_id", "start_at", "expires_at", "failure_code",
                "failure_reason", "device"]


class PurchaseError(Exception):
    """A purchase that cannot go ahead as asked; the message is for the person who asked."""


PENDING_LEASES = 10


def lease_seconds() -> int:
    return int(getattr(settings, "PACKAGES_SUBMIT_LEASE_SECONDS", 30))


def _cloud(tenant, *, background: bool):
    return iotvideo.cloud_for(tenant, priority="background") if background else iotvideo.cloud_for(tenant)


# --- prices ---------------------------------------------------------------------------------

def price_set(*, tenant, user, package_id: str, price_cents: int | None, currency: str) -> None:
    """Sets (or with None clears) the tenant's price of a package, audited."""
    if catalog.parse(package_id) is None:
        raise PurchaseError(_("Unknown package %(id)s.") % {"id": package_id})
    current = PackagePrice.objects.filter(tenant=tenant, package_id=package_id).first()
    before = snapshot(current, ["price_cents", "currency"]) if current else None
    if price_cents is None:
        if current:
            current.delete()
            audit_record(tenant=tenant, actor=user, action="delete", object_type="devices.PackagePrice",
                         object_id=package_id, object_repr=package_id, before=before)
        return
    if current and current.price_cents == price_cents and current.currency == currency:
        return
    price, _created = PackagePrice.objects.update_or_create(
        tenant=tenant, package_id=package_id,
        defaults={"price_cents": price_cents, "currency": currency, "updated_by": user})
    audit_record(tenant=tenant, actor=user, action="update" if current else "create", obj=price,
                 before=before, after=snapshot(price, ["price_cents", "currency"]))


# --- purchase: draft, review, confirm -------------------------------------------------------

def purchase_draft_create(*, tenant, user, package_id: str, start_mode: str, device_ids: list[int],
                          token: str | None = None, kind: str = OrderKind.PURCHASE) -> Purchase:
    """Keeps the selection, package and start mode for the review page. The same token gives
    back the same draft, so a form sent twice makes one draft."""
    if catalog.parse(package_id) is None or package_id in catalog.FREE_TRIAL_IDS:
        raise PurchaseError(_("Choose a package from the catalog."))
    if start_mode not in StartMode.values:
        raise PurchaseError(_("Choose how the package starts."))
    ids = sorted({int(i) for i in device_ids})
    if not ids:
        raise PurchaseError(_("Select at least one device."))
    if len(ids) > selectors.SELECTION_LIMIT:
        raise PurchaseError(_("At most %(n)s devices can be bought for at once.") %
                            {"n": selectors.SELECTION_LIMIT})
    # Only the tenant's own devices ever enter a purchase.
    ids = list(Device.objects.filter(tenant=tenant, pk__in=ids).order_by("pk").values_list("pk", flat=True))
    if not ids:
        raise PurchaseError(_("None of the selected devices exist in this company."))
    token = token or secrets.token_urlsafe(24)
    purchase, _created = Purchase.objects.get_or_create(
        tenant=tenant, token=token,
        defaults={"package_id": package_id, "start_mode": start_mode, "device_ids": ids,
                  "created_by": user, "kind": kind})
    return purchase


@dataclass
class DeviceReview:
    device: Device
    reason: str | None = None  # why it cannot take the package
    start: datetime | None = None
    expires: datetime | None = None
    effect: str = ""
    cloud_error: str = ""
    current: list[PackageInfo] = field(default_factory=list)


@dataclass
class PurchaseReview:
    purchase: Purchase
    package: catalog.Package
    eligible_ids: list[int]
    ineligible: list[DeviceReview]
    price: PackagePrice | None
    rows: list[DeviceReview]  # this page of the table, with the cloud's current packages
    with_package_now: int  # from the last sync, for the summary

    @property
    def total_cents(self) -> int | None:
        return self.price.price_cents * len(self.eligible_ids) if self.price else None

    @property
    def total(self) -> Decimal | None:
        return Decimal(self.total_cents) / 100 if self.price else None

    @property
    def unit_price(self) -> Decimal | None:
        return Decimal(self.price.price_cents) / 100 if self.price else None


def _describe(package: catalog.Package) -> str:
    return package.name


def project(*, package: catalog.Package, start_mode: str, current: list[PackageInfo],
            now: datetime) -> tuple[datetime, datetime, str]:
    """Where the new package will sit in the device's queue: (start, expiry, what happens to the
    package in force), from the cloud's rules for Override and PackageQueue front/end."""
    in_force = [p for p in current if p.status == PackageStatus.IN_FORCE]
    bought = [p for p in current if p.status in (PackageStatus.IN_FORCE, PackageStatus.WAITING)]
    ends = max((p.expires_at for p in bought if p.expires_at), default=None)
    if start_mode == StartMode.END:
        start = max(ends, now) if ends else now
        if ends and ends > now:
            effect = _("Starts when the packages already bought end.")
        else:
            effect = _("Starts now: no package is in force.")
    elif start_mode == StartMode.OVERRIDE:
        start = now
        if in_force:
            effect = _("Replaces %(pkg)s, which would have run until %(until)s.") % {
                "pkg": catalog.package_name(in_force[0].package_id),
                "until": _fmt(in_force[0].expires_at)}
        else:
            effect = _("Starts now: no package is in force.")
    else:
        start = now
        if in_force:
            effect = _("%(pkg)s pauses and resumes after this one, until about %(until)s.") % {
                "pkg": catalog.package_name(in_force[0].package_id),
                "until": _fmt(in_force[0].expires_at + package.duration
                              if in_force[0].expires_at else None)}
        else:
            effect = _("Starts now: no package is in force.")
    return start, start + package.duration, effect


def _fmt(moment: datetime | None) -> str:
    if moment is None:
        return _("no end")
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def purchase_review(*, purchase: Purchase, page_ids: list[int] | None = None,
                    now: datetime | None = None) -> PurchaseReview:
    """Eligibility for every device of the purchase, the total, and for the devices of one page
    of the table the cloud's current packages and where the new one will sit. Only one page is
    read from the cloud: a thousand devices make a summary and a paged table, not a thousand
    calls on one page load."""
    now = now or timezone.now()
    package = catalog.parse(purchase.package_id)
    devices = list(selectors.devices_by_ids(tenant=purchase.tenant, ids=purchase.device_ids).order_by("pk"))
    eligible_ids, ineligible = [], []
    for device in devices:
        reason = catalog.ineligibility_reason(package, device)
        if reason:
            ineligible.append(DeviceReview(device=device, reason=reason))
        else:
            eligible_ids.append(device.pk)
    by_id = {d.pk: d for d in devices}
    rows = []
    cloud = None
    for device_id in page_ids or []:
        device = by_id.get(device_id)
        if device is None:
            continue
        row = DeviceReview(device=device, reason=catalog.ineligibility_reason(package, device))
        if row.reason is None:
            try:
                cloud = cloud or _cloud(purchase.tenant, background=False)
                row.current = cloud.describe_device_packages(device.product.product_id, device.name)
            except errors.CloudError as exc:
                row.cloud_error = exc.message
            row.start, row.expires, row.effect = project(
                package=package, start_mode=purchase.start_mode, current=row.current, now=now)
        rows.append(row)
    price = selectors.price_map(tenant=purchase.tenant).get(purchase.package_id)
    eligible = set(eligible_ids)
    with_package = sum(1 for d in devices if d.pk in eligible
                       and d.package_state == PackageState.ACTIVE)
    return PurchaseReview(purchase=purchase, package=package, eligible_ids=eligible_ids,
                          ineligible=ineligible, price=price, rows=rows,
                          with_package_now=with_package)


def purchase_confirm(*, purchase: Purchase, user) -> list[Order]:
    """Turns a draft into one pending Order per eligible device, each with its own OrderId, in
    one transaction, and queues their submission once it commits. Confirming twice (double
    click, reload, a retried API call) finds the purchase confirmed and creates nothing."""
    with transaction.atomic():
        claimed = Purchase.objects.filter(pk=purchase.pk, status=Purchase.Status.DRAFT).update(
            status=Purchase.Status.CONFIRMED, confirmed_at=timezone.now())
        if not claimed:
            return []
        purchase.refresh_from_db()
        review = purchase_review(purchase=purchase)
        if not review.eligible_ids:
            raise PurchaseError(_("None of the selected devices can take this package."))
        price = review.price
        orders = [
            Order(tenant=purchase.tenant, purchase=purchase, device_id=device_id,
                  kind=purchase.kind, package_id=purchase.package_id,
                  start_mode=purchase.start_mode,
                  price_cents=price.price_cents if price else None,
                  currency=price.currency if price else purchase.tenant.currency,
                  created_by=user)
            for device_id in review.eligible_ids
        ]
        Order.objects.bulk_create(orders, batch_size=500)
        ids = list(purchase.orders.values_list("pk", flat=True))
        audit_record(tenant=purchase.tenant, actor=user, action="purchase", obj=purchase,
                     after={"package_id": purchase.package_id, "start_mode": purchase.start_mode,
                            "orders": len(ids),
                            "ineligible": [r.device.pk for r in review.ineligible]})
        transaction.on_commit(lambda: orders_enqueue(order_pks=ids))
    return list(purchase.orders.all())


def purchase_direct(*, tenant, user, package_id: str, start_mode: str, device_ids: list[int],
                    token: str, kind: str = OrderKind.PURCHASE) -> tuple[Purchase, bool]:
    """Draft and confirm in one step (API, renewals). Returns (purchase, created)."""
    existing = Purchase.objects.filter(tenant=tenant, token=token).first()
    if existing is not None and existing.status == Purchase.Status.CONFIRMED:
        return existing, False
    try:
        purchase = purchase_draft_create(tenant=tenant, user=user, package_id=package_id,
                                         start_mode=start_mode, device_ids=device_ids,
                                         token=token, kind=kind)
    except IntegrityError:  # a concurrent request with the same token won the race
        return Purchase.objects.get(tenant=tenant, token=token), False
    created = bool(purchase_confirm(purchase=purchase, user=user))
    return purchase, created


# Above this many orders, one task queues the rest, so the person who clicked Confirm does not
# wait for the messages to be published.
DISPATCH_THRESHOLD = 20


def chunk_size() -> int:
    return max(1, int(getattr(settings, "PACKAGES_SUBMIT_CHUNK", 10)))


def orders_enqueue(*, order_pks, direct: bool = False) -> None:
    """Queues the submission of these orders: one order alone as `order_submit` (a retry, a
    free trial), more in chunks of PACKAGES_SUBMIT_CHUNK per `orders_submit` task. A message
    and a task per order cost the worker as much as the order's own database writes."""
    from devices.packages.tasks import order_submit, orders_dispatch, orders_submit

    order_pks = list(order_pks)
    queue = getattr(settings, "PACKAGES_QUEUE", None) or None
    if len(order_pks) == 1:
        order_submit.apply_async(args=order_pks, queue=queue)
        return
    if not direct and len(order_pks) > DISPATCH_THRESHOLD:
        orders_dispatch.apply_async(args=[order_pks], queue=queue)
        return
    size = chunk_size()
    for start in range(0, len(order_pks), size):
        orders_submit.apply_async(args=[order_pks[start:start + size]], queue=queue)


# --- submitting an order exactly once ----------------------------------------------------------

_ORDER_STATUS_TO_STATE = {
    PackageStatus.IN_FORCE: OrderState.ACTIVE,
    PackageStatus.WAITING: OrderState.QUEUED,
    PackageStatus.EXPIRED: OrderState.EXPIRED,
}


def order_claim(*, order_pk: int) -> Order | None:
    """Takes the order for this run, or returns None when another run holds it or it is done.

    A pending order is claimed with a conditional UPDATE (pending → submitting); one already
    submitting is taken over only when its lease ran out — its worker died or its retry is due
    — and then the cloud is asked about the OrderId before anything is bought."""
    now = timezone.now()
    lease = now + timedelta(seconds=lease_seconds())
    claimed = Order.objects.filter(pk=order_pk, state=OrderState.PENDING).update(
        state=OrderState.SUBMITTING, attempts=F("attempts") + 1, lease_until=lease,
        submitted_at=now, updated_at=now)
    if not claimed:
        claimed = Order.objects.filter(
            Q(lease_until__isnull=True) | Q(lease_until__lte=now),
            pk=order_pk, state=OrderState.SUBMITTING,
        ).update(attempts=F("attempts") + 1, lease_until=lease, updated_at=now)
    if not claimed:
        return None
    return Order.objects.select_related("device", "device__product", "tenant").get(pk=order_pk)


def orders_submit_many(*, order_pks: list[int], on_retryable) -> dict[str, int]:
    """Submits a chunk of orders one after the other, each claimed and bought exactly as
    `order_claim` + `order_submit` would (same lease, same ask-first on a takeover), with the
    rows, their devices and the tenant's connection read once for the chunk.

    An order the cloud cannot take right now (throttled, unavailable after the client's own
    retries) is released and handed to `on_retryable(order_pk, exc)`, which queues it alone
    with a backoff; the rest of the chunk goes on. Returns the count of each outcome."""
    outcome: dict[str, int] = {}
    orders = list(Order.objects.filter(pk__in=order_pks, state__in=OPEN_STATES)
                  .select_related("device", "device__product", "tenant", "tenant__cloud")
                  .order_by("pk"))
    tenants: dict[int, object] = {}
    for loaded in orders:
        # One tenant object per tenant, so its connection (and the SDK client) is shared.
        loaded.tenant = tenants.setdefault(loaded.tenant_id, loaded.tenant)
        order = _order_claim_loaded(order=loaded)
        if order is None:
            outcome["skipped"] = outcome.get("skipped", 0) + 1
            continue
        try:
            order = order_submit(order=order)
        except errors.CloudError as exc:
            if not exc.retryable:
                raise
            order_release(order=order)
            on_retryable(order.pk, exc)
            outcome["retry"] = outcome.get("retry", 0) + 1
            continue
        outcome[order.state] = outcome.get(order.state, 0) + 1
    return outcome


def _order_claim_loaded(*, order: Order) -> Order | None:
    """`order_claim` for a row already read: the pending → submitting UPDATE also checks that
    `attempts` is still what was read, so the row in hand is the one claimed (and a run after
    an earlier attempt still asks the cloud first). Anything else takes the general path."""
    if order.state == OrderState.PENDING:
        now = timezone.now()
        lease = now + timedelta(seconds=lease_seconds())
        if Order.objects.filter(pk=order.pk, state=OrderState.PENDING, attempts=order.attempts).update(
                state=OrderState.SUBMITTING, attempts=F("attempts") + 1, lease_until=lease,
                submitted_at=now, updated_at=now):
            order.state, order.attempts, order.lease_until = OrderState.SUBMITTING, order.attempts + 1, lease
            order.submitted_at = order.updated_at = now
            return order
    claimed = order_claim(order_pk=order.pk)
    if claimed is not None:
        claimed.tenant = order.tenant
    return claimed


def order_release(*, order: Order) -> None:
    """Gives the lease back (before a retry), so the retried task can take the order again."""
    Order.objects.filter(pk=order.pk, state=OrderState.SUBMITTING).update(lease_until=None)


def order_submit(*, order: Order) -> Order:
    """Buys the order's package in the cloud under its OrderId, once.

    Retryable cloud errors propagate (the task retries with the same OrderId); a refusal marks
    the order failed with the cloud's reason."""
    cloud = _cloud(order.tenant, background=True)
    device = order.device
    info = None
    if order.attempts > 1:
        # A redelivered or retried run: the cloud may already hold this OrderId (the first
        # run died after CreateCloudStorage). Ask before buying, so nothing is bought twice.
        try:
            info = cloud.describe_cloud_storage_order(order.order_id)
        except errors.NotFound:
            info = None
    if info is None:
        try:
            if order.kind == OrderKind.FREE_TRIAL:
                cloud.create_free_cloud_storage(device.product.product_id, device.name,
                                                package_id=order.package_id, order_id=order.order_id)
            else:
                cloud.create_cloud_storage(
                    device.product.product_id, device.name, package_id=order.package_id,
                    order_id=order.order_id, override=order.start_mode == StartMode.OVERRIDE,
                    package_queue=None if order.start_mode == StartMode.OVERRIDE else order.start_mode)
        except errors.CloudError as exc:
            if exc.retryable:
                raise
            return _order_fail(order=order, exc=exc)
        try:
            info = cloud.describe_cloud_storage_order(order.order_id)
        except errors.CloudError as exc:
            if exc.retryable:
                raise
            info = None
    changes = {
        "state": _ORDER_STATUS_TO_STATE.get(info.status, OrderState.ACTIVE) if info else OrderState.ACTIVE,
        "start_at": info.start_at if info else None,
        "expires_at": info.expires_at if info else None,
        "lease_until": None, "failure_code": "", "failure_reason": "", "updated_at": timezone.now(),
    }
    if Order.objects.filter(pk=order.pk, state=OrderState.SUBMITTING).update(**changes):
        for key, value in changes.items():
            setattr(order, key, value)
        _device_mirror_after(order=order)
    else:  # another run recorded it meanwhile
        order.refresh_from_db()
    return order


def _order_fail(*, order: Order, exc: errors.CloudError) -> Order:
    Order.objects.filter(pk=order.pk, state=OrderState.SUBMITTING).update(
        state=OrderState.FAILED, failure_code=exc.code[:100], failure_reason=exc.message,
        lease_until=None, updated_at=timezone.now())
    order.refresh_from_db()
    return order


def order_give_up(*, order_pk: int, exc: errors.CloudError) -> None:
    """After the last retry: failed with the reason, for staff to retry. Reconciliation still
    asks the cloud about it, in case the last attempt did go through."""
    order = Order.objects.get(pk=order_pk)
    _order_fail(order=order, exc=exc)


def _device_mirror_after(*, order: Order) -> None:
    """Keeps the device mirror current until the next sync reads the cloud (one UPDATE)."""
    if not order.expires_at or order.state not in (OrderState.ACTIVE, OrderState.QUEUED):
        return
    fields = {"package_expires_at": Greatest(
        Coalesce("package_expires_at", Value(order.expires_at)), Value(order.expires_at))}
    package = catalog.parse(order.package_id)
    if order.state == OrderState.ACTIVE:
        fields.update(package_state=PackageState.ACTIVE,
                      package_type=package.cs_type if package else None,
                      package_retention_days=package.retention_days if package else None)
    Device.objects.filter(pk=order.device_id).update(**fields)


def order_retry(*, order: Order, user) -> bool:
    """Staff send a failed order again, under the same OrderId."""
    with transaction.atomic():
        moved = Order.objects.filter(pk=order.pk, state=OrderState.FAILED).update(
            state=OrderState.PENDING, lease_until=None, updated_at=timezone.now())
        if moved:
            audit_record(tenant=order.tenant, actor=user, action="retry", obj=order,
                         before={"state": OrderState.FAILED, "failure_reason": order.failure_reason},
                         after={"state": OrderState.PENDING})
            transaction.on_commit(lambda: orders_enqueue(order_pks=[order.pk]))
    return bool(moved)


def orders_resume_stale(*, pending_older_than: int | None = None) -> int:
    """Queues again the orders whose task was lost: a worker killed while holding them (the
    broker may have dropped its unacknowledged message), or a message that never arrived.
    Sending an order twice is safe: the claim lets one run through, and a run that takes over
    asks the cloud first."""
    # A pending order may be waiting its turn behind a big purchase, and its message cannot be
    # told apart from a lost one; so pending orders wait ten leases before they are sent again
    # (a duplicate is harmless, only wasted work), claimed ones just their lease.
    older = pending_older_than if pending_older_than is not None else PENDING_LEASES * lease_seconds()
    pks = selectors.orders_stale(older_than=timedelta(seconds=older))
    if pks:
        log.info("resuming %d orders whose task was lost", len(pks))
        orders_enqueue(order_pks=pks)
    return len(pks)


def purchase_drafts_prune(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Drafts nobody confirmed (the review page was left) are dropped after a week."""
    deleted, _rows = Purchase.objects.filter(status=Purchase.Status.DRAFT,
                                             created_at__lt=timezone.now() - older_than).delete()
    return deleted


# --- reconciliation -------------------------------------------------------------------------

def _correct(*, order: Order, changes: dict, reason: str) -> None:
    before = snapshot(order, list(changes))
    Order.objects.filter(pk=order.pk).update(**changes, checked_at=timezone.now())
    for key, value in changes.items():
        setattr(order, key, value)
    audit_record(tenant=order.tenant, action="reconcile", obj=order, before=before,
                 after={**snapshot(order, list(changes)), "reason": reason},
                 actor_label="reconciliation")


def orders_reconcile(*, tenant, limit: int = 200, now: datetime | None = None) -> int:
    """Compares the tenant's orders with the cloud and corrects their states; returns how many
    were corrected. Devices are read once each (DescribeDevicePackages); an order the device no
    longer lists is asked about by OrderId (DescribeCloudStorageOrder)."""
    now = now or timezone.now()
    cloud = _cloud(tenant, background=True)
    corrected = 0
    candidates = (Order.objects.filter(tenant=tenant)
                  .filter(Q(state__in=[OrderState.ACTIVE, OrderState.QUEUED])
                          | Q(state=OrderState.FAILED, failure_code__in=_RETRYABLE_CODES)
                          | Q(state=OrderState.EXPIRED, expires_at__gt=now))
                  .select_related("device", "device__product", "tenant")
                  .order_by(F("checked_at").asc(nulls_first=True), "pk")[:limit])
    by_device: dict[int, list[Order]] = {}
    for order in candidates:
        by_device.setdefault(order.device_id, []).append(order)
    for orders in by_device.values():
        device = orders[0].device
        try:
            packages = {p.order_id: p for p in cloud.describe_device_packages(
                device.product.product_id, device.name)}
        except errors.NotFound:
            packages = {}
        except errors.CloudError as exc:
            log.warning("reconcile: cannot read %s: %s", device, exc.message)
            continue
        _device_mirror_from(device=device, packages=list(packages.values()), now=now)
        for order in orders:
            corrected += _reconcile_one(order=order, cloud=cloud, package=packages.get(order.order_id))
    return corrected


_RETRYABLE_CODES = ["RequestLimitExceeded", "InternalError", "ClientNetworkError",
                    "ServerNetworkError", "ResourceUnavailable"]


def _reconcile_one(*, order: Order, cloud, package: PackageInfo | None) -> int:
    if package is not None:
        status, expires_at, start_at = package.status, package.expires_at, order.start_at
    else:
        try:
            info = cloud.describe_cloud_storage_order(order.order_id)
        except errors.NotFound:
            info = None
        except errors.CloudError:
            return 0
        if info is None:
            if order.state == OrderState.FAILED:
                Order.objects.filter(pk=order.pk).update(checked_at=timezone.now())
                return 0
            _correct(order=order, changes={"state": OrderState.CANCELLED},
                     reason="the cloud no longer holds the package (reset or transferred)")
            return 1
        status, expires_at, start_at = info.status, info.expires_at, info.start_at
        if (status == PackageStatus.EXPIRED and order.state != OrderState.FAILED
                and order.expires_at and order.expires_at > timezone.now()):
            # Gone from the device's list and ended before its time: the device's storage
            # was reset (or moved) outside this order's life.
            _correct(order=order, changes={"state": OrderState.CANCELLED},
                     reason="the cloud ended the package early (reset or transferred)")
            return 1
    state = _ORDER_STATUS_TO_STATE.get(status, order.state)
    changes = {}
    if state != order.state:
        changes["state"] = state
    if expires_at and expires_at != order.expires_at:
        changes["expires_at"] = expires_at
    if start_at and start_at != order.start_at:
        changes["start_at"] = start_at
    if changes:
        if order.state == OrderState.FAILED:
            changes.update(failure_code="", failure_reason="")
        _correct(order=order, changes=changes, reason="the cloud's state differs")
        return 1
    Order.objects.filter(pk=order.pk).update(checked_at=timezone.now())
    return 0


def _device_mirror_from(*, device: Device, packages: list[PackageInfo], now: datetime) -> None:
    in_force = [p for p in packages if p.status == PackageStatus.IN_FORCE]
    bought = [p for p in packages if p.status in (PackageStatus.IN_FORCE, PackageStatus.WAITING)]
    ends = max((p.expires_at for p in bought if p.expires_at), default=None)
    if in_force:
        state = PackageState.ACTIVE
    elif packages:
        state = PackageState.EXPIRED
    else:
        state = PackageState.NONE
    Device.objects.filter(pk=device.pk).update(
        package_state=state, package_expires_at=ends,
        package_type=in_force[0].type if in_force else None,
        package_retention_days=in_force[0].retention_days if in_force else None,
        package_queued_count=sum(1 for p in packages if p.status == PackageStatus.WAITING),
        packages_synced_at=now)


# --- renewals -------------------------------------------------------------------------------

def renew_devices(*, tenant, user, devices: list[Device], token: str,
                  kind: str = OrderKind.RENEWAL) -> tuple[Purchase | None, list[tuple[Device, str]]]:
    """Renews each device with its own last package, queued at the end. Returns the purchase
    (None when nothing could be renewed) and the devices skipped with the reason."""
    last = selectors.last_packages(device_ids=[d.pk for d in devices])
    prices = selectors.price_map(tenant=tenant)
    skipped, plan = [], []
    for device in devices:
        package = catalog.parse(last.get(device.pk, "")) if last.get(device.pk) else None
        if package is None:
            skipped.append((device, _("No earlier package to renew; buy one instead.")))
            continue
        reason = catalog.ineligibility_reason(package, device)
        if reason:
            skipped.append((device, reason))
            continue
        plan.append((device, package))
    if not plan:
        return None, skipped
    with transaction.atomic():
        purchase, created = Purchase.objects.get_or_create(
            tenant=tenant, token=token,
            defaults={"status": Purchase.Status.CONFIRMED, "kind": kind, "start_mode": StartMode.END,
                      "device_ids": [d.pk for d, _p in plan], "created_by": user,
                      "confirmed_at": timezone.now()})
        if not created:
            return purchase, skipped
        orders = []
        for device, package in plan:
            price = prices.get(package.package_id)
            orders.append(Order(tenant=tenant, purchase=purchase, device=device, kind=kind,
                                package_id=package.package_id, start_mode=StartMode.END,
                                price_cents=price.price_cents if price else None,
                                currency=price.currency if price else tenant.currency,
                                created_by=user))
        Order.objects.bulk_create(orders, batch_size=500)
        ids = list(purchase.orders.values_list("pk", flat=True))
        audit_record(tenant=tenant, actor=user, action="renew", obj=purchase,
                     actor_label="" if user else "auto-renewal", after={"orders": len(ids)})
        transaction.on_commit(lambda: orders_enqueue(order_pks=ids))
    return purchase, skipped


def auto_renew_tenant(*, tenant, days: int = 3, today: date | None = None) -> Purchase | None:
    """The daily auto-renewal: devices flagged auto-renew whose storage ends within `days` and
    that have nothing bought after it. One purchase per tenant and day (its token), so running
    the task twice renews nothing twice."""
    today = today or timezone.localdate()
    due = selectors.renewals_due(tenant=tenant, days=days).filter(auto_renew=True).exclude(
        orders__state__in=[OrderState.QUEUED, *OPEN_STATES])
    devices = list(due)
    if not devices:
        return None
    purchase, skipped = renew_devices(tenant=tenant, user=None, devices=devices,
                                      token=f"auto:{today.isoformat()}", kind=OrderKind.AUTO_RENEWAL)
    for device, reason in skipped:
        log.info("auto-renew skipped %s: %s", device, reason)
    return purchase


def expiry_digest_send(*, tenant, days: int = 7) -> int:
    """Emails the tenant's staff and admins what expires in the next `days` days."""
    due = list(selectors.renewals_due(tenant=tenant, days=days)[:200])
    if not due:
        return 0
    recipients = list(Membership.objects.filter(tenant=tenant, role__in=[Role.ADMIN, Role.STAFF])
                      .exclude(user__email="").values_list("user__email", flat=True))
    if not recipients:
        return 0
    # A task has no user: times in the email are in the tenant's zone.
    zone = ZoneInfo(tenant.time_zone or "UTC")
    lines = [
        f"- {d.nickname or d.name} ({d.product.product_id}/{d.name}): "
        f"{timezone.localtime(d.storage_ends_at, zone).strftime('%Y-%m-%d %H:%M %Z')}"
        f"{' · ' + _('auto-renew') if d.auto_renew else ''}"
        for d in due
    ]
    subject = _("%(n)s devices' cloud storage ends in the next %(days)s days") % {
        "n": len(due), "days": days}
    body = "\n".join([_("Cloud storage ending soon for %(tenant)s:") % {"tenant": tenant.name},
                      "", *lines])
    send_mail(subject, body, None, recipients)
    return len(recipients)


# --- transfer, reset, free trial ------------------------------------------------------------

def storage_transfer(*, tenant, user, source: Device, target: Device) -> None:
    if source.pk == target.pk:
        raise PurchaseError(_("Choose another device to transfer to."))
    cloud = _cloud(tenant, background=False)
    cloud.transfer_cloud_storage(source.product.product_id, source.name,
                                 to_product_id=target.product.product_id, to_device_name=target.name)
    with transaction.atomic():
        moved = Order.objects.filter(device=source, state__in=[OrderState.ACTIVE, OrderState.QUEUED])
        ids = list(moved.values_list("order_id", flat=True))
        moved.update(device=target, transferred_from=f"{source.product.product_id}/{source.name}")
        audit_record(tenant=tenant, actor=user, action="transfer", obj=source,
                     before={"device": source.name, "orders": ids},
                     after={"device": target.name, "product": target.product.product_id})
        Device.objects.filter(pk=target.pk).update(
            package_state=source.package_state, package_expires_at=source.package_expires_at,
            package_type=source.package_type, package_queued_count=source.package_queued_count)
        Device.objects.filter(pk=source.pk).update(package_state=PackageState.NONE,
                                                   package_expires_at=None, package_queued_count=0)


def storage_reset(*, tenant, user, device: Device, confirmation: str) -> None:
    if confirmation.strip() != device.name:
        raise PurchaseError(_("Type the device name %(name)s exactly to confirm.") % {"name": device.name})
    cloud = _cloud(tenant, background=False)
    cloud.reset_cloud_storage(device.product.product_id, device.name)
    with transaction.atomic():
        cleared = Order.objects.filter(device=device, state__in=[OrderState.ACTIVE, OrderState.QUEUED])
        ids = list(cleared.values_list("order_id", flat=True))
        cleared.update(state=OrderState.CANCELLED)
        Device.objects.filter(pk=device.pk).update(package_state=PackageState.NONE,
                                                   package_expires_at=None, package_queued_count=0)
        audit_record(tenant=tenant, actor=user, action="reset", obj=device,
                     after={"cancelled_orders": ids})


def free_trial_start(*, tenant, user, device: Device) -> Order:
    """The cloud's free trial, once per device (a unique constraint holds the once)."""
    package = catalog.free_trial_for(device)
    reason = catalog.ineligibility_reason(package, device)
    if reason:
        raise PurchaseError(reason)
    try:
        with transaction.atomic():
            order = Order.objects.create(tenant=tenant, device=device, kind=OrderKind.FREE_TRIAL,
                                         package_id=package.package_id, start_mode=StartMode.END,
                                         price_cents=0, currency=tenant.currency, created_by=user)
            audit_record(tenant=tenant, actor=user, action="free_trial", obj=order)
            transaction.on_commit(lambda: orders_enqueue(order_pks=[order.pk]))
    except IntegrityError:
        raise PurchaseError(_("This device has already had its free trial."))
    return order
