"""The cloud-storage package state machine: purchase (Override / PackageQueue front/end),
queueing, expiry, transfer, reset. Times are Unix seconds from localcloud.clock.

A package's state follows from its times alone, so nothing has to run when a package expires
or a queued one starts:
- waiting before `start_time`, expired from `expire_time` (or when cancelled);
- between the two it *covers* the time, and of the packages covering a time the one that
  started last is in force. A `front` purchase starts now and pushes the end of every live
  package back by its duration, so the package it interrupted is covered-but-not-in-force
  (paused, reported as waiting) and resumes with exactly the time it had left."""
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count

from localcloud import clock, sql
from localcloud.api.errors import invalid, invalid_value, not_found, unsupported
from localcloud.models import Device, Package

DAY = 86400
# Tencent sells a week, a month or a year of service; localcloud counts them in fixed days.
PERIOD_SECONDS = {"w": 7 * DAY, "m": 30 * DAY, "y": 365 * DAY}
FULL_TIME, EVENT = 1, 2
# PackageInfo / DescribeCloudStorageOrder status values.
WAITING, EXPIRED, IN_FORCE = 0, 1, 2

_PACKAGE_ID_RE = re.compile(r"^(?P<kind>yc|ye|lye)1(?P<period>[wmy])(?P<days>3|7|30)d$")

# List prices in cents (fen). Free-trial ids have a list price too; their Amount charged is 0.
PRICES = {
    "yc1w7d": 800, "yc1m3d": 1500, "yc1m7d": 2500, "yc1m30d": 5000,
    "yc1y3d": 15000, "yc1y7d": 25000, "yc1y30d": 50000,
    "ye1w7d": 400, "ye1m3d": 800, "ye1m7d": 1200, "ye1m30d": 2500,
    "ye1y3d": 8000, "ye1y7d": 12000, "ye1y30d": 25000,
    "lye1m3d": 600, "lye1m7d": 1000, "lye1m30d": 2000,
    "lye1y3d": 6000, "lye1y7d": 10000, "lye1y30d": 20000,
    "ye1w3d": 300, "lye1w3d": 200,
}
FREE_PACKAGE_IDS = frozenset({"ye1w3d", "lye1w3d"})
PAID_PACKAGE_IDS = frozenset(PRICES) - FREE_PACKAGE_IDS

_KIND_NAMES = {"yc": "全时", "ye": "事件", "lye": "低功耗事件"}
_PERIOD_NAMES = {"w": "周", "m": "月", "y": "年"}


@dataclass(frozen=True)
class PackageSpec:
    package_id: str
    cs_type: int  # 1 full-time, 2 event
    duration: int  # seconds of service
    retention_days: int
    price: int  # cents
    name: str

    @property
    def is_event(self) -> bool:
        return self.cs_type == EVENT


def package_spec(package_id: str, *, free: bool = False) -> PackageSpec:
    """What a package id buys, read from the id itself (kind, period, retention days)."""
    allowed = FREE_PACKAGE_IDS if free else PAID_PACKAGE_IDS
    match = _PACKAGE_ID_RE.match(package_id)
    if package_id not in allowed or not match:
        known = ", ".join(sorted(allowed))
        raise invalid_value("PackageId", f"`{package_id}` is not a package sold here (known: {known})")
    kind, period, days = match["kind"], match["period"], int(match["days"])
    return PackageSpec(
        package_id=package_id,
        cs_type=FULL_TIME if kind == "yc" else EVENT,
        duration=PERIOD_SECONDS[period],
        retention_days=days,
        price=PRICES[package_id],
        name=f"{_KIND_NAMES[kind]}{days}天存储{_PERIOD_NAMES[period]}套餐",
    )


def _live(device: Device, channel_id: int, at: int):
    return Package.objects.filter(device=device, channel_id=channel_id, cancelled=False,
                                  expire_time__gt=at)


def in_force_sql(columns: str, *, device: str = "%s") -> str:
    """SELECT `columns` of the package in force: the latest started one that is neither
    cancelled nor expired. Parameters: the device id (unless `device` names a column of an outer
    query), then in_force_params(). Hand-written SQL (localcloud.sql): every upload asks it."""
    return (f"SELECT {columns} FROM {sql.table(Package)} "  # noqa: S608 (names)
            f"WHERE device_id = {device} AND channel_id = %s AND cancelled = %s "
            "AND start_time <= %s AND expire_time > %s ORDER BY start_time DESC, id DESC LIMIT 1")


def in_force_params(channel_id: int, at: int) -> list:
    return [channel_id, False, at, at]


@cache
def _in_force_sql() -> str:
    return in_force_sql(sql.columns(Package))


