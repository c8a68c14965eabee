"""Cloud API actions over recordings: days, the day's timeline, events (keyset-paged),
thumbnails, picture-stream data, deleting events and signing playlist addresses."""
import base64
import re
from datetime import date
from functools import cache

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from localcloud import clock, index, sql
from localcloud.api.errors import CloudError, invalid_value, not_found, unsupported
from localcloud.api.registry import Params, action
from localcloud.media import playlists
from localcloud.models import Device, Event, Product, RecordingDay, Segment, Span
from localcloud.products import device_by_name_sql, device_find
from localcloud.signing import Signer, public_url, signed_append
from localcloud.storage import media_delete

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MEDIA_URL_TTL = 3600  # thumbnails and picture-stream URLs, as Tencent hands them out
MAX_SIGNED_TTL = 30 * 86400
MAX_EVENTS_PAGE = 100
EVENTS_TOTAL_CAP = 1000
MAX_THUMBNAILS = 100
DAY = 86400
_PLAYLIST_RE = re.compile(
    r"^/media/v1/(?P<product>[^/?#]+)/(?P<device>[^/?#]+)/(?P<channel>\d+)/video\.m3u8$")


# Hand-written SQL for the reads every playback page makes (as the ingest path does, see
# localcloud.sql): building an ORM query costs more CPU than the query's round trip.
_q = sql.quote


def _device(p: Params) -> Device:
    product_id = p.str("ProductId", max_length=64)
    device_name = p.str("DeviceName", max_length=64)
    device = device_find(product_id=product_id, device_name=device_name)
    if device is None:
        raise not_found(f"The device {product_id}/{device_name}")
    return device


def _channel(p: Params, device: Device | None = None) -> int:
    channel = p.int("ChannelId", 0, min_value=0, max_value=1024)
    if device is not None and channel and not device.product.is_nvr:
        raise invalid_value("ChannelId", "must be 0 (or absent) for a device that is not an NVR")
    return channel


def _date(value: str) -> date:
    try:
        if not DATE_RE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise invalid_value("Date", f"{value!r} is not a date in the form YYYY-MM-DD") from None


def _time_range(start: int, end: int) -> None:
    if start and end and start > end:
        raise invalid_value("StartTime", f"({start}) is after EndTime ({end})")


def _describe_cloud_storage_date(p: Params) -> dict:
    device = _device(p)
    p.str("UserId", "")
    channel = _channel(p, device)
    p.finish()
    days = (RecordingDay.objects.filter(device=device, channel_id=channel)
            .order_by("day").values_list("day", flat=True))
    return {"Data": [d.isoformat() for d in days]}


@cache
def _days_sql() -> str:
    days = (f"LEFT JOIN {sql.table(RecordingDay)} r "
            "ON r.device_id = d.id AND r.channel_id = %s ")
    return (f"SELECT p.{_q('device_type')}, r.{_q('day')} "  # noqa: S608 (names)
            f"{device_by_name_sql(days)} ORDER BY r.{_q('day')}")


@action("DescribeCloudStorageDate", read_only=True)
def describe_cloud_storage_date(p: Params) -> dict:
    # One query instead of two (device, then days): the device LEFT JOINed to its days of the
    # channel. Any parameter error goes through the two-step version above, so every refusal
    # (and which one comes first) stays exactly as it was.
    try:
        product_id = p.str("ProductId", max_length=64)
        device_name = p.str("DeviceName", max_length=64)
        p.str("UserId", "")
        channel = p.int("ChannelId", 0, min_value=0, max_value=1024)
        p.finish()
    except CloudError:
        return _describe_cloud_storage_date(Params(p.body))
    rows = sql.fetch_all(_days_sql(), [channel, product_id, device_name])
    if not rows or (channel and not Product(device_type=rows[0][0]).is_nvr):
        return _describe_cloud_storage_date(Params(p.body))
    # SQLite hands dates back as text, PostgreSQL as dates.
    return {"Data": [d if isinstance(d, str) else d.isoformat() for _, d in rows if d is not None]}


def _describe_cloud_storage_time(p: Params) -> dict:
    device = _device(p)
    day = _date(p.str("Date", max_length=10))
    start = p.int("StartTime", 0, min_value=0)
    end = p.int("EndTime", 0, min_value=0)
    p.str("UserId", "")
    channel = _channel(p, device)
    p.finish()
    _time_range(start, end)
    low, high = _day_window(day, start, end)
    spans = index.spans_between(device=device, channel_id=channel, start=low, end=high) \
        if low < high else []
    return {"Data": {"TimeList": [{"StartTime": s, "EndTime": e} for s, e in spans],
                     "VideoURL": playlists.video_url(device, channel)}}


