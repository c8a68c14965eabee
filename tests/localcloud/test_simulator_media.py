"""The simulator's media decodes with PyAV as a player would see it: codecs, durations, frame
counts, timestamps continuous across segments, and a clock in the picture that is right."""
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import av
import pytest
from PIL import Image, ImageChops

from localcloud.simulator.camera import plan_events
from localcloud.simulator.media import (
    TS_CLOCK,
    FrameRenderer,
    MediaSpec,
    VideoRecorder,
    picture_event,
)

START = 1_764_300_000  # 2025-11-28 03:20:00 UTC


def _demux(data: bytes, fmt: str | None = None):
    container = av.open(io.BytesIO(data), format=fmt)
    packets = {"video": [], "audio": []}
    for packet in container.demux():
        if packet.pts is not None:
            packets[packet.stream.type].append(packet)
    return container, packets


def _decoded(data: bytes, kind: str, fmt: str | None = None) -> list:
    with av.open(io.BytesIO(data), format=fmt) as container:
        return list(container.decode(**{kind: 0}))


@pytest.fixture(scope="module")
def fulltime_segments():
    recorder = VideoRecorder(device_name="cam-01", start=START, spec=MediaSpec())
    return recorder.record(25)  # 10 + 10 + 5 s


def test_segments_are_h264_and_aac_at_640x360(fulltime_segments):
    container, packets = _demux(fulltime_segments[0].data)
    assert container.format.name == "mpegts"
    assert container.streams.video[0].codec_context.name == "h264"
    assert container.streams.audio[0].codec_context.name == "aac"
    frames = _decoded(fulltime_segments[0].data, "video")
    assert (frames[0].width, frames[0].height) == (640, 360)
    audio = _decoded(fulltime_segments[0].data, "audio")
    assert audio[0].sample_rate == 16000
    container.close()


