"""Playback over the one cloud client: recording days and timelines in the viewer's time zone,
event pages with thumbnails, signed URLs, picture-stream data, event deletion and share links.

Every function here takes a Device the caller has already fetched through
devices.selectors.device_get_for_user (or a usable share link): nothing in this module checks
who is asking, so no view may hand it a device id straight from the URL."""
from __future__ import annotations

import calendar
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.models import Device, PackageState
from playback.models import SHARE_MAX_VALIDITY, SHARE_MIN_VALIDITY, ShareLink, ShareView
from portal.audit import audit_record
from portal.iotvideo import cloud_for

# A clip download (and a shared clip) covers at most this much recorded time: longer ranges
# would tie a web worker to one remux for too long.
MAX_CLIP = timedelta(minutes=30)
# A player window covers at most one viewer day (25 h on the day a DST change repeats an hour).
MAX_WINDOW = timedelta(hours=25)
# A signed URL with less than this left is renewed rather than handed to a player that would
# see it die mid-playlist.
SIGNED_URL_MIN_LEFT = timedelta(minutes=5)
EVENT_PAGE_SIZE = 12


def cloud_time_zone() -> zoneinfo.ZoneInfo:
    """The zone in which the cloud cuts recordings into dates (Tencent's is China time)."""
    return zoneinfo.ZoneInfo(getattr(settings, "IOTVIDEO_TIME_ZONE", "Asia/Shanghai"))


@dataclass(frozen=True)
class Span:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass
class DayTimeline:
    day: date
    window_start: datetime  # the viewer's midnight, UTC
    window_end: datetime
    spans: list[Span]
    video_url: str

    @property
    def recorded_seconds(self) -> float:
        return sum(s.seconds for s in self.spans)


@dataclass(frozen=True)
class EventItem:
    event_id: str
    start: datetime
    end: datetime
    thumbnail_url: str
    upload_status: str

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


@dataclass
class EventsPage:
    events: list[EventItem] = field(default_factory=list)
    context: str = ""
    listover: bool = True
    total: int = 0


def _ids(device: Device) -> tuple[str, str]:
    return device.product.product_id, device.name


def _cloud(device: Device):
    return cloud_for(device.tenant)