def package_in_force(*, device: Device, channel_id: int, at: int) -> Package | None:
    """The package that judges an upload or a recording made at `at`, if any."""
    row = sql.fetch_one(_in_force_sql(), [device.pk, *in_force_params(channel_id, at)])
    return sql.instance(Package, sql.field_names(Package), row) if row else None


def package_status(package: Package, *, at: int, in_force: Package | None = None,
                   in_force_known: bool = False) -> int:
    if package.cancelled or package.expire_time <= at:
        return EXPIRED
    if package.start_time > at:
        return WAITING
    if not in_force_known:
        in_force = package_in_force(device=package.device, channel_id=package.channel_id, at=at)
    return IN_FORCE if in_force is not None and in_force.pk == package.pk else WAITING


def check_channel(device: Device, channel_id: int) -> None:
    if channel_id and not device.product.is_nvr:
        raise invalid_value("ChannelId", "must be 0: only NVR products (DeviceType 2) have channels")


@transaction.atomic
def package_create(*, device: Device, package_id: str, order_id: str, channel_id: int = 0,
                   override: bool = False, queue: str = "", free: bool = False,
                   user_id: str = "", storage_region: str = "",
                   at: int | None = None) -> tuple[Package, bool]:
    """Buy a package for a device (channel). Returns (package, created); the same OrderId again
    for the same purchase returns the existing package, so a retried call never buys twice."""
    if override and queue:
        raise invalid("PackageQueue", "cannot be used together with Override=1")
    if queue not in ("", "front", "end"):
        raise invalid_value("PackageQueue", f"must be `front` or `end`, not `{queue}`")
    if not order_id:
        raise invalid_value("OrderId", "must not be empty")
    spec = package_spec(package_id, free=free)
    check_channel(device, channel_id)

    existing = _existing_order(order_id, device=device, channel_id=channel_id,
                               package_id=package_id, free=free)
    if existing is not None:
        return existing, False
    if device.product.is_picture_stream and not spec.is_event:
        raise unsupported(f"Device `{device.device_name}` is a picture-stream device: it can only "
                          f"hold event packages (ye*, lye*), not `{package_id}`.")

    # One purchase per device at a time: the queue arithmetic below reads then shifts rows.
    device = Device.objects.select_for_update().get(pk=device.pk)
    # A concurrent retry of this order may have committed while we waited for the lock.
    existing = _existing_order(order_id, device=device, channel_id=channel_id,
                               package_id=package_id, free=free)
    if existing is not None:
        return existing, False
    if free and device.free_trial_used:
        raise unsupported(f"Device `{device.device_name}` has already used its free package.")
    now = clock.now() if at is None else at
    live = list(_live(device, channel_id, now).order_by("start_time", "id"))
    start = now
    if override:
        # The package in force (and any it had paused) ends now; queued ones follow the new one.
        cursor = now + spec.duration
        for package in live:
            if package.start_time <= now:
                package.expire_time = now
            else:
                length = package.expire_time - package.start_time
                package.start_time, package.expire_time = cursor, cursor + length
                cursor += length
            package.updated_at = now
    elif queue == "front":
        # Start now; everything still live resumes afterwards with the time it had left.
        for package in live:
            if package.start_time > now:
                package.start_time += spec.duration
            package.expire_time += spec.duration
            package.updated_at = now
    else:
        # `end`, and the default: after every package already bought.
        start = max((package.expire_time for package in live), default=now)
    Package.objects.bulk_update(live, ["start_time", "expire_time", "updated_at"])

    try:
        with transaction.atomic():
            package = Package.objects.create(
                order_id=order_id, device=device, channel_id=channel_id, package_id=package_id,
                cs_type=spec.cs_type, shift_duration=spec.retention_days, duration=spec.duration,
                start_time=start, expire_time=start + spec.duration, price=spec.price,
                amount=0 if free else spec.price, is_free=free, user_id=user_id,
                storage_region=storage_region, created_at=now, updated_at=now,
            )
    except IntegrityError:
        # Another request with this OrderId won the race: answer as if we were the retry,
        # and undo the queue shifts made above.
        existing = _existing_order(order_id, device=device, channel_id=channel_id,
                                   package_id=package_id, free=free)
        if existing is None:
            raise
        transaction.set_rollback(True)
        return existing, False
    if free:
        Device.objects.filter(pk=device.pk).update(free_trial_used=True)
    return package, True


