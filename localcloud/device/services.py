"""What devices do to the cloud: heartbeat, read the package state, upload segments, open and
close events, thumbnails, picture-stream events. Each upload is judged by the package in force
when it arrives, its media checked (structurally for segments, with PyAV for picture-stream
events), written atomically (file first under a name derived from its content, then indexed in
the same transaction), and idempotent."""
import hashlib
import re
from dataclasses import dataclass
from functools import cache

from django.db import IntegrityError, transaction

from localcloud import clock, index, sql
from localcloud.device import probe
from localcloud.models import Device, Event, Package, Segment
from localcloud.packages import in_force_params, in_force_sql, package_in_force
from localcloud.products import device_media_folder
from localcloud.storage import media_delete, media_write

MAX_SEGMENT_SECONDS = 60
MAX_PICTURE_EVENT_SECONDS = 10
DURATION_SLACK_MS = 1000
# Device clocks drift; as for request timestamps, allow five minutes.
MAX_FUTURE_SECONDS = 300
CS_TYPE_FULL_TIME = 1
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
MAX_DATA_CHARS = 1024
DAY = 86400


class DeviceApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def bad_request(message: str) -> DeviceApiError:
    return DeviceApiError(400, "bad_request", message)


@dataclass(frozen=True)
class Upload:
    created: bool
    payload: dict


# --- state --------------------------------------------------------------------------------
def device_heartbeat(*, device: Device) -> dict:
    now = clock.now()
    Device.objects.filter(pk=device.pk).update(login_time=now)
    return {"login_time": now, "server_time": now}


def cloud_storage_state(*, device: Device, channel_id: int) -> dict:
    now = clock.now()
    package = package_in_force(device=device, channel_id=channel_id, at=now)
    if package is None:
        return {"channel": channel_id, "status": 0, "type": 0, "package_id": "", "expire_time": 0,
                "shift_duration": 0, "server_time": now}
    return {"channel": channel_id, "status": 1, "type": package.cs_type,
            "package_id": package.package_id, "expire_time": package.expire_time,
            "shift_duration": package.shift_duration, "server_time": now}


# --- checks -------------------------------------------------------------------------------
def check_channel(device: Device, channel_id: int) -> None:
    if channel_id < 0:
        raise bad_request("channel must be 0 or more.")
    if channel_id != 0 and not device.product.is_nvr:
        raise bad_request("Only NVR products have channels other than 0.")


def check_times(start: int, end: int, *, max_seconds: int, what: str) -> None:
    if start <= 0 or end <= start:
        raise bad_request("end_time must be after start_time (both Unix seconds).")
    if end > clock.now() + MAX_FUTURE_SECONDS:
        raise bad_request("The recording's times lie in the future; check the device's clock.")
    if end - start > max_seconds:
        raise DeviceApiError(422, "too_long",
                             f"A {what} may last at most {max_seconds} s; this one lasts "
                             f"{end - start} s.")


def check_duration(actual_ms: int, start: int, end: int, what: str) -> None:
    expected_ms = (end - start) * 1000
    if abs(actual_ms - expected_ms) > DURATION_SLACK_MS:
        raise DeviceApiError(422, "duration_mismatch",
                             f"The {what} lasts {actual_ms / 1000:.1f} s but end_time - start_time "
                             f"is {end - start} s.")


def _package_for(device: Device, channel_id: int, recorded_at: int, *, full_time: bool):
    now = clock.now()
    return _judged(package_in_force(device=device, channel_id=channel_id, at=now), channel_id,
                   recorded_at, full_time=full_time, now=now)


def _judged(package: Package | None, channel_id: int, recorded_at: int, *, full_time: bool,
            now: int) -> Package:
    """The package that judges an upload: the one in force when it ARRIVES (as Tencent does), so
    a camera that was offline can upload its backlog. What it keeps is counted from the
    recording's own time, so a recording already older than the retention is refused."""
    if package is None:
        raise DeviceApiError(403, "no_package",
                             f"No cloud-storage package is in force for channel {channel_id}.")
    if full_time and package.cs_type != CS_TYPE_FULL_TIME:
        raise DeviceApiError(403, "no_package",
                             f"Continuous recording needs a full-time package; the package in "
                             f"force ({package.package_id}) records events only.")
    if recorded_at + package.shift_duration * DAY <= now:
        raise DeviceApiError(422, "outside_retention",
                             f"The recording is older than the package's {package.shift_duration}-day "
                             f"retention; it would be deleted at once.")
    return package