def day_window(day: date, tz) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of `day` in zone `tz`, as aware UTC datetimes."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def _cloud_days_covering(start: datetime, end: datetime) -> list[date]:
    cz = cloud_time_zone()
    first = start.astimezone(cz).date()
    last = (end - timedelta(seconds=1)).astimezone(cz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for s in sorted(spans, key=lambda s: s.start):
        if merged and s.start <= merged[-1].end:
            if s.end > merged[-1].end:
                merged[-1] = Span(merged[-1].start, s.end)
        else:
            merged.append(s)
    return merged


def timeline_for_window(*, device: Device, start: datetime, end: datetime,
                        day: date | None = None) -> DayTimeline:
    """Recorded spans of [start, end) (clipped to it) and the device's VideoURL.

    The cloud answers per date of its own zone, so a viewer's day in another zone needs the
    two cloud dates it straddles."""
    cloud = _cloud(device)
    product_id, name = _ids(device)
    cloud_dates = set(cloud.describe_cloud_storage_dates(product_id, name))
    spans: list[Span] = []
    video_url = ""
    for cloud_day in _cloud_days_covering(start, end):
        if cloud_day not in cloud_dates:
            continue
        tl = cloud.describe_cloud_storage_time(product_id, name, day=cloud_day,
                                               start=start, end=end)
        video_url = video_url or tl.video_url
        for s in tl.spans:
            s_start, s_end = max(s.start, start), min(s.end, end)
            if s_end > s_start:
                spans.append(Span(s_start, s_end))
    return DayTimeline(day=day or start.date(), window_start=start, window_end=end,
                       spans=_merge(spans), video_url=video_url)


def day_timeline(*, device: Device, day: date, tz) -> DayTimeline:
    """One day of the viewer (`tz`): its recorded spans and the VideoURL to sign."""
    start, end = day_window(day, tz)
    return timeline_for_window(device=device, start=start, end=end, day=day)


def recording_days(*, device: Device, year: int, month: int, tz) -> set[date]:
    """The days of a month, in the viewer's zone, that hold recordings.

    When the viewer's zone has the cloud's offset all month, the cloud's dates are the answer;
    otherwise a cloud date may spill into the viewer's previous or next day, and only the
    spans can tell which, so the timelines of the month's cloud dates are read."""
    cloud = _cloud(device)
    product_id, name = _ids(device)
    dates = cloud.describe_cloud_storage_dates(product_id, name)
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    month_start, _x = day_window(first, tz)
    _y, month_end = day_window(last, tz)
    cz = cloud_time_zone()
    same_offset = all(
        datetime.combine(d, time(12), tzinfo=tz).utcoffset()
        == datetime.combine(d, time(12), tzinfo=cz).utcoffset()
        for d in (first, last)
    )
    if same_offset:
        return {d for d in dates if first <= d <= last}
    days: set[date] = set()
    for cloud_day in dates:
        if not (first - timedelta(days=1) <= cloud_day <= last + timedelta(days=1)):
            continue
        tl = cloud.describe_cloud_storage_time(product_id, name, day=cloud_day)
        for s in tl.spans:
            s_start, s_end = max(s.start, month_start), min(s.end, month_end)
            if s_end <= s_start:
                continue
            d = s_start.astimezone(tz).date()
            while d <= (s_end - timedelta(seconds=1)).astimezone(tz).date():
                days.add(d)
                d += timedelta(days=1)
    return days


def events_page(*, device: Device, start: datetime, end: datetime, context: str = "",
                size: int | None = None) -> EventsPage:
    """One page of the device's events in [start, end), newest first, with signed thumbnail
    URLs fetched in one batch for the page."""
    cloud = _cloud(device)
    product_id, name = _ids(device)
    page = cloud.describe_cloud_storage_events(product_id, name, start=start, end=end,
                                               context=context, size=size or EVENT_PAGE_SIZE)
    names = [e.thumbnail for e in page.events if e.thumbnail]
    thumbs = cloud.describe_thumbnails(product_id, name, names) if names else {}
    items = [
        EventItem(
            event_id=e.event_id, start=e.start, end=e.end or e.start,
            thumbnail_url=thumbs[e.thumbnail].url if e.thumbnail in thumbs else "",
            upload_status=e.upload_status or "",
        )
        for e in page.events if e.start
    ]
    items.sort(key=lambda e: e.start, reverse=True)
    return EventsPage(events=items, context=page.context or "", listover=bool(page.listover),
                      total=page.total or 0)


def event_markers(*, device: Device, start: datetime, end: datetime,
                  limit: int = 300) -> list[EventItem]:
    """Every event of [start, end) for the timeline's markers (no thumbnails), newest first,
    at most `limit` of them: a busier day shows its newest events."""
    cloud = _cloud(device)
    product_id, name = _ids(device)
    items: list[EventItem] = []
    context = ""
    while len(items) < limit:
        page = cloud.describe_cloud_storage_events(product_id, name, start=start, end=end,
                                                   context=context, size=100)
        items.extend(EventItem(event_id=e.event_id, start=e.start, end=e.end or e.start,
                               thumbnail_url="", upload_status=e.upload_status or "")
                     for e in page.events if e.start)
        if page.listover or not page.context or not page.events:
            break
        context = page.context
    return items[:limit]


def latest_event(*, device: Device) -> EventItem | None:
    """The newest event of the last week, for the camera grid's picture."""
    now = timezone.now()
    # A little past now: a camera's clock may run ahead of ours.
    page = events_page(device=device, start=now - timedelta(days=7), end=now + timedelta(minutes=5),
                       size=2)
    return page.events[0] if page.events else None


def event_get(*, device: Device, event_id: str, at: datetime) -> EventItem | None:
    """The event `event_id` that started at `at`. Event ids name a kind of event ("motion"),
    not one occurrence: the pair (id, start) does."""
    cloud = _cloud(device)
    product_id, name = _ids(device)
    page = cloud.describe_cloud_storage_events(
        product_id, name, start=at - timedelta(seconds=1), end=at + timedelta(minutes=2),
        event_id=event_id, size=10,
    )
    for e in page.events:
        if e.event_id == event_id and e.start == at:
            return EventItem(event_id=e.event_id, start=e.start, end=e.end or e.start,
                             thumbnail_url="", upload_status=e.upload_status or "")
    return None


@dataclass(frozen=True)
class PlayerSource:
    url: str
    expires_at: datetime
    start: datetime
    end: datetime
    spans: list[Span]


def _validate_range(start: datetime, end: datetime, limit: timedelta) -> None:
    if end <= start:
        raise ValidationError(_("The end must be after the start."))
    if end - start > limit:
        raise ValidationError(
            _("The range may cover at most %(minutes)d minutes.")
            % {"minutes": int(limit.total_seconds() // 60)}
        )


def signed_source(*, device: Device, start: datetime, end: datetime,
                  limit: timedelta = MAX_WINDOW) -> PlayerSource | None:
    """The signed m3u8 of the recordings in [start, end) by the guide's recipe (VideoURL +
    starttime_epoch/endtime_epoch → GenerateSignedVideoURL), or None when nothing is recorded
    there. The window is narrowed to its first and last recorded second so the player starts
    on footage instead of a gap."""
    _validate_range(start, end, limit)
    tl = timeline_for_window(device=device, start=start, end=end)
    if not tl.spans or not tl.video_url:
        return None
    first, last = tl.spans[0].start, tl.spans[-1].end
    cloud = _cloud(device)
    signed = cloud.signed_video_url(tl.video_url, start=first, end=last)
    if signed.expires_at - timezone.now() < SIGNED_URL_MIN_LEFT:
        # The client's cache handed back one about to lapse: ask the cloud for a fresh one.
        signed = cloud.signed_video_url(tl.video_url, start=first, end=last,
                                        valid_for=timedelta(hours=1, minutes=1))
    return PlayerSource(url=signed.url, expires_at=signed.expires_at, start=first, end=last,
                        spans=tl.spans)


@dataclass(frozen=True)
class PictureStream:
    video_url: str
    audio_url: str
    start: datetime
    end: datetime


def picture_stream(*, device: Device, event: EventItem) -> PictureStream:
    """The MJPEG and AAC addresses of one picture-stream event."""
    data = _cloud(device).describe_stream_data(*_ids(device), start=event.start)
    return PictureStream(video_url=data.video_url, audio_url=data.audio_url,
                         start=event.start, end=event.end)


def event_delete(*, device: Device, event: EventItem, actor) -> None:
    _cloud(device).delete_cloud_storage_event(*_ids(device), event_id=event.event_id,
                                              start=event.start, end=event.end)
    audit_record(tenant=device.tenant, actor=actor, action="delete",
                 object_type="cloud.event", object_id=event.event_id,
                 object_repr=f"{device} {event.start:%Y-%m-%d %H:%M:%S}",
                 before={"device": device.pk, "start": event.start.isoformat(),
                         "end": event.end.isoformat()})


# --- empty states ----------------------------------------------------------------------------

def device_notices(*, device: Device) -> dict[str, bool]:
    """What the device page must say plainly before the user looks for footage."""
    return {
        "no_package": device.package_state != PackageState.ACTIVE,
        "offline": device.online != 1,
    }


# --- share links -----------------------------------------------------------------------------

def share_create(*, device: Device, user, start: datetime, end: datetime, valid_for: timedelta,
                 event_id: str = "") -> ShareLink:
    if not SHARE_MIN_VALIDITY <= valid_for <= SHARE_MAX_VALIDITY:
        raise ValidationError(_("A share link lasts between 1 hour and 7 days."))
    _validate_range(start, end, MAX_CLIP)
    link = ShareLink.objects.create(
        tenant=device.tenant, device=device, start=start, end=end,
        kind=ShareLink.Kind.EVENT if event_id else ShareLink.Kind.CLIP, event_id=event_id,
        expires_at=timezone.now() + valid_for, created_by=user,
    )
    audit_record(tenant=device.tenant, actor=user, action="share", obj=link,
                 after={"device": device.pk, "start": start.isoformat(), "end": end.isoformat(),
                        "expires_at": link.expires_at.isoformat(), "event_id": event_id})
    return link


def share_revoke(*, link: ShareLink, user) -> ShareLink:
    # Conditional update: two revocations racing record one audit entry.
    with transaction.atomic():
        changed = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        if changed:
            audit_record(tenant=link.tenant, actor=user, action="revoke", obj=link)
    link.refresh_from_db()
    return link


def share_view_record(*, link: ShareLink, request, what: str = "page") -> ShareView:
    ip = request.META.get("REMOTE_ADDR") or None
    return ShareView.objects.create(link=link, what=what, ip=ip,
                                    user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])
