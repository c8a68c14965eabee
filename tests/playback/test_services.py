"""Playback services against the live localcloud with simulator footage."""
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.exceptions import ValidationError

from playback import services

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
pytestmark = pytest.mark.django_db


def utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def test_day_timeline_has_one_span_per_event_with_gaps_between(event_footage, mirror):
    device = mirror(event_footage)
    timeline = services.day_timeline(device=device, day=event_footage.day, tz=SHANGHAI)
    assert len(timeline.spans) == 4
    assert timeline.spans[0].start == utc(event_footage.start)
    for a, b in zip(timeline.spans, timeline.spans[1:]):
        assert b.start > a.end  # a gap the player runs across
    assert timeline.video_url


def test_recording_days_marks_the_footage_day(event_footage, mirror):
    device = mirror(event_footage)
    day = event_footage.day
    assert day in services.recording_days(device=device, year=day.year, month=day.month,
                                          tz=SHANGHAI)


def test_recording_days_in_another_zone_follow_the_spans(event_footage, mirror):
    """Seen from a zone 13 h behind the cloud's, the footage may fall on the previous day."""
    device = mirror(event_footage)
    tz = zoneinfo.ZoneInfo("America/New_York")
    local_day = utc(event_footage.start).astimezone(tz).date()
    days = services.recording_days(device=device, year=local_day.year, month=local_day.month,
                                   tz=tz)
    assert local_day in days
    timeline = services.day_timeline(device=device, day=local_day, tz=tz)
    assert timeline.spans and timeline.spans[0].start == utc(event_footage.start)


def test_events_come_newest_first_with_thumbnails_and_page_on_the_context(event_footage, mirror):
    device = mirror(event_footage)
    start, end = utc(event_footage.start - 1), utc(event_footage.end + 60)
    seen = []
    context = ""
    for _ in range(10):
        page = services.events_page(device=device, start=start, end=end, context=context, size=2)
        seen.extend(page.events)
        if page.listover:
            break
        context = page.context
    assert len(seen) == 4
    starts = [e.start for e in seen]
    assert starts == sorted(starts, reverse=True)
    thumb = requests.get(seen[0].thumbnail_url, timeout=10)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"


def test_signed_source_plays_the_recorded_window(event_footage, mirror):
    device = mirror(event_footage)
    source = services.signed_source(device=device, start=utc(event_footage.start - 600),
                                    end=utc(event_footage.end + 600))
    assert source.start == utc(event_footage.start)
    assert source.expires_at > datetime.now(UTC) + timedelta(minutes=30)
    playlist = requests.get(source.url, timeout=10)
    assert playlist.status_code == 200 and "#EXT-X-DISCONTINUITY" in playlist.text
    segment = next(line for line in playlist.text.splitlines() if line and line[0] != "#")
    assert requests.get(segment, timeout=10).content[:1] == b"\x47"  # MPEG-TS sync byte


def test_signed_source_is_none_in_a_gap_between_events(event_footage, mirror):
    device = mirror(event_footage)
    spans = services.day_timeline(device=device, day=event_footage.day, tz=SHANGHAI).spans
    gap_start, gap_end = spans[0].end + timedelta(seconds=1), spans[1].start - timedelta(seconds=1)
    assert gap_end > gap_start
    assert services.signed_source(device=device, start=gap_start, end=gap_end) is None


def test_signed_source_refuses_an_overlong_or_backwards_range(event_footage, mirror):
    device = mirror(event_footage)
    start = utc(event_footage.start)
    with pytest.raises(ValidationError):
        services.signed_source(device=device, start=start, end=start - timedelta(seconds=5))
    with pytest.raises(ValidationError):
        services.signed_source(device=device, start=start, end=start + timedelta(minutes=31),
                               limit=services.MAX_CLIP)


def test_picture_stream_gives_mjpeg_and_aac(picture_footage, mirror):
    device = mirror(picture_footage)
    page = services.events_page(device=device, start=utc(picture_footage.start - 1),
                                end=utc(picture_footage.end + 30))
    event = page.events[-1]
    stream = services.picture_stream(device=device, event=event)
    video = requests.get(stream.video_url, timeout=10).content
    audio = requests.get(stream.audio_url, timeout=10).content
    assert video[:2] == b"\xff\xd8" and video.count(b"\xff\xd9") >= 10
    assert audio[0] == 0xFF and audio[1] & 0xF0 == 0xF0  # ADTS sync word


def test_signed_source_is_renewed_when_the_cached_one_is_about_to_lapse(event_footage, mirror,
                                                                       monkeypatch):
    """The player asks again a few minutes before expiry and must get a fresh address, not the
    cached one about to lapse. (The portal's clock cannot be moved here: the cloud checks the
    request signature's timestamp against its own clock, so "about to lapse" is widened.)"""
    device = mirror(event_footage)
    window = {"start": utc(event_footage.start), "end": utc(event_footage.end)}
    first = services.signed_source(device=device, **window)
    assert services.signed_source(device=device, **window).url == first.url  # cached
    monkeypatch.setattr(services, "SIGNED_URL_MIN_LEFT", timedelta(hours=2))
    renewed = services.signed_source(device=device, **window)
    assert renewed.expires_at > first.expires_at and renewed.url != first.url
    assert requests.get(renewed.url, timeout=10).status_code == 200