def _day_window(day: date, start: int, end: int) -> tuple[int, int]:
    day_start, day_end = index.day_bounds(day)
    low = max(day_start, start) if start else day_start
    high = min(day_end, end) if end else day_end
    return low, high


@cache
def _spans_sql() -> str:
    # index.spans_between's query, with the device LEFT JOINed in front of it.
    spans = (f"LEFT JOIN {sql.table(Span)} s ON s.device_id = d.id AND s.channel_id = %s "
             "AND s.start_time < %s AND s.end_time > %s ")
    return ("SELECT p.device_type, s.start_time, s.end_time "  # noqa: S608 (names)
            f"{device_by_name_sql(spans)} ORDER BY s.start_time")


@action("DescribeCloudStorageTime", read_only=True)
def describe_cloud_storage_time(p: Params) -> dict:
    # One query (the device LEFT JOINed to its spans of the day) when every parameter is
    # right; any refusal goes through the two-step version above, which answers it as before.
    try:
        product_id = p.str("ProductId", max_length=64)
        device_name = p.str("DeviceName", max_length=64)
        day = _date(p.str("Date", max_length=10))
        start = p.int("StartTime", 0, min_value=0)
        end = p.int("EndTime", 0, min_value=0)
        p.str("UserId", "")
        channel = p.int("ChannelId", 0, min_value=0, max_value=1024)
        p.finish()
        _time_range(start, end)
    except CloudError:
        return _describe_cloud_storage_time(Params(p.body))
    low, high = _day_window(day, start, end)
    rows = sql.fetch_all(_spans_sql(), [channel, high, low, product_id, device_name])
    if not rows or (channel and not Product(device_type=rows[0][0]).is_nvr):
        return _describe_cloud_storage_time(Params(p.body))
    spans = [(max(s, low), min(e, high)) for _, s, e in rows if s is not None] \
        if low < high else []
    return {"Data": {"TimeList": [{"StartTime": s, "EndTime": e} for s, e in spans],
                     "VideoURL": public_url(playlists.playlist_path(product_id, device_name,
                                                                   channel))}}


