"""Typed results of the cloud client: plain dataclasses the portal can keep, cache and compare.

They are built from the SDK's models in one place (portal/iotvideo/convert.py); nothing here
knows the SDK. Times are aware UTC datetimes; the cloud speaks Unix seconds, where 0 means
"none" (a package that never expires, a device that never logged in).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


def to_epoch(value: dt.datetime | int | None) -> int:
    """An aware datetime (or already an epoch int) as Unix seconds; None → 0.

    A naive datetime is refused: guessing its zone is how recordings end up eight hours off.
    """
    if value is None:
        return 0
    if isinstance(value, bool):
        raise TypeError("to_epoch() takes a datetime or an int, not a bool")
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("to_epoch() needs an aware datetime")
        return int(value.timestamp())
    raise TypeError(f"to_epoch() takes a datetime or an int, not {type(value).__name__}")


def from_epoch(value: int | float | str | None) -> dt.datetime | None:
    """Unix seconds as an aware UTC datetime; 0 / None / "" → None."""
    if value in (None, "", 0, "0"):
        return None
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)


class PackageStatus(IntEnum):
    """Status of a package in DescribeDevicePackages / DescribeCloudStorageOrder."""

    WAITING = 0
    EXPIRED = 1
    IN_FORCE = 2


class StorageType(IntEnum):
    FULL_TIME = 1
    EVENT = 2


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    total: int


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    device_type: int = 1
    category_id: int = 0
    encryption_type: int = 1
    features: list[str] = field(default_factory=list)
    chip_os: str = ""
    chip_manufacture_id: str = ""
    chip_id: str = ""
    description: str = ""
    net_type: str = ""
    valid_years: int = 0
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class DeviceInfo:
    device_name: str
    online: int = 0  # 0 offline, 1 online, 2 dormant, 3 low-power dormant
    login_at: dt.datetime | None = None
    psk: str = ""
    enabled: bool = True
    expires_at: dt.datetime | None = None
    log_level: int = 0

    @property
    def is_online(self) -> bool:
        return self.online == 1


@dataclass(frozen=True)
class Batch:
    batch_id: int
    product_id: str
    status: int = 0
    prefix: str = ""
    count: int = 0
    created_count: int = 0
    batch_url: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class FreeStorage:
    price: int  # cents
    amount: int  # cents


@dataclass(frozen=True)
class CloudStorageStatus:
    active: bool
    type: int  # StorageType; 0 when there is no package
    expires_at: dt.datetime | None
    retention_days: int
    user_id: str = ""


@dataclass(frozen=True)
class PackageInfo:
    package_id: str
    order_id: str
    status: int  # PackageStatus
    type: int  # StorageType
    retention_days: int
    expires_at: dt.datetime | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    channel_id: int = 0
    user_id: str = ""


@dataclass(frozen=True)
class OrderInfo:
    start_at: dt.datetime | None
    expires_at: dt.datetime | None
    package_id: str
    status: int  # PackageStatus
    channel_id: int = 0
    price: int = 0  # cents
    amount: int = 0  # cents


@dataclass(frozen=True)
class ConsumeStat:
    package_id: str
    package_name: str
    count: int
    price: int
    source: int = 0


@dataclass(frozen=True)
class TimeSpan:
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class DayTimeline:
    spans: list[TimeSpan]
    video_url: str


@dataclass(frozen=True)
class CloudEvent:
    event_id: str
    start: dt.datetime | None
    end: dt.datetime | None
    thumbnail: str = ""
    upload_status: str = ""
    data: str = ""


@dataclass(frozen=True)
class EventPage:
    events: list[CloudEvent]
    context: str = ""
    listover: bool = True
    total: int = 0
    video_url: str = ""


@dataclass(frozen=True)
class SignedURL:
    url: str
    expires_at: dt.datetime | None

    def valid_for(self, now: dt.datetime | None = None) -> dt.timedelta:
        """How long the address still works (zero when expired; a long time if it never does)."""
        if self.expires_at is None:
            return dt.timedelta(days=365)
        now = now or dt.datetime.now(tz=dt.UTC)
        return max(self.expires_at - now, dt.timedelta(0))


@dataclass(frozen=True)
class StreamData:
    video_url: str
    audio_url: str
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    code: str = ""
    request_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)