def test_segments_last_ten_seconds_at_15_fps(fulltime_segments):
    assert [s.end - s.start for s in fulltime_segments] == [10, 10, 5]
    assert [s.start for s in fulltime_segments] == [START, START + 10, START + 20]
    for segment, seconds in zip(fulltime_segments, (10, 10, 5), strict=True):
        frames = _decoded(segment.data, "video")
        assert len(frames) == seconds * 15
        span = (frames[-1].pts - frames[0].pts + TS_CLOCK // 15) / TS_CLOCK
        assert span == pytest.approx(seconds)
        samples = sum(f.samples for f in _decoded(segment.data, "audio"))
        # Audio is cut at AAC frame boundaries (64 ms at 16 kHz), so it is within one frame.
        assert abs(samples - seconds * 16000) <= 1024


def test_each_segment_opens_on_a_keyframe(fulltime_segments):
    for segment in fulltime_segments:
        _, packets = _demux(segment.data)
        assert packets["video"][0].is_keyframe
        # GOP of 2 s: keyframes every 30 frames, so seeking lands within 2 s.
        keyframes = [i for i, p in enumerate(packets["video"]) if p.is_keyframe]
        assert keyframes[:2] == [0, 30]


def test_timestamps_continue_across_segments(fulltime_segments):
    frame_step = TS_CLOCK // 15
    previous_last = None
    for segment in fulltime_segments:
        _, packets = _demux(segment.data)
        pts = [p.pts for p in packets["video"]]
        assert pts == list(range(pts[0], pts[0] + frame_step * len(pts), frame_step))
        assert pts[0] == segment.first_pts
        if previous_last is not None:
            assert pts[0] == previous_last + frame_step
        previous_last = pts[-1]
        # Audio follows the same clock: no jump back at a segment's start.
        assert abs(packets["audio"][0].pts - pts[0]) < TS_CLOCK // 10


def test_a_later_recording_on_the_same_camera_clock_continues_its_timestamps():
    # An event 100 s after the camera's clock started: its PTS says 100 s, not 0.
    recorder = VideoRecorder(device_name="cam-01", start=START + 100, origin=START)
    segment = recorder.segment(2, final=True)
    _, packets = _demux(segment.data)
    assert packets["video"][0].pts == 100 * TS_CLOCK


def _clock_strip(picture: Image.Image, renderer: FrameRenderer) -> Image.Image:
    return picture.crop(renderer.strip_box).convert("L")


def test_the_picture_shows_the_recorded_second(fulltime_segments):
    spec = MediaSpec()
    renderer = FrameRenderer(device_name="cam-01", spec=spec)
    frames = _decoded(fulltime_segments[1].data, "video")
    # Frame 15 × k of segment 1 was recorded at START + 10 + k: compare its clock strip with a
    # freshly drawn one for that second and for the second before.
    for k in (0, 3, 9):
        shown = _clock_strip(frames[15 * k].to_image(), renderer)
        right = _clock_strip(renderer.picture(START + 10 + k), renderer)
        wrong = _clock_strip(renderer.picture(START + 9 + k), renderer)
        diff_right = sum(ImageChops.difference(shown, right).histogram()[32:])
        diff_wrong = sum(ImageChops.difference(shown, wrong).histogram()[32:])
        assert diff_right < diff_wrong / 5


def test_the_clock_is_in_the_configured_time_zone():
    renderer = FrameRenderer(device_name="cam", spec=MediaSpec(time_zone="Asia/Shanghai"))
    moment = datetime.fromtimestamp(START, tz=UTC).astimezone(ZoneInfo("Asia/Shanghai"))
    assert renderer.zone_label(moment) == "Asia/Shanghai (UTC+08:00)"


def test_thumbnail_is_the_first_frame_as_jpeg():
    recorder = VideoRecorder(device_name="cam-01", start=START)
    thumbnail = recorder.thumbnail()
    picture = Image.open(io.BytesIO(thumbnail))
    assert picture.format == "JPEG"
    assert picture.size == (640, 360)
    first = _decoded(recorder.segment(1, final=True).data, "video")[0].to_image()
    diff = ImageChops.difference(picture.convert("RGB"), first).convert("L")
    assert sum(diff.histogram()[48:]) < 640 * 360 * 0.01


def test_picture_event_is_mjpeg_and_aac_of_the_asked_length():
    event = picture_event(device_name="lock-01", start=START, seconds=7)
    frames = _decoded(event.video, "video", fmt="mjpeg")
    assert len(frames) == event.frames == 7 * 5
    assert (frames[0].width, frames[0].height) == (640, 360)
    with av.open(io.BytesIO(event.audio), format="aac") as container:
        assert container.streams.audio[0].codec_context.name == "aac"
        samples = sum(f.samples for f in container.decode(audio=0))
    assert abs(samples - 7 * 16000) <= 1024
    assert Image.open(io.BytesIO(event.thumbnail)).format == "JPEG"
    assert event.video.startswith(event.thumbnail)


def test_picture_events_are_at_most_ten_seconds():
    with pytest.raises(ValueError, match="1 to 10 s"):
        picture_event(device_name="lock-01", start=START, seconds=11)


def test_frame_rate_and_size_are_configurable():
    spec = MediaSpec(width=320, height=180, fps=10)
    segment = VideoRecorder(device_name="cam", start=START, spec=spec).segment(3, final=True)
    frames = _decoded(segment.data, "video")
    assert len(frames) == 30
    assert (frames[0].width, frames[0].height) == (320, 180)


def test_events_are_planned_every_interval_and_fit_their_kind():
    video = plan_events(mode="event", device_name="cam", start=START, end=START + 600, every=120)
    assert [e.start for e in video] == [START + 120 * k for k in range(5)]
    assert all(1 <= e.seconds <= 60 and e.end <= START + 600 for e in video)
    pictures = plan_events(mode="picture", device_name="lock", start=START, end=START + 600,
                           every=60)
    assert all(1 <= e.seconds <= 10 for e in pictures)
    # The same window plans the same events, so a repeated run uploads nothing new.
    assert plan_events(mode="event", device_name="cam", start=START, end=START + 600,
                       every=120) == video


@pytest.mark.slow  # starts two worker processes
def test_chunks_encoded_in_worker_processes_join_into_one_continuous_stream(monkeypatch):
    from localcloud.simulator import camera

    monkeypatch.setattr(camera, "PARALLEL_MIN_SECONDS", 0)
    spec = MediaSpec(width=320, height=180)
    plans = [camera.RunPlan(device_name="cam", origin=START, start=START + 4 * k,
                            lengths=(2, 2), final=k == 2, spec=spec) for k in range(3)]
    runs = list(camera._produce(plans, workers=2))
    segments = [segment for run in runs for segment in run.segments]
    assert [s.start for s in segments] == [START + 2 * k for k in range(6)]
    pts = []
    for segment in segments:
        _, packets = _demux(segment.data)
        assert packets["video"][0].is_keyframe
        pts += [p.pts for p in packets["video"]]
    # 6 segments × 2 s × 15 fps, one frame step apart from the first frame to the last.
    assert pts == list(range(0, 180 * (TS_CLOCK // 15), TS_CLOCK // 15))