def _cursor(start_time: int, pk: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{start_time}:{pk}".encode()).decode().rstrip("=")


def _parse_cursor(context: str) -> tuple[int, int]:
    try:
        raw = base64.urlsafe_b64decode(context + "=" * (-len(context) % 4)).decode()
        version, start_time, pk = raw.split(":")
        if version != "v1":
            raise ValueError
        return int(start_time), int(pk)
    except (ValueError, UnicodeDecodeError):
        raise invalid_value("Context", "is not a cursor returned by this action") from None


@action("DescribeCloudStorageEvents", read_only=True)
def describe_cloud_storage_events(p: Params) -> dict:
    device = _device(p)
    start = p.int("StartTime", 0, min_value=0)
    end = p.int("EndTime", 0, min_value=0)
    context = p.str("Context", "", max_length=256)
    size = p.int("Size", 10, min_value=1)
    event_id = p.str("EventId", "", max_length=64)
    p.str("UserId", "")
    channel = _channel(p, device)
    p.finish()
    if size > MAX_EVENTS_PAGE:
        raise invalid_value("Size", f"must be at most {MAX_EVENTS_PAGE}")
    now = clock.now()
    start = start or now - DAY
    end = end or now
    _time_range(start, end)
    params = [device.pk, channel, start, end] + ([event_id] if event_id else [])
    keyset = []
    if context:
        # Keyset cursor: (start_time, id) of the last event handed out, newest first, so the
        # 10,000th page costs what the first does.
        after_start, after_pk = _parse_cursor(context)
        keyset = [after_start, after_start, after_start, after_pk]
    rows = sql.fetch_all(_events_sql(bool(event_id), bool(context)),
                         params + params + keyset + [size + 1])
    listover = len(rows) <= size
    rows = rows[:size]
    # The count rides on the page's rows; an empty page asks for it alone.
    total = rows[0][7] if rows else sql.fetch_one(_events_total_sql(bool(event_id)), params)[0]
    return {
        "Events": [{"StartTime": e[0], "EndTime": e[1], "Thumbnail": e[2], "EventId": e[3],
                    "UploadStatus": e[4], "Data": e[5]} for e in rows],
        "Context": "" if listover or not rows else _cursor(rows[-1][0], rows[-1][6]),
        "Listover": listover,
        # Tencent documents Total as an internal result count, not the number of events;
        # localcloud counts the matching events up to EVENTS_TOTAL_CAP so deep pages stay cheap.
        "Total": total,
        "VideoURL": playlists.video_url(device, channel),
    }


def _events_where(by_event_id: bool) -> str:
    return ("device_id = %s AND channel_id = %s AND start_time >= %s AND start_time <= %s"
            + (f" AND {_q('event_id')} = %s" if by_event_id else ""))


@cache
def _events_total_sql(by_event_id: bool) -> str:
    return (f"SELECT COUNT(*) FROM (SELECT 1 FROM {sql.table(Event)} "  # noqa: S608 (names)
            f"WHERE {_events_where(by_event_id)} LIMIT {EVENTS_TOTAL_CAP}) t")


@cache
def _events_sql(by_event_id: bool, after_cursor: bool) -> str:
    """A page of events, newest first, each row carrying the capped count of the matching
    events (an uncorrelated subquery: the database runs it once)."""
    where = _events_where(by_event_id)
    if after_cursor:
        # The plain bound lets the database start its index walk at the cursor; the OR
        # alone would make it scan from the newest event.
        where += " AND start_time <= %s AND (start_time < %s OR (start_time = %s AND id < %s))"
    columns = ", ".join(_q(c) for c in ["start_time", "end_time", "thumbnail", "event_id",
                                        "upload_status", "data", "id"])
    return (f"SELECT {columns}, ({_events_total_sql(by_event_id)}) "  # noqa: S608 (names)
            f"FROM {sql.table(Event)} WHERE {where} ORDER BY start_time DESC, id DESC LIMIT %s")


def _thumbnail_key(name: str) -> dict | None:
    """Thumbnail names are `<event id>-<start>-<channel>.jpg` (see the device services), so a
    name leads straight to its event through the unique index."""
    stem, dot, ext = name.rpartition(".")
    event_id, _, rest = stem.rpartition("-")
    event_id, _, start = event_id.rpartition("-")
    if not (dot and ext == "jpg" and event_id and start.isdigit() and rest.isdigit()):
        return None
    return {"event_id": event_id, "start_time": int(start), "channel_id": int(rest)}


def _thumbnail_event(device: Device, name: str) -> Event:
    key = _thumbnail_key(name)
    event = (Event.objects.filter(device=device, thumbnail=name, **key)
             .exclude(thumbnail_path="").first()) if key else None
    if event is None:
        raise not_found(f"The thumbnail {name!r}")
    return event


def _thumbnail_url(event: Event, expires: int) -> str:
    return public_url(Signer(expires).sign(f"/media/v1/thumb/{event.pk}.jpg"))


@action("DescribeCloudStorageThumbnail", read_only=True)
def describe_cloud_storage_thumbnail(p: Params) -> dict:
    device = _device(p)
    name = p.str("Thumbnail", max_length=128)
    p.finish()
    event = _thumbnail_event(device, name)
    expires = clock.now() + MEDIA_URL_TTL
    return {"ThumbnailURL": _thumbnail_url(event, expires), "ExpireTime": expires}


@action("DescribeCloudStorageThumbnailList", read_only=True)
def describe_cloud_storage_thumbnail_list(p: Params) -> dict:
    device = _device(p)
    names = p.str_list("ThumbnailList", max_items=MAX_THUMBNAILS)
    p.finish()
    if not names:
        raise invalid_value("ThumbnailList", "must name at least one thumbnail")
    keys = [Q(thumbnail=n, **k) for n in dict.fromkeys(names) if (k := _thumbnail_key(n))]
    events = {}
    if keys:
        wanted = keys[0]
        for key in keys[1:]:
            wanted |= key
        events = {e.thumbnail: e for e in Event.objects.filter(wanted, device=device)
                  .exclude(thumbnail_path="")}
    missing = [n for n in names if n not in events]
    if missing:
        raise not_found(f"The thumbnail {missing[0]!r}")
    expires = clock.now() + MEDIA_URL_TTL
    return {"ThumbnailURLInfoList": [
        {"ThumbnailURL": _thumbnail_url(events[n], expires), "ExpireTime": expires} for n in names
    ]}


def events_delete(events: list[Event]) -> None:
    """Delete events with their media and their segments (index repaired), files after commit."""
    if not events:
        return
    segment_rows = list(Segment.objects.filter(event__in=events).values(
        "id", "device_id", "channel_id", "start_time", "end_time", "path"))
    names = index.segments_delete(segment_rows)
    for event in events:
        names += [event.thumbnail_path, event.video_path, event.audio_path]
    by_device: dict[tuple[int, int], set] = {}
    for event in events:
        by_device.setdefault((event.device_id, event.channel_id), set()).update(
            index.days_touched(event.start_time, max(event.start_time, event.end_time)))
    Event.objects.filter(pk__in=[e.pk for e in events]).delete()
    for (device_id, channel_id), days in by_device.items():
        index.days_refresh(device_id=device_id, channel_id=channel_id, days=days)
    transaction.on_commit(lambda: [media_delete(n) for n in names if n])


@action("DeleteCloudStorageEvent")
def delete_cloud_storage_event(p: Params) -> dict:
    device = _device(p)
    event_id = p.str("EventId", max_length=64)
    start = p.int("StartTime", min_value=0)
    end = p.int("EndTime", min_value=0)
    p.str("UserId", "")
    channel = _channel(p, device)
    p.finish()
    _time_range(start, end)
    with transaction.atomic():
        Device.objects.select_for_update().get(pk=device.pk)
        events = list(Event.objects.filter(device=device, channel_id=channel, event_id=event_id,
                                           start_time=start))
        if not events:
            raise not_found(f"The event {event_id!r} starting at {start}")
        events_delete(events)
    return {}


@action("ResetCloudStorageEvent")
def reset_cloud_storage_event(p: Params) -> dict:
    device = _device(p)
    p.str("UserId", "")
    channel = _channel(p, device)
    p.finish()
    with transaction.atomic():
        Device.objects.select_for_update().get(pk=device.pk)
        events_delete(list(Event.objects.filter(device=device, channel_id=channel)))
    return {}


@action("GenerateSignedVideoURL", read_only=True)
def generate_signed_video_url(p: Params) -> dict:
    url = p.str("VideoURL", max_length=2048)
    expire_time = p.int("ExpireTime", min_value=0)
    channel = p.int("ChannelId", 0, min_value=0, max_value=1024)
    p.finish()
    base = settings.LOCALCLOUD_PUBLIC_URL.rstrip("/")
    path, _, query = url[len(base):].partition("?") if url.startswith(base + "/") else ("", "", "")
    match = _PLAYLIST_RE.match(path)
    if not match:
        raise invalid_value("VideoURL", "is not a VideoURL this cloud handed out")
    params = dict(part.partition("=")[::2] for part in query.split("&")) if query else {}
    if set(params) != {"starttime_epoch", "endtime_epoch"} or len(query.split("&")) != 2 \
            or not all(v.isdigit() for v in params.values()):
        raise invalid_value("VideoURL", "must end with ?starttime_epoch=S&endtime_epoch=E "
                                        "(Unix seconds)")
    if int(params["starttime_epoch"]) > int(params["endtime_epoch"]):
        raise invalid_value("VideoURL", "has starttime_epoch after endtime_epoch")
    if channel and channel != int(match["channel"]):
        raise invalid_value("ChannelId", "does not match the channel of VideoURL")
    now = clock.now()
    if expire_time <= now:
        raise invalid_value("ExpireTime", "must be in the future")
    if expire_time > now + MAX_SIGNED_TTL:
        raise invalid_value("ExpireTime", "may be at most 30 days ahead")
    if not Device.objects.filter(product__product_id=match["product"],
                                 device_name=match["device"]).exists():
        raise not_found(f"The device {match['product']}/{match['device']}")
    return {"SignedVideoURL": signed_append(url, expires=expire_time)}


@action("DescribeCloudStorageStreamData", read_only=True)
def describe_cloud_storage_stream_data(p: Params) -> dict:
    device = _device(p)
    start = p.int("StartTime", min_value=0)
    p.finish()
    if not device.product.is_picture_stream:
        raise unsupported("Stream data exists only for picture-stream products (CategoryId 595).")
    event = (Event.objects.filter(device=device, start_time=start).exclude(video_path="")
             .order_by("channel_id").first())
    if event is None:
        raise not_found(f"The picture-stream event starting at {start}")
    signer = Signer(clock.now() + MEDIA_URL_TTL)
    return {
        "VideoStream": public_url(signer.sign(f"/media/v1/mjpeg/{event.pk}.mjpg",
                                              f"fps={event.frame_rate}")),
        "AudioStream": public_url(signer.sign(f"/media/v1/aac/{event.pk}.aac")),
    }