def _decoded(fn, data: bytes, what: str, **kwargs) -> probe.Probe:
    try:
        return fn(data, **kwargs)
    except probe.NotDecodable as exc:
        raise DeviceApiError(422, "not_decodable", f"The {what} does not decode: {exc}.") from exc


def _check_event_id(event_id: str) -> None:
    if not EVENT_ID_RE.match(event_id or ""):
        raise bad_request("event_id must be 1-64 characters from A-Z a-z 0-9 _ . -")


def _check_data(data: str | None) -> None:
    if data is not None and len(data) > MAX_DATA_CHARS:
        raise bad_request(f"data may hold at most {MAX_DATA_CHARS} characters.")


def _video_product(device: Device) -> None:
    if device.product.is_picture_stream:
        raise DeviceApiError(403, "wrong_product_kind",
                             "This is a picture-stream product: it uploads picture-stream events, "
                             "not video segments.")


def _locked(device: Device) -> None:
    # Serialises index changes of one device (span merging reads then writes neighbours).
    sql.fetch_one(_lock_sql(), [device.pk])


# The statements every segment upload runs are hand-written SQL (see localcloud.sql).
_SEGMENT_FIELDS = ["channel_id", "start_time", "end_time", "duration_ms", "path", "size",
                   "sha256", "retention_days"]


@cache
def _lock_sql() -> str:
    return f"SELECT id FROM {sql.table(Device)} WHERE id = %s{sql.for_update()}"  # noqa: S608


_NEARBY = "channel_id = %s AND start_time > %s AND start_time < %s AND end_time > %s"


@cache
def _nearby_sql() -> str:
    return (f"SELECT {sql.columns(Segment, _SEGMENT_FIELDS)} "  # noqa: S608 (names)
            f"FROM {sql.table(Segment)} WHERE {_NEARBY} AND device_id = %s")


# What judging an upload reads of the package in force.
_PACKAGE_FIELDS = ["id", "package_id", "cs_type", "shift_duration"]


@cache
def _locked_read_sql() -> str:
    # One round trip instead of three: lock the device row, read the package in force and the
    # device's nearby segments.
    nearby = " AND ".join(f"s.{c}" for c in _NEARBY.split(" AND "))
    return (f"SELECT {sql.columns(Package, _PACKAGE_FIELDS, alias='k')}, "  # noqa: S608 (names)
            f"{sql.columns(Segment, _SEGMENT_FIELDS, alias='s')} FROM {sql.table(Device)} d "
            f"LEFT JOIN {sql.table(Package)} k ON k.id = ({in_force_sql('id', device='d.id')}) "
            f"LEFT JOIN {sql.table(Segment)} s ON s.device_id = d.id AND {nearby} "
            f"WHERE d.id = %s{sql.for_update(of='d')}")


@cache
def _segment_insert_sql() -> str:
    return (f"INSERT INTO {sql.table(Segment)} (device_id, channel_id, start_time, "  # noqa: S608
            "end_time, duration_ms, path, size, sha256, retention_days, event_id, purge_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")


def _media_name(device: Device, channel_id: int, start: int, suffix: str) -> str:
    day = index.day_of(start).isoformat()
    return f"{device_media_folder(device)}/c{channel_id}/{day}/{suffix}"


# --- segments -----------------------------------------------------------------------------
def segment_payload(segment: Segment) -> dict:
    return {"channel": segment.channel_id, "start_time": segment.start_time,
            "end_time": segment.end_time, "size": segment.size,
            "duration_ms": segment.duration_ms, "retention_days": segment.retention_days}


def _nearby_params(channel_id: int, start: int, end: int) -> list:
    # Segments last at most a minute, so the lower bound keeps this an index range scan.
    return [channel_id, start - MAX_SEGMENT_SECONDS, end, start]


def _locked_read(device: Device, channel_id: int, start: int, end: int,
                 now: int) -> tuple[list[Segment], Package | None]:
    """Under the device's row lock (see _locked): the segments near start-end and the package
    in force at `now`, in one statement."""
    rows = sql.fetch_all(_locked_read_sql(), [*in_force_params(channel_id, now),
                                              *_nearby_params(channel_id, start, end), device.pk])
    # Joined from the device: each half of a row is NULLs when there is nothing to join.
    split = len(_PACKAGE_FIELDS)
    first = rows[0]
    package = (sql.instance(Package, sql.field_names(Package, _PACKAGE_FIELDS), first[:split])
               if first[0] is not None else None)
    names = sql.field_names(Segment, _SEGMENT_FIELDS)
    nearby = [sql.instance(Segment, names, row[split:]) for row in rows
              if row[split] is not None]
    return nearby, package


