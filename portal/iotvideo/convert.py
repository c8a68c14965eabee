"""SDK response models → the dataclasses of portal.iotvideo.types (the one place that reads them)."""
from __future__ import annotations

import datetime as dt

from portal.iotvideo import types as t
from portal.iotvideo.types import from_epoch


def _int(value, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _str(value) -> str:
    return "" if value is None else str(value)


def product(p) -> t.Product:
    return t.Product(
        product_id=_str(p.ProductId),
        name=_str(p.ProductName),
        device_type=_int(p.DeviceType, 1),
        category_id=_int(p.CategoryId),
        encryption_type=_int(p.EncryptionType, 1),
        features=list(p.Features or []),
        chip_os=_str(p.ChipOs),
        chip_manufacture_id=_str(p.ChipManufactureId),
        chip_id=_str(p.ChipId),
        description=_str(p.ProductDescription),
        net_type=_str(p.NetType),
        valid_years=_int(p.ProductVaildYears),
        created_at=from_epoch(p.CreateTime),
        updated_at=from_epoch(p.UpdateTime),
    )


def device(d) -> t.DeviceInfo:
    return t.DeviceInfo(
        device_name=_str(d.DeviceName),
        online=_int(d.Online),
        login_at=from_epoch(d.LoginTime),
        psk=_str(d.DevicePsk),
        # EnableState: 1 enabled, 0 disabled; absent means the cloud did not say → enabled.
        enabled=_int(d.EnableState, 1) == 1,
        expires_at=from_epoch(d.ExpireTime),
        log_level=_int(d.LogLevel),
    )


def batch(b) -> t.Batch:
    return t.Batch(
        batch_id=_int(b.Id),
        product_id=_str(b.ProductId),
        status=_int(b.Status),
        prefix=_str(b.DevPre),
        count=_int(b.DevNum),
        created_count=_int(b.DevNumCreated),
        batch_url=_str(b.BatchURL),
        created_at=from_epoch(b.CreateTime),
        updated_at=from_epoch(b.UpdateTime),
    )


def free_storage(r) -> t.FreeStorage:
    return t.FreeStorage(price=_int(r.Price), amount=_int(r.Amount))


def cloud_storage(r) -> t.CloudStorageStatus:
    return t.CloudStorageStatus(
        active=_int(r.Status) == 1,
        type=_int(r.Type),
        expires_at=from_epoch(r.ExpireTime),
        retention_days=_int(r.ShiftDuration),
        user_id=_str(r.UserId),
    )


def package(p) -> t.PackageInfo:
    return t.PackageInfo(
        package_id=_str(p.PackageId),
        order_id=_str(p.OrderId),
        status=_int(p.Status),
        type=_int(p.CSType),
        retention_days=_int(p.CSShiftDuration),
        expires_at=from_epoch(p.CSExpiredTime),
        created_at=from_epoch(p.CreatedAt),
        updated_at=from_epoch(p.UpdatedAt),
        channel_id=_int(p.ChannelId),
        user_id=_str(p.CSUserId),
    )


def order(r) -> t.OrderInfo:
    return t.OrderInfo(
        start_at=from_epoch(r.StartTime),
        expires_at=from_epoch(r.ExpireTime),
        package_id=_str(r.PackageId),
        status=_int(r.Status),
        channel_id=_int(r.ChannelId),
        price=_int(r.Price),
        amount=_int(r.Amount),
    )


def consume_stat(s) -> t.ConsumeStat:
    return t.ConsumeStat(
        package_id=_str(s.PackageId),
        package_name=_str(s.PackageName),
        count=_int(s.Cnt),
        price=_int(s.Price),
        source=_int(s.Source),
    )


def dates(r) -> list[dt.date]:
    out = []
    for raw in r.Data or []:
        try:
            out.append(dt.date.fromisoformat(str(raw)[:10]))
        except ValueError:
            continue  # a malformed day is skipped rather than breaking the calendar
    return sorted(set(out))


def day_timeline(r) -> t.DayTimeline:
    data = r.Data
    if data is None:
        return t.DayTimeline(spans=[], video_url="")
    spans = []
    for span in data.TimeList or []:
        start, end = from_epoch(span.StartTime), from_epoch(span.EndTime)
        if start is not None and end is not None:
            spans.append(t.TimeSpan(start=start, end=end))
    spans.sort(key=lambda s: s.start)
    return t.DayTimeline(spans=spans, video_url=_str(data.VideoURL))


def event(e) -> t.CloudEvent:
    return t.CloudEvent(
        event_id=_str(e.EventId),
        start=from_epoch(e.StartTime),
        end=from_epoch(e.EndTime),
        thumbnail=_str(e.Thumbnail),
        upload_status=_str(e.UploadStatus),
        data=_str(e.Data),
    )


def event_page(r) -> t.EventPage:
    return t.EventPage(
        events=[event(e) for e in r.Events or []],
        context=_str(r.Context),
        listover=bool(r.Listover) if r.Listover is not None else True,
        total=_int(r.Total),
        video_url=_str(r.VideoURL),
    )


def thumbnail(r) -> t.SignedURL:
    return t.SignedURL(url=_str(r.ThumbnailURL), expires_at=from_epoch(r.ExpireTime))


def thumbnail_list(r) -> list[t.SignedURL]:
    return [t.SignedURL(url=_str(i.ThumbnailURL), expires_at=from_epoch(i.ExpireTime))
            for i in r.ThumbnailURLInfoList or []]
