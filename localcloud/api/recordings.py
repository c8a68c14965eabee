"""Cloud API actions over recordings: days, the day's timeline, events (keyset-paged),
thumbnails, picture-stream data, deleting events and signing playlist addresses."""
import base64
import re
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import FilteredRelation, Q

from localcloud import clock, index
from localcloud.api.errors import CloudError, invalid_value, not_found, unsupported
from localcloud.api.registry import Params, action
from localcloud.media import playlists
from localcloud.models import Device, Event, Product, RecordingDay, Segment
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


def _device(p: Params) -> Device:
    product_id = p.str("ProductId", max_length=64)
    device_name = p.str("DeviceName", max_length=64)
    device = (Device.objects.select_related("product")
              .filter(product__product_id=product_id, device_name=device_name).first())
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
    rows = list(
        Device.objects.filter(product__product_id=product_id, device_name=device_name)
        .annotate(days=FilteredRelation("recording_days",
                                        condition=Q(recording_days__channel_id=channel)))
        .order_by("days__day").values_list("product__device_type", "days__day")
    )
    if not rows or (channel and not Product(device_type=rows[0][0]).is_nvr):
        return _describe_cloud_storage_date(Params(p.body))
    return {"Data": [d.isoformat() for _, d in rows if d is not None]}


@action("DescribeCloudStorageTime", read_only=True)
def describe_cloud_storage_time(p: Params) -> dict:
    device = _device(p)
    day = _date(p.str("Date", max_length=10))
    start = p.int("StartTime", 0, min_value=0)
    end = p.int("EndTime", 0, min_value=0)
    p.str("UserId", "")
    channel = _channel(p, device)
    p.finish()
    _time_range(start, end)
    day_start, day_end = index.day_bounds(day)
    low = max(day_start, start) if start else day_start
    high = min(day_end, end) if end else day_end
    spans = index.spans_between(device=device, channel_id=channel, start=low, end=high) \
        if low < high else []
    return {"Data": {"TimeList": [{"StartTime": s, "EndTime": e} for s, e in spans],
                     "VideoURL": playlists.video_url(device, channel)}}


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
    matching = Event.objects.filter(device=device, channel_id=channel,
                                    start_time__gte=start, start_time__lte=end)
    if event_id:
        matching = matching.filter(event_id=event_id)
    page = matching
    if context:
        # Keyset cursor: (start_time, id) of the last event handed out, newest first, so the
        # 10,000th page costs what the first does.
        after_start, after_pk = _parse_cursor(context)
        # The plain bound lets the database start its index walk at the cursor; the OR
        # alone would make it scan from the newest event.
        page = page.filter(Q(start_time__lt=after_start)
                           | Q(start_time=after_start, pk__lt=after_pk),
                           start_time__lte=after_start)
    # Only the columns the answer shows, as tuples (no model instances to build).
    rows = list(page.order_by("-start_time", "-pk").values_list(
        "start_time", "end_time", "thumbnail", "event_id", "upload_status", "data", "pk",
    )[: size + 1])
    listover = len(rows) <= size
    rows = rows[:size]
    return {
        "Events": [{"StartTime": e[0], "EndTime": e[1], "Thumbnail": e[2], "EventId": e[3],
                    "UploadStatus": e[4], "Data": e[5]} for e in rows],
        "Context": "" if listover or not rows else _cursor(rows[-1][0], rows[-1][6]),
        "Listover": listover,
        # Tencent documents Total as an internal result count, not the number of events;
        # localcloud counts the matching events up to EVENTS_TOTAL_CAP so deep pages stay cheap.
        "Total": matching.order_by()[:EVENTS_TOTAL_CAP].count(),
        "VideoURL": playlists.video_url(device, channel),
    }


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