def _repeat_or_overlap(device: Device, channel_id: int, start: int, end: int,
                       sha: str) -> Upload | None:
    rows = sql.fetch_all(_nearby_sql(), [*_nearby_params(channel_id, start, end), device.pk])
    names = sql.field_names(Segment, _SEGMENT_FIELDS)
    return _repeat_or_conflict([sql.instance(Segment, names, row) for row in rows],
                               start, end, sha)


def _repeat_or_conflict(nearby: list[Segment], start: int, end: int, sha: str) -> Upload | None:
    """Of the segments near a new one: the same segment again is a repeat (answered, nothing
    changes); other bytes at the same start, or any overlap, is a conflict."""
    for existing in nearby:
        if existing.start_time == start:
            if existing.sha256 != sha:
                raise DeviceApiError(409, "conflict",
                                     f"A different segment starting at {start} is already "
                                     f"stored.")
            return Upload(created=False,
                          payload={"created": False, "segment": segment_payload(existing)})
    if nearby:
        raise DeviceApiError(409, "conflict",
                             f"The segment {start}-{end} overlaps a stored segment.")
    return None


def segment_upload(*, device: Device, channel_id: int, start: int, end: int, body: bytes,
                   event_id: str | None = None, event_start: int | None = None,
                   body_sha256: str | None = None) -> Upload:
    _video_product(device)
    check_channel(device, channel_id)
    check_times(start, end, max_seconds=MAX_SEGMENT_SECONDS, what="segment")
    if not body:
        raise bad_request("The body must hold the MPEG-TS segment.")
    sha = body_sha256 or hashlib.sha256(body).hexdigest()
    try:
        event, checked = _segment_checks(device, channel_id, start, end, body, event_id,
                                         event_start)
    except DeviceApiError:
        # A repeat changes nothing and wins over any refusal (a device may resend after its
        # package expired), as does a conflict. Looked up only when a check fails: the usual
        # upload is new, and the look under the lock below still catches repeats.
        repeat = _repeat_or_overlap(device, channel_id, start, end, sha)
        if repeat:
            return repeat
        raise

    name = _media_name(device, channel_id, start, f"{start}-{end}-{sha[:16]}.ts")
    written = False
    try:
        with transaction.atomic():
            # Under the lock: a repeat or an overlap is answered before anything changes, and
            # the package is judged; only then is the file written, and indexed at once.
            now = clock.now()
            nearby, package = _locked_read(device, channel_id, start, end, now)
            repeat = _repeat_or_conflict(nearby, start, end, sha)
            if repeat:
                return repeat
            package = _judged(package, channel_id, start, full_time=event is None, now=now)
            written = True
            media_write(name, body)
            segment = Segment(
                device=device, channel_id=channel_id, start_time=start, end_time=end,
                duration_ms=checked.duration_ms, path=name, size=len(body), sha256=sha,
                retention_days=package.shift_duration, event=event,
                purge_at=end + package.shift_duration * DAY,
            )
            sql.execute(_segment_insert_sql(), [
                device.pk, channel_id, start, end, segment.duration_ms, name, segment.size, sha,
                segment.retention_days, event.pk if event else None, segment.purge_at])
            if not index.span_add(device=device, channel_id=channel_id, start=start, end=end):
                index.days_add(device=device, channel_id=channel_id, start=start, end=end)
    except BaseException as exc:
        # Nothing indexed refers to the file unless an identical segment won a race.
        if written and not Segment.objects.filter(path=name).exists():
            media_delete(name)
        if isinstance(exc, IntegrityError):
            # The same start raced in from another request: answer as for a repeat (or 409).
            repeat = _repeat_or_overlap(device, channel_id, start, end, sha)
            if repeat:
                return repeat
        raise
    return Upload(created=True, payload={"created": True, "segment": segment_payload(segment)})


