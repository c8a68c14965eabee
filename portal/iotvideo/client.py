"""The one cloud client: `cloud_for(tenant)` → a Cloud with one method per IoT Video action.

Every call goes: cache (for signed URLs, dates, timelines) → per-tenant rate limit → the SDK's
IotvideoClient → error mapping → retries → a log line and a CloudCall count → a dataclass.

Retries. A request the cloud refused with RequestLimitExceeded was never carried out, so any
action may be re-sent after it. After InternalError or a network error the request may have
been carried out, so only idempotent actions are re-sent: reads, and the writes the cloud
de-duplicates. CreateCloudStorage/CreateFreeCloudStorage are idempotent on OrderId in the cloud
and are re-sent with the very same parameters (same OrderId), never a new one. Other writes
(CreateProduct, CreateBatch, DeleteDevice, Transfer/Reset, DeleteCloudStorageEvent) are not
retried after an ambiguous failure: the caller sees Unavailable and decides.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import random
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext as _
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.iotvideo.v20211125 import iotvideo_client
from tencentcloud.iotvideo.v20211125 import models as sdk_models

from portal.iotvideo import convert, errors, observe, ratelimit
from portal.iotvideo import types as t
from portal.iotvideo.types import to_epoch

TENCENT_ENDPOINT = "iotvideo.tencentcloudapi.com"

# Actions that may be re-sent after an ambiguous failure (see the module docstring).
IDEMPOTENT_WRITES = frozenset({
    "CreateCloudStorage", "CreateFreeCloudStorage", "ModifyDevice", "GenerateSignedVideoURL",
})
READ_PREFIXES = ("Describe",)

SHORT_TTL = 30  # seconds for dates and day timelines: new recordings show up within that
THUMBNAIL_BATCH = 50


@dataclass(frozen=True)
class Policy:
    """How hard one priority tries: timeouts, retries, how long it may wait for a token."""

    connect_timeout: float
    read_timeout: float
    max_attempts: int
    retry_budget: float  # seconds of backoff + calls after the first failure
    backoff_base: float
    backoff_cap: float
    max_rate_wait: float


POLICIES = {
    # A page waits for this: fail fast and say so.
    ratelimit.INTERACTIVE: Policy(connect_timeout=3, read_timeout=10, max_attempts=3,
                                  retry_budget=4, backoff_base=0.2, backoff_cap=1.5,
                                  max_rate_wait=2),
    # A Celery task: patient, but bounded so a worker is not stuck forever.
    ratelimit.BACKGROUND: Policy(connect_timeout=5, read_timeout=30, max_attempts=6,
                                 retry_budget=30, backoff_base=0.5, backoff_cap=8,
                                 max_rate_wait=20),
}


def _policy(priority: str) -> Policy:
    overrides = getattr(settings, "IOTVIDEO_POLICIES", {}) or {}
    base = POLICIES[priority]
    if priority in overrides:
        return Policy(**{**base.__dict__, **overrides[priority]})
    return base


# --- SDK clients, reused per thread ---------------------------------------------------------
# IotvideoClient holds a requests.Session (keep-alive connections). Sessions are not promised to
# be thread-safe, so each thread keeps its own; the key changes when the tenant edits its
# connection (updated_at), which drops the old client.
_local = threading.local()


@dataclass(frozen=True)
class Target:
    protocol: str
    endpoint: str  # host[:port]
    region: str
    kind: str


def target_for(connection) -> Target:
    """Where a tenant's connection points: Tencent's endpoint or a localcloud URL."""
    kind = connection.kind
    if kind == "tencent":
        return Target(protocol="https", endpoint=TENCENT_ENDPOINT, region=connection.region,
                      kind=kind)
    raw = (connection.endpoint or settings.LOCALCLOUD_PUBLIC_URL).strip()
    parts = urlsplit(raw if "://" in raw else f"http://{raw}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.NotConfigured(
            _("The localcloud URL “%(url)s” is not a valid http(s) address.") % {"url": raw},
            code="ClientConfigError")
    if parts.path not in ("", "/"):
        # The SDK always posts to "/": a path would be silently ignored, so refuse it.
        raise errors.NotConfigured(
            _("The localcloud URL must not have a path (got “%(url)s”).") % {"url": raw},
            code="ClientConfigError")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    endpoint = f"{host}:{parts.port}" if parts.port else host
    return Target(protocol=parts.scheme, endpoint=endpoint, region=connection.region or "",
                  kind=kind)


def _build_sdk_client(connection, policy: Policy) -> iotvideo_client.IotvideoClient:
    target = target_for(connection)
    http = HttpProfile(protocol=target.protocol, endpoint=target.endpoint, keepAlive=True)
    # requests takes (connect, read); the SDK passes reqTimeout through untouched.
    http.reqTimeout = (policy.connect_timeout, policy.read_timeout)
    # The SDK's own retryer is left off: retries are decided here, per action.
    profile = ClientProfile(httpProfile=http, language="en-US")
    cred = credential.Credential(connection.secret_id, connection.secret_key)
    return iotvideo_client.IotvideoClient(cred, target.region, profile)


def _sdk_client(connection, priority: str, policy: Policy):
    key = (connection.pk, connection.updated_at, priority, policy)
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    client = clients.get(key)
    if client is None:
        for stale in [k for k in clients if k[0] == connection.pk]:
            del clients[stale]
        client = clients[key] = _build_sdk_client(connection, policy)
    return client


def cloud_for(tenant, priority: str = ratelimit.INTERACTIVE) -> Cloud:
    """The cloud client of a tenant. priority "interactive" (pages) or "background" (tasks)."""
    if priority not in ratelimit.PRIORITIES:
        raise ValueError(f"priority must be one of {ratelimit.PRIORITIES}")
    try:
        connection = tenant.cloud
    except ObjectDoesNotExist:
        raise errors.NotConfigured(
            _("This company has not set up its cloud connection yet."), code="ClientConfigError"
        ) from None
    return Cloud(tenant=tenant, connection=connection, priority=priority)


def _cache_key(*parts) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:40]
    return f"iotv:{digest}"


def _expiry_from_url(url: str) -> dt.datetime | None:
    """The expiry a signed media URL carries in its query string, if it names one."""
    query = parse_qs(urlsplit(url).query)
    for name in ("exp", "expires", "expire", "Expires", "x-expires", "t"):
        values = query.get(name)
        if not values:
            continue
        raw = values[0]
        try:
            # Tencent's CDN type-D signatures put the expiry as hex in `t`.
            epoch = int(raw, 16) if name == "t" else int(raw)
        except ValueError:
            continue
        if 1_000_000_000 < epoch < 10_000_000_000:
            return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    return None


def _reuse_margin(lifetime: dt.timedelta) -> dt.timedelta:
    """How long before expiry a cached signed URL stops being handed out: a player given the
    URL must still be able to load the playlist and first segments with it."""
    return max(dt.timedelta(seconds=30), min(dt.timedelta(minutes=5), lifetime / 10))


class Cloud:
    """One tenant's view of the cloud. Cheap to create; the SDK client underneath is reused."""

    def __init__(self, *, tenant, connection, priority: str):
        self.tenant = tenant
        self.connection = connection
        self.priority = priority
        self.policy = _policy(priority)
        self.target = target_for(connection)
        self._version = f"{tenant.pk}:{connection.pk}:{connection.updated_at.timestamp()}"

    # --- plumbing ---------------------------------------------------------------------------
    @property
    def sdk(self) -> iotvideo_client.IotvideoClient:
        return _sdk_client(self.connection, self.priority, self.policy)

    @property
    def endpoint(self) -> str:
        return self.target.endpoint

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def protocol(self) -> str:
        return self.target.protocol

    def _retryable(self, action: str, err: errors.CloudError) -> bool:
        if not err.retryable:
            return False
        if isinstance(err, errors.Throttled):
            return True  # refused before it was carried out: safe for every action
        if isinstance(err, errors.Unavailable):
            return action.startswith(READ_PREFIXES) or action in IDEMPOTENT_WRITES
        return False

    def _backoff(self, attempt: int) -> float:
        # Exponential with "equal jitter": never zero, never in lockstep with other workers.
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _limit(self, action: str) -> None:
        try:
            waited = ratelimit.acquire(tenant_id=self.tenant.pk, action=action,
                                       priority=self.priority,
                                       max_wait=self.policy.max_rate_wait,
                                       tenant_slug=self.tenant.slug)
        except ratelimit.RateLimited as exc:
            observe.log_call(tenant_id=self.tenant.pk, tenant_slug=self.tenant.slug,
                             action=action, priority=self.priority, outcome="rate_limited",
                             duration_ms=int(exc.waited * 1000), code="PortalRateLimit")
            observe.record(tenant_id=self.tenant.pk, action=action, throttles=1)
            raise errors.Throttled(
                _("Too many requests to the cloud from this company right now. "
                  "Try again in a moment."),
                code="PortalRateLimit", action=action) from None
        if waited:
            observe.logger.debug("cloud_call_waited action=%s waited_ms=%d", action,
                                 waited * 1000)

    def _call(self, action: str, params: dict, *, max_attempts: int | None = None):
        """Send one action (with retries when safe); return the SDK response model."""
        params = {k: v for k, v in params.items() if v is not None}
        request = getattr(sdk_models, f"{action}Request")()
        request._deserialize(params)
        method = getattr(self.sdk, action)
        max_attempts = max_attempts or self.policy.max_attempts
        deadline = None
        attempt = 0
        while True:
            attempt += 1
            self._limit(action)
            started = time.monotonic()
            try:
                response = method(request)
            except TencentCloudSDKException as exc:
                duration_ms = int((time.monotonic() - started) * 1000)
                err = errors.from_sdk_error(exc, action=action)
                throttled = isinstance(err, errors.Throttled)
                if deadline is None:
                    deadline = time.monotonic() + self.policy.retry_budget
                pause = self._backoff(attempt)
                again = (self._retryable(action, err) and attempt < max_attempts
                         and time.monotonic() + pause < deadline)
                observe.log_call(tenant_id=self.tenant.pk, tenant_slug=self.tenant.slug,
                                 action=action, priority=self.priority,
                                 outcome="retry" if again else "error", duration_ms=duration_ms,
                                 request_id=err.request_id, attempt=attempt, code=err.code)
                observe.record(tenant_id=self.tenant.pk, action=action, calls=1, errors=1,
                               throttles=int(throttled), retries=int(again),
                               duration_ms=duration_ms)
                if not again:
                    raise err from None
                time.sleep(pause)
                continue
            duration_ms = int((time.monotonic() - started) * 1000)
            observe.log_call(tenant_id=self.tenant.pk, tenant_slug=self.tenant.slug,
                             action=action, priority=self.priority, outcome="ok",
                             duration_ms=duration_ms,
                             request_id=getattr(response, "RequestId", "") or "",
                             attempt=attempt)
            observe.record(tenant_id=self.tenant.pk, action=action, calls=1,
                           duration_ms=duration_ms)
            return response

    def _device_generation(self, product_id: str, device_name: str) -> int:
        """Bumped when recordings are deleted, so cached dates/timelines of the device go stale."""
        return cache.get(_cache_key(self._version, "gen", product_id, device_name), 0)

    def _bump_device_generation(self, product_id: str, device_name: str) -> None:
        key = _cache_key(self._version, "gen", product_id, device_name)
        cache.add(key, 0, timeout=None)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=None)

    def forget_recordings(self, product_id: str, device_name: str) -> None:
        """Drop the briefly cached dates and timelines of a device, for a caller that knows its
        recordings just changed (e.g. the demo seed right after uploading footage)."""
        self._bump_device_generation(product_id, device_name)

    def _briefly_cached(self, kind: str, parts: tuple, fetch):
        key = _cache_key(self._version, kind, *parts)
        hit = cache.get(key)
        if hit is not None:
            return hit
        value = fetch()
        cache.set(key, value, timeout=getattr(settings, "IOTVIDEO_SHORT_TTL", SHORT_TTL))
        return value

    def _cache_signed(self, key: str, value, expires_at: dt.datetime | None,
                      fallback: dt.timedelta = dt.timedelta(minutes=1)) -> None:
        now = dt.datetime.now(tz=dt.UTC)
        lifetime = (expires_at - now) if expires_at else fallback
        ttl = (lifetime - _reuse_margin(lifetime)).total_seconds()
        if ttl >= 1:
            cache.set(key, value, timeout=int(ttl))

    # --- products and devices ---------------------------------------------------------------
    def describe_products(self, offset: int = 0, limit: int = 100) -> t.Page[t.Product]:
        r = self._call("DescribeProducts", {"Offset": offset, "Limit": limit})
        return t.Page(items=[convert.product(p) for p in r.Data or []],
                      total=int(r.TotalCount or 0))

    def describe_product(self, product_id: str) -> t.Product:
        r = self._call("DescribeProduct", {"ProductId": product_id})
        if r.Data is None:
            raise errors.NotFound(code="ResourceNotFound", action="DescribeProduct",
                                  request_id=r.RequestId or "")
        return convert.product(r.Data)

    def create_product(self, name: str, *, device_type: int = 1, category_id: int = 0,
                       description: str = "", features: list[str] | None = None,
                       chip_os: str = "", chip_manufacture_id: str = "", chip_id: str = "",
                       encryption_type: int = 1, net_type: str = "",
                       product_vaild_years: int = 1) -> t.Product:
        r = self._call("CreateProduct", {
            "ProductName": name, "DeviceType": device_type, "CategoryId": category_id,
            "ProductDescription": description, "Features": list(features or []),
            "ChipOs": chip_os, "ChipManufactureId": chip_manufacture_id, "ChipId": chip_id,
            "EncryptionType": encryption_type, "NetType": net_type,
            "ProductVaildYears": product_vaild_years,
        })
        return convert.product(r.Data)

    def describe_devices(self, product_id: str, *, offset: int = 0, limit: int = 100,
                         device_name: str | None = None) -> t.Page[t.DeviceInfo]:
        r = self._call("DescribeDevices", {"ProductId": product_id, "Offset": offset,
                                           "Limit": limit, "DeviceName": device_name})
        return t.Page(items=[convert.device(d) for d in r.Devices or []],
                      total=int(r.TotalCount or 0))

    def describe_device(self, product_id: str, device_name: str) -> t.DeviceInfo:
        r = self._call("DescribeDevice", {"ProductId": product_id, "DeviceName": device_name})
        return convert.device(r)

    def create_batch(self, product_id: str, *, count: int, prefix: str) -> int:
        r = self._call("CreateBatch", {"ProductId": product_id, "DevNum": count,
                                       "DevPre": prefix})
        return int(r.BatchId)

    def describe_batch(self, batch_id: int) -> t.Batch:
        r = self._call("DescribeBatch", {"BatchId": batch_id})
        if r.Data is None:
            raise errors.NotFound(code="ResourceNotFound", action="DescribeBatch",
                                  request_id=r.RequestId or "")
        return convert.batch(r.Data)

    def modify_device(self, product_id: str, device_name: str, *, enabled: bool) -> None:
        self._call("ModifyDevice", {"ProductId": product_id, "DeviceName": device_name,
                                    "EnableState": 1 if enabled else 0})

    def delete_device(self, product_id: str, device_name: str) -> None:
        self._call("DeleteDevice", {"ProductId": product_id, "DeviceName": device_name})

    # --- packages -------------------------------------------------------------------------
    def create_cloud_storage(self, product_id: str, device_name: str, *, package_id: str,
                             order_id: str, override: bool = False,
                             package_queue: str | None = None, channel_id: int = 0) -> None:
        if not order_id:
            # Without an OrderId a retry could buy the package twice.
            raise errors.InvalidRequest(_("A package purchase needs an order id."),
                                        code="MissingParameter", action="CreateCloudStorage")
        self._call("CreateCloudStorage", {
            "ProductId": product_id, "DeviceName": device_name, "PackageId": package_id,
            "OrderId": order_id, "Override": 1 if override else 0,
            "PackageQueue": package_queue, "ChannelId": channel_id,
        })

    def create_free_cloud_storage(self, product_id: str, device_name: str, *, package_id: str,
                                  order_id: str, channel_id: int = 0) -> t.FreeStorage:
        r = self._call("CreateFreeCloudStorage", {
            "ProductId": product_id, "DeviceName": device_name, "PackageId": package_id,
            "OrderId": order_id, "ChannelId": channel_id,
        })
        return convert.free_storage(r)

    def describe_cloud_storage(self, product_id: str, device_name: str, *,
                               channel_id: int = 0) -> t.CloudStorageStatus:
        r = self._call("DescribeCloudStorage", {"ProductId": product_id,
                                                "DeviceName": device_name,
                                                "ChannelId": channel_id})
        return convert.cloud_storage(r)

    def describe_device_packages(self, product_id: str, device_name: str, *,
                                 channel_id: int = 0) -> list[t.PackageInfo]:
        out: list[t.PackageInfo] = []
        page_size = 50
        offset = 0
        while True:
            r = self._call("DescribeDevicePackages", {
                "ProductId": product_id, "DeviceName": device_name, "Limit": page_size,
                "Offset": offset, "ChannelId": channel_id,
            })
            batch = r.Packages or []
            out.extend(convert.package(p) for p in batch)
            offset += len(batch)
            if not batch or offset >= int(r.TotalCount or 0):
                return out

    def describe_cloud_storage_order(self, order_id: str) -> t.OrderInfo:
        r = self._call("DescribeCloudStorageOrder", {"OrderId": order_id})
        return convert.order(r)

    def transfer_cloud_storage(self, product_id: str, device_name: str, *, to_product_id: str,
                               to_device_name: str) -> None:
        self._call("TransferCloudStorage", {
            "ProductId": product_id, "DeviceName": device_name,
            "ToProductId": to_product_id, "ToDeviceName": to_device_name,
        })

    def reset_cloud_storage(self, product_id: str, device_name: str, *,
                            channel_id: int = 0) -> None:
        self._call("ResetCloudStorage", {"ProductId": product_id, "DeviceName": device_name,
                                         "ChannelId": channel_id})
        self._bump_device_generation(product_id, device_name)

    def reset_cloud_storage_events(self, product_id: str, device_name: str, *,
                                   channel_id: int = 0) -> None:
        self._call("ResetCloudStorageEvent", {"ProductId": product_id,
                                              "DeviceName": device_name,
                                              "ChannelId": channel_id})
        self._bump_device_generation(product_id, device_name)

    def describe_package_consume_stats(self, start: dt.date, end: dt.date) -> list[t.ConsumeStat]:
        r = self._call("DescribeCloudStoragePackageConsumeStats", {
            "StartDate": start.isoformat(), "EndDate": end.isoformat(),
        })
        return [convert.consume_stat(s) for s in r.Stats or []]

    # --- recordings -----------------------------------------------------------------------
    def describe_cloud_storage_dates(self, product_id: str, device_name: str, *,
                                     channel_id: int = 0) -> list[dt.date]:
        gen = self._device_generation(product_id, device_name)
        return self._briefly_cached(
            "dates", (product_id, device_name, channel_id, gen),
            lambda: convert.dates(self._call("DescribeCloudStorageDate", {
                "ProductId": product_id, "DeviceName": device_name, "ChannelId": channel_id,
            })),
        )

    def describe_cloud_storage_time(self, product_id: str, device_name: str, *, day: dt.date,
                                    start=None, end=None, channel_id: int = 0) -> t.DayTimeline:
        start_epoch = to_epoch(start) if start is not None else None
        end_epoch = to_epoch(end) if end is not None else None
        gen = self._device_generation(product_id, device_name)
        return self._briefly_cached(
            "time", (product_id, device_name, day.isoformat(), start_epoch, end_epoch,
                     channel_id, gen),
            lambda: convert.day_timeline(self._call("DescribeCloudStorageTime", {
                "ProductId": product_id, "DeviceName": device_name, "Date": day.isoformat(),
                "StartTime": start_epoch, "EndTime": end_epoch, "ChannelId": channel_id,
            })),
        )

    def describe_cloud_storage_events(self, product_id: str, device_name: str, *, start=None,
                                      end=None, context: str = "", size: int = 10,
                                      event_id: str | None = None,
                                      channel_id: int = 0) -> t.EventPage:
        r = self._call("DescribeCloudStorageEvents", {
            "ProductId": product_id, "DeviceName": device_name,
            "StartTime": to_epoch(start) if start is not None else None,
            "EndTime": to_epoch(end) if end is not None else None,
            "Context": context or None, "Size": size, "EventId": event_id or None,
            "ChannelId": channel_id,
        })
        return convert.event_page(r)

    def describe_thumbnail(self, product_id: str, device_name: str,
                           thumbnail: str) -> t.SignedURL:
        key = _cache_key(self._version, "thumb", product_id, device_name, thumbnail)
        hit = cache.get(key)
        if hit is not None:
            return hit
        r = self._call("DescribeCloudStorageThumbnail", {
            "ProductId": product_id, "DeviceName": device_name, "Thumbnail": thumbnail,
        })
        signed = convert.thumbnail(r)
        self._cache_signed(key, signed, signed.expires_at)
        return signed

    def describe_thumbnails(self, product_id: str, device_name: str,
                            thumbnails: list[str]) -> dict[str, t.SignedURL]:
        """Signed addresses of many thumbnails: cached ones from the cache, the rest in as few
        DescribeCloudStorageThumbnailList calls as possible (one per 50)."""
        names = list(dict.fromkeys(n for n in thumbnails if n))
        keys = {n: _cache_key(self._version, "thumb", product_id, device_name, n) for n in names}
        found = cache.get_many(list(keys.values()))
        out = {n: found[k] for n, k in keys.items() if k in found}
        missing = [n for n in names if n not in out]
        for i in range(0, len(missing), THUMBNAIL_BATCH):
            chunk = missing[i:i + THUMBNAIL_BATCH]
            try:
                r = self._call("DescribeCloudStorageThumbnailList", {
                    "ProductId": product_id, "DeviceName": device_name, "ThumbnailList": chunk,
                })
            except errors.NotFound:
                # One unknown name fails the whole batch (an event deleted since the list was
                # read). Rare: ask one by one and leave out the ones that are gone.
                for name in chunk:
                    try:
                        out[name] = self.describe_thumbnail(product_id, device_name, name)
                    except errors.NotFound:
                        continue
                continue
            # The answer lists the addresses in the order of the request.
            for name, signed in zip(chunk, convert.thumbnail_list(r), strict=False):
                out[name] = signed
                self._cache_signed(keys[name], signed, signed.expires_at)
        return {n: out[n] for n in names if n in out}

    def delete_cloud_storage_event(self, product_id: str, device_name: str, *, event_id: str,
                                   start, end, channel_id: int = 0) -> None:
        self._call("DeleteCloudStorageEvent", {
            "ProductId": product_id, "DeviceName": device_name, "EventId": event_id,
            "StartTime": to_epoch(start), "EndTime": to_epoch(end), "ChannelId": channel_id,
        })
        self._bump_device_generation(product_id, device_name)

    def generate_signed_video_url(self, url: str, *, expires_at, channel_id: int = 0) -> t.SignedURL:
        expire_epoch = to_epoch(expires_at)
        r = self._call("GenerateSignedVideoURL", {"VideoURL": url, "ExpireTime": expire_epoch,
                                                  "ChannelId": channel_id})
        return t.SignedURL(url=r.SignedVideoURL or "", expires_at=t.from_epoch(expire_epoch))

    def signed_video_url(self, video_url: str, *, start, end, channel_id: int = 0,
                         valid_for: dt.timedelta = dt.timedelta(hours=1)) -> t.SignedURL:
        """The signed m3u8 address of [start, end] of a day's VideoURL, reused from the cache
        while it stays valid for a while longer (a second viewer costs no cloud call)."""
        parts = urlsplit(video_url)
        query = parts.query + ("&" if parts.query else "") + urlencode(
            {"starttime_epoch": to_epoch(start), "endtime_epoch": to_epoch(end)})
        address = urlunsplit(parts._replace(query=query))
        key = _cache_key(self._version, "signed", address, channel_id,
                         int(valid_for.total_seconds()))
        hit = cache.get(key)
        if hit is not None:
            return hit
        expires_at = dt.datetime.now(tz=dt.UTC).replace(microsecond=0) + valid_for
        signed = self.generate_signed_video_url(address, expires_at=expires_at,
                                                channel_id=channel_id)
        self._cache_signed(key, signed, signed.expires_at)
        return signed

    def describe_stream_data(self, product_id: str, device_name: str, *, start) -> t.StreamData:
        start_epoch = to_epoch(start)
        key = _cache_key(self._version, "stream", product_id, device_name, start_epoch)
        hit = cache.get(key)
        if hit is not None:
            return hit
        r = self._call("DescribeCloudStorageStreamData", {
            "ProductId": product_id, "DeviceName": device_name, "StartTime": start_epoch,
        })
        video, audio = r.VideoStream or "", r.AudioStream or ""
        # The answer has no ExpireTime; the addresses carry theirs in the query string.
        expiries = [e for e in (_expiry_from_url(video), _expiry_from_url(audio)) if e]
        expires_at = min(expiries) if expiries else None
        data = t.StreamData(video_url=video, audio_url=audio, expires_at=expires_at)
        self._cache_signed(key, data, expires_at)
        return data

    # --- settings page ----------------------------------------------------------------------
    def test_connection(self) -> t.ConnectionCheck:
        """A cheap read (DescribeProducts, one item, no retries) and a verdict a person can act
        on: wrong keys, wrong region, unreachable endpoint, or fine."""
        where = f"{self.protocol}://{self.endpoint}"
        try:
            page = self._call("DescribeProducts", {"Offset": 0, "Limit": 1}, max_attempts=1)
        except errors.CloudError as err:
            return t.ConnectionCheck(ok=False, message=_connection_message(err, self, where),
                                     code=err.code, request_id=err.request_id,
                                     details={"endpoint": where, "region": self.region})
        total = int(page.TotalCount or 0)
        return t.ConnectionCheck(
            ok=True,
            message=_("Connected to %(where)s (region %(region)s); %(count)d products.")
            % {"where": where, "region": self.region or "-", "count": total},
            request_id=page.RequestId or "",
            details={"endpoint": where, "region": self.region, "products": total},
        )


def _connection_message(err: errors.CloudError, cloud: Cloud, where: str) -> str:
    code = err.code or ""
    if isinstance(err, errors.AuthFailed):
        if code == "AuthFailure.SignatureExpire":
            return _("The cloud refused the request because this server's clock is off.")
        if code in ("AuthFailure.SecretIdNotFound", "AuthFailure.InvalidSecretId"):
            return _("The cloud does not know this SecretId. Check the SecretId.")
        if code == "AuthFailure.SignatureFailure":
            return _("The SecretKey does not match the SecretId. Check the SecretKey.")
        return _("The cloud rejected the keys: %(detail)s") % {"detail": err.detail or code}
    if code == "UnsupportedRegion" or "region" in (err.detail or "").lower():
        return _("The region “%(region)s” is wrong or does not offer IoT Video.") % {
            "region": cloud.region}
    if code in errors.UNREADABLE_ANSWER or code == "ServerNetworkError":
        return _("%(where)s answered, but not as an IoT Video cloud. Check the address.") % {
            "where": where}
    if code == "ClientNetworkError":
        return _("Cannot reach %(where)s. Check the address and that the cloud is running.") % {
            "where": where}
    return _("The cloud answered with an error: %(message)s") % {"message": err.message}