def _existing_order(order_id: str, *, device: Device, channel_id: int, package_id: str,
                    free: bool) -> Package | None:
    existing = Package.objects.select_related("device").filter(order_id=order_id).first()
    if existing is None:
        return None
    same = (existing.device_id == device.pk and existing.channel_id == channel_id
            and existing.package_id == package_id and existing.is_free == free)
    if not same:
        raise invalid_value(
            "OrderId",
            f"`{order_id}` was already used for another purchase ({existing.package_id} for "
            f"device `{existing.device.device_name}` channel {existing.channel_id}); "
            "use a new OrderId for a new purchase",
        )
    return existing


@dataclass(frozen=True)
class StorageState:
    status: int  # 1 on, 0 off or expired
    cs_type: int
    expire_time: int
    shift_duration: int
    user_id: str


def storage_state(*, device: Device, channel_id: int, at: int | None = None) -> StorageState:
    at = clock.now() if at is None else at
    package = package_in_force(device=device, channel_id=channel_id, at=at)
    if package is None:
        return StorageState(status=0, cs_type=0, expire_time=0, shift_duration=0, user_id="")
    return StorageState(status=1, cs_type=package.cs_type, expire_time=package.expire_time,
                        shift_duration=package.shift_duration, user_id=package.user_id)


def device_packages(*, device: Device, channel_id: int, offset: int, limit: int,
                    at: int | None = None) -> tuple[int, list[tuple[Package, int]]]:
    """The device's packages (reset ones left out), oldest start first, each with its status."""
    at = clock.now() if at is None else at
    packages = Package.objects.filter(device=device, channel_id=channel_id, cancelled=False)
    total = packages.count()
    in_force = package_in_force(device=device, channel_id=channel_id, at=at)
    page = list(packages.select_related("device").order_by("start_time", "id")[offset:offset + limit])
    return total, [(p, package_status(p, at=at, in_force=in_force, in_force_known=True))
                   for p in page]


def order_get(*, order_id: str, at: int | None = None) -> tuple[Package, int]:
    at = clock.now() if at is None else at
    package = Package.objects.select_related("device").filter(order_id=order_id).first()
    if package is None:
        raise not_found(f"Order `{order_id}`")
    return package, package_status(package, at=at)


@transaction.atomic
def packages_transfer(*, source: Device, target: Device, at: int | None = None) -> int:
    """Move the source device's live packages (in force and queued) to a device that has none."""
    now = clock.now() if at is None else at
    if source.pk == target.pk:
        raise invalid_value("ToDeviceName", "must name another device than DeviceName")
    # Lock both devices in a fixed order so two crossing transfers cannot deadlock.
    list(Device.objects.select_for_update().filter(pk__in=[source.pk, target.pk]).order_by("pk"))
    moving = list(_live(source, 0, now))
    if not moving:
        raise unsupported(f"Device `{source.device_name}` has no package in force or queued "
                          "to transfer.")
    if _live(target, 0, now).exists():
        raise unsupported(f"Device `{target.device_name}` already has a package; a transfer "
                          "needs a target without one.")
    if target.product.is_picture_stream and any(not p.cs_type == EVENT for p in moving):
        raise unsupported(f"Device `{target.device_name}` is a picture-stream device and cannot "
                          "hold a full-time package.")
    return Package.objects.filter(pk__in=[p.pk for p in moving]).update(device=target,
                                                                         updated_at=now)


def packages_reset(*, device: Device, channel_id: int, at: int | None = None) -> int:
    """Clear every package of the device (channel): none in force, none queued afterwards."""
    now = clock.now() if at is None else at
    return Package.objects.filter(device=device, channel_id=channel_id, cancelled=False).update(
        cancelled=True, updated_at=now)


@dataclass(frozen=True)
class ConsumeStat:
    package_id: str
    package_name: str
    count: int
    price: int


def parse_date(name: str, value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise invalid_value(name, f"`{value}` is not a date in the form YYYY-MM-DD")


def _one_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def consume_stats(*, start: date, end: date) -> list[ConsumeStat]:
    """Paid packages bought between the two days (inclusive, in LOCALCLOUD_TIME_ZONE)."""
    if end < start:
        raise invalid_value("EndDate", "must not be before StartDate")
    if end > _one_year_after(start):
        raise invalid_value("EndDate", "must be at most one year after StartDate")
    zone = ZoneInfo(settings.LOCALCLOUD_TIME_ZONE)
    since = int(datetime.combine(start, datetime.min.time(), zone).timestamp())
    until = int(datetime.combine(end + timedelta(days=1), datetime.min.time(), zone).timestamp())
    rows = (Package.objects.filter(is_free=False, created_at__gte=since, created_at__lt=until)
            .values("package_id").annotate(count=Count("id")).order_by("package_id"))
    return [ConsumeStat(package_id=row["package_id"],
                        package_name=package_spec(row["package_id"]).name,
                        count=row["count"], price=PRICES[row["package_id"]]) for row in rows]