def _segment_checks(device: Device, channel_id: int, start: int, end: int, body: bytes,
                    event_id: str | None, event_start: int | None):
    """What may refuse a new segment before its device is locked: its event and the media.
    The package is judged under the lock (segment_upload)."""
    event = None
    if event_id is not None:
        _check_event_id(event_id)
        if event_start is None:
            raise bad_request("event_start is required with event_id.")
        event = Event.objects.filter(device=device, channel_id=channel_id, event_id=event_id,
                                     start_time=event_start).first()
        if event is None:
            raise DeviceApiError(404, "unknown_event",
                                 f"No event {event_id!r} starting at {event_start} was opened.")
    checked = _decoded(probe.probe_ts, body, "segment (MPEG-TS with H.264 video)")
    check_duration(checked.duration_ms, start, end, "segment")
    return event, checked


# --- events -------------------------------------------------------------------------------
def event_payload(event: Event) -> dict:
    return {"channel": event.channel_id, "event_id": event.event_id,
            "start_time": event.start_time, "end_time": event.end_time,
            "thumbnail": event.thumbnail, "upload_status": event.upload_status,
            "data": event.data}


def _event(device: Device, channel_id: int, event_id: str, start: int) -> Event:
    event = Event.objects.filter(device=device, channel_id=channel_id, event_id=event_id,
                                 start_time=start).first()
    if event is None:
        raise DeviceApiError(404, "unknown_event",
                             f"No event {event_id!r} starting at {start} was opened.")
    return event


def event_open(*, device: Device, channel_id: int, event_id: str, start: int,
               data: str = "") -> Upload:
    _video_product(device)
    check_channel(device, channel_id)
    _check_event_id(event_id)
    _check_data(data)
    if start <= 0:
        raise bad_request("start_time must be a Unix time in seconds.")
    existing = Event.objects.filter(device=device, channel_id=channel_id, event_id=event_id,
                                    start_time=start).first()
    if existing:
        return Upload(created=False, payload={"created": False, "event": event_payload(existing)})
    package = _package_for(device, channel_id, start, full_time=False)
    try:
        with transaction.atomic():
            _locked(device)
            event = Event.objects.create(
                device=device, channel_id=channel_id, event_id=event_id, start_time=start,
                data=data or "", retention_days=package.shift_duration,
                purge_at=start + package.shift_duration * DAY,
            )
            index.days_add(device=device, channel_id=channel_id, start=start, end=start)
    except IntegrityError:
        event = _event(device, channel_id, event_id, start)
        return Upload(created=False, payload={"created": False, "event": event_payload(event)})
    return Upload(created=True, payload={"created": True, "event": event_payload(event)})


def event_close(*, device: Device, channel_id: int, event_id: str, start: int, end: int,
                upload_status: str = Event.UploadStatus.FINISHED,
                data: str | None = None) -> dict:
    _check_event_id(event_id)
    _check_data(data)
    if upload_status not in Event.UploadStatus.values:
        raise bad_request("upload_status must be one of Finished, Partial, Failed.")
    if end < start:
        raise bad_request("end_time must not be before start_time.")
    with transaction.atomic():
        _locked(device)
        event = _event(device, channel_id, event_id, start)
        event.end_time = end
        event.upload_status = upload_status
        if data is not None:
            event.data = data
        event.purge_at = end + event.retention_days * DAY
        event.save(update_fields=["end_time", "upload_status", "data", "purge_at"])
    return {"event": event_payload(event)}


def event_thumbnail(*, device: Device, channel_id: int, event_id: str, start: int,
                    body: bytes) -> dict:
    _check_event_id(event_id)
    event = _event(device, channel_id, event_id, start)
    _decoded(probe.probe_jpeg, body, "thumbnail (JPEG)")
    sha = hashlib.sha256(body).hexdigest()
    name = _media_name(device, channel_id, start, f"{start}-{event_id}-{sha[:16]}.jpg")
    media_write(name, body)
    old = ""
    try:
        with transaction.atomic():
            _locked(device)
            event = _event(device, channel_id, event_id, start)
            old = event.thumbnail_path if event.thumbnail_path != name else ""
            event.thumbnail_path = name
            # The name the cloud API hands out; stable per event, so a replaced picture keeps it.
            event.thumbnail = f"{event_id}-{start}-{channel_id}.jpg"
            event.save(update_fields=["thumbnail", "thumbnail_path"])
    except BaseException:
        if not Event.objects.filter(thumbnail_path=name).exists():
            media_delete(name)
        raise
    if old:
        transaction.on_commit(lambda: media_delete(old))
    return {"event": event_payload(event)}


