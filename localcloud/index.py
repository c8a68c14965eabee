"""The recording index: segments merge into spans (contiguous recorded time), and the days that
hold recordings, in LOCALCLOUD_TIME_ZONE. DescribeCloudStorageTime reads spans, so its TimeList
stays short however many segments a day holds; DescribeCloudStorageDate reads days.

Callers hold a transaction and the device row lock (select_for_update) while they change the
index, so two uploads of one device cannot both merge the same neighbours."""
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Q

from localcloud import sql
from localcloud.models import Event, RecordingDay, Segment, Span

# Segments closer than this count as contiguous: devices cut segments on whole seconds and a
# one-second rounding gap is not a gap a viewer would see.
CONTIGUOUS_SLACK = 1


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone() -> ZoneInfo:
    return _zone(settings.LOCALCLOUD_TIME_ZONE)


def day_of(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, zone()).date()


def day_bounds(day: date) -> tuple[int, int]:
    """[start, end) of a local day in Unix seconds (23 or 25 hours long across DST changes)."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone())
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone())
    return int(start.timestamp()), int(end.timestamp())


def days_touched(start: int, end: int) -> list[date]:
    """Local days that [start, end) overlaps (the start's day for an instant)."""
    first, last = day_of(start), day_of(max(start, end - 1))
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def days_add(*, device, channel_id: int, start: int, end: int) -> None:
    days = days_touched(start, end)
    RecordingDay.objects.bulk_create(
        [RecordingDay(device=device, channel_id=channel_id, day=d) for d in days],
        ignore_conflicts=True,
    )


def span_add(*, device, channel_id: int, start: int, end: int) -> bool:
    """Add [start, end) to the spans, merging with the neighbours on both sides. Returns True
    when the span extended already held time in the (single) day of [start, end), so that
    day is known to be recorded and days_add can be skipped."""
    table = sql.table(Span)
    # The usual upload extends the span it follows: one UPDATE ... RETURNING does it. Every
    # span that touches is widened to cover [start, end) (CASE rather than LEAST/GREATEST,
    # which SQLite lacks); more than one means they now overlap and are merged below.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET "  # noqa: S608 (the model's quoted table name; values bound)
            "start_time = CASE WHEN start_time < %s THEN start_time ELSE %s END, "
            "end_time = CASE WHEN end_time > %s THEN end_time ELSE %s END "
            "WHERE device_id = %s AND channel_id = %s AND start_time <= %s AND end_time >= %s "
            "RETURNING id, start_time, end_time",
            [start, start, end, end, device.pk, channel_id, end + CONTIGUOUS_SLACK,
             start - CONTIGUOUS_SLACK])
        touched = sorted(cursor.fetchall(), key=lambda r: (r[1], r[0]))
    if not touched:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (device_id, channel_id, start_time, end_time) "  # noqa: S608
                "VALUES (%s, %s, %s, %s)", [device.pk, channel_id, start, end])
        return False
    low = min(r[1] for r in touched)
    if len(touched) > 1:
        keep, *merged = touched
        Span.objects.filter(pk=keep[0]).update(start_time=low,
                                               end_time=max(r[2] for r in touched))
        Span.objects.filter(pk__in=[r[0] for r in merged]).delete()
    # A span that began before `start` reached at least to start - CONTIGUOUS_SLACK; if that
    # still lies inside start's day, the day already held recorded time.
    day = day_of(start)
    return (low < start and day == day_of(max(start, end - 1))
            and start - CONTIGUOUS_SLACK > day_bounds(day)[0])


def spans_rebuild(*, device_id: int, channel_id: int, start: int, end: int) -> None:
    """Recompute the spans that overlap [start, end] from the segments left there (after
    segments were deleted). Only the spans touched are rewritten."""
    spans = list(Span.objects.filter(device_id=device_id, channel_id=channel_id,
                                     start_time__lte=end, end_time__gte=start))
    if not spans:
        return
    low = min(s.start_time for s in spans)
    high = max(s.end_time for s in spans)
    Span.objects.filter(pk__in=[s.pk for s in spans]).delete()
    rebuilt: list[Span] = []
    segments = (Segment.objects.filter(device_id=device_id, channel_id=channel_id,
                                       start_time__gte=low, start_time__lt=high)
                .order_by("start_time").values_list("start_time", "end_time"))
    for seg_start, seg_end in segments.iterator(chunk_size=2000):
        if rebuilt and seg_start <= rebuilt[-1].end_time + CONTIGUOUS_SLACK:
            rebuilt[-1].end_time = max(rebuilt[-1].end_time, seg_end)
        else:
            rebuilt.append(Span(device_id=device_id, channel_id=channel_id,
                                start_time=seg_start, end_time=seg_end))
    Span.objects.bulk_create(rebuilt, batch_size=1000)


def days_refresh(*, device_id: int, channel_id: int, days: set[date]) -> None:
    """Drop the days (of `days`) that no longer hold a span or an event."""
    for day in days:
        start, end = day_bounds(day)
        has_span = Span.objects.filter(device_id=device_id, channel_id=channel_id,
                                       start_time__lt=end, end_time__gt=start).exists()
        has_event = Event.objects.filter(
            Q(start_time__gte=start, start_time__lt=end),
            device_id=device_id, channel_id=channel_id,
        ).exists()
        if not (has_span or has_event):
            RecordingDay.objects.filter(device_id=device_id, channel_id=channel_id,
                                        day=day).delete()


def spans_between(*, device, channel_id: int, start: int, end: int) -> list[tuple[int, int]]:
    """The recorded time inside [start, end), clipped to it, oldest first."""
    rows = (Span.objects.filter(device=device, channel_id=channel_id,
                                start_time__lt=end, end_time__gt=start)
            .order_by("start_time").values_list("start_time", "end_time"))
    return [(max(s, start), min(e, end)) for s, e in rows]


def segments_delete(segment_rows: list[dict]) -> list[str]:
    """Delete segment rows (dicts with id, device_id, channel_id, start_time, end_time, path),
    then repair spans and days around them. Returns the storage names to delete once the
    transaction has committed (index first, files after: nothing indexed is ever missing)."""
    if not segment_rows:
        return []
    Segment.objects.filter(pk__in=[r["id"] for r in segment_rows]).delete()
    ranges: dict[tuple[int, int], list[int]] = {}
    for r in segment_rows:
        key = (r["device_id"], r["channel_id"])
        low_high = ranges.setdefault(key, [r["start_time"], r["end_time"]])
        low_high[0] = min(low_high[0], r["start_time"])
        low_high[1] = max(low_high[1], r["end_time"])
    for (device_id, channel_id), (low, high) in ranges.items():
        spans_rebuild(device_id=device_id, channel_id=channel_id, start=low, end=high)
        days = set(days_touched(low, high))
        days_refresh(device_id=device_id, channel_id=channel_id, days=days)
    return [r["path"] for r in segment_rows]