def picture_event_upload(*, device: Device, channel_id: int, event_id: str, start: int, end: int,
                         fps: int, data: str, video: bytes, audio: bytes,
                         thumbnail: bytes | None) -> Upload:
    if not device.product.is_picture_stream:
        raise DeviceApiError(403, "wrong_product_kind",
                             "Picture-stream events come from picture-stream products "
                             "(CategoryId 595); this product uploads video segments.")
    check_channel(device, channel_id)
    _check_event_id(event_id)
    _check_data(data)
    check_times(start, end, max_seconds=MAX_PICTURE_EVENT_SECONDS, what="picture-stream event")
    if not 1 <= fps <= 30:
        raise bad_request("fps must be between 1 and 30.")
    if not video or not audio:
        raise bad_request("Both the video (MJPEG) and the audio (AAC) parts are required.")
    sha = hashlib.sha256(video + b"\0" + audio).hexdigest()
    existing = Event.objects.filter(device=device, channel_id=channel_id, event_id=event_id,
                                    start_time=start).first()
    if existing:
        if existing.media_sha256 != sha:
            raise DeviceApiError(409, "conflict",
                                 f"A different event {event_id!r} starting at {start} is stored.")
        return Upload(created=False, payload={"created": False, "event": event_payload(existing)})
    package = _package_for(device, channel_id, start, full_time=False)
    checked_video = _decoded(probe.probe_mjpeg, video, "video (MJPEG)", fps=fps)
    if checked_video.duration_ms > MAX_PICTURE_EVENT_SECONDS * 1000:
        raise DeviceApiError(422, "too_long",
                             f"A picture-stream event may last at most "
                             f"{MAX_PICTURE_EVENT_SECONDS} s; the video lasts "
                             f"{checked_video.duration_ms / 1000:.1f} s.")
    check_duration(checked_video.duration_ms, start, end, "video")
    checked_audio = _decoded(probe.probe_aac, audio, "audio (AAC in ADTS)")
    if checked_audio.duration_ms > MAX_PICTURE_EVENT_SECONDS * 1000 + DURATION_SLACK_MS:
        raise DeviceApiError(422, "too_long",
                             f"A picture-stream event may last at most "
                             f"{MAX_PICTURE_EVENT_SECONDS} s; the audio lasts "
                             f"{checked_audio.duration_ms / 1000:.1f} s.")
    check_duration(checked_audio.duration_ms, start, end, "audio")
    if thumbnail:
        _decoded(probe.probe_jpeg, thumbnail, "thumbnail (JPEG)")
    else:
        thumbnail = _first_jpeg(video)

    base = f"{start}-{event_id}-{sha[:16]}"
    names = {
        "video": _media_name(device, channel_id, start, base + ".mjpg"),
        "audio": _media_name(device, channel_id, start, base + ".aac"),
        "thumbnail": _media_name(device, channel_id, start, base + ".jpg"),
    }
    media_write(names["video"], video)
    media_write(names["audio"], audio)
    media_write(names["thumbnail"], thumbnail)
    try:
        with transaction.atomic():
            _locked(device)
            event = Event.objects.create(
                device=device, channel_id=channel_id, event_id=event_id, start_time=start,
                end_time=end, data=data or "", upload_status=Event.UploadStatus.FINISHED,
                thumbnail=f"{event_id}-{start}-{channel_id}.jpg", thumbnail_path=names["thumbnail"],
                video_path=names["video"], audio_path=names["audio"], frame_rate=fps,
                media_sha256=sha, retention_days=package.shift_duration,
                purge_at=end + package.shift_duration * DAY,
            )
            index.days_add(device=device, channel_id=channel_id, start=start, end=end)
    except BaseException as exc:
        # The same event raced in from another request: its files are ours (same names).
        existing = Event.objects.filter(device=device, channel_id=channel_id, event_id=event_id,
                                        start_time=start).first()
        if existing is not None and existing.media_sha256 == sha:
            return Upload(created=False,
                          payload={"created": False, "event": event_payload(existing)})
        for name in names.values():
            media_delete(name)
        if isinstance(exc, IntegrityError):
            raise DeviceApiError(409, "conflict", f"A different event {event_id!r} starting at "
                                                  f"{start} is stored.") from None
        raise
    return Upload(created=True, payload={"created": True, "event": event_payload(event)})


def _first_jpeg(mjpeg: bytes) -> bytes:
    # Frames are whole JPEGs back to back; the first ends at the first end-of-image marker.
    end = mjpeg.find(b"\xff\xd9")
    return mjpeg[: end + 2] if end > 0 else mjpeg
