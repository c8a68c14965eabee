"""A simulated camera: decides what it records (continuously, in events, or picture-stream
events), makes the media and uploads it through the device API, either backfilling a past window
as fast as it can or live, in step with the wall clock."""
from __future__ import annotations

import json
import multiprocessing
import queue
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice

from localcloud.simulator.device_client import DeviceClient
from localcloud.simulator.media import MediaSpec, TsSegment, VideoRecorder, picture_event

MODES = ("fulltime", "event", "picture")
HEARTBEAT_EVERY = 30  # seconds, live mode
VIDEO_EVENT_IDS = ("motion", "person", "sound")
PICTURE_EVENT_IDS = ("doorbell", "unlock", "visitor")
CHUNK_SEGMENTS = 12  # full-time recording is encoded in chunks of 2 minutes
# Below this much media a backfill is over before worker processes would have started.
PARALLEL_MIN_SECONDS = 240


@dataclass(frozen=True)
class PlannedEvent:
    event_id: str
    start: int
    end: int
    data: str  # custom data (JSON), as the device reports it

    @property
    def seconds(self) -> int:
        return self.end - self.start


@dataclass
class Report:
    """What a run uploaded."""

    segments: int = 0
    events: int = 0
    media_seconds: int = 0
    bytes: int = 0
    wall_seconds: float = 0.0
    interrupted: bool = False

    @property
    def speed(self) -> float:
        return self.media_seconds / self.wall_seconds if self.wall_seconds else 0.0


def plan_events(*, mode: str, device_name: str, start: int, end: int, every: int,
                channel: int = 0, first_seq: int = 0) -> list[PlannedEvent]:
    """The events a camera records in [start, end): one every `every` seconds from `start`,
    lasting a few seconds to a minute (picture-stream: at most 10 s). Seeded by the device and
    window, so the same command makes the same events (and re-running it uploads nothing new)."""
    rng = random.Random(f"{device_name}:{channel}:{start}:{end}:{every}")
    ids = PICTURE_EVENT_IDS if mode == "picture" else VIDEO_EVENT_IDS
    longest = 10 if mode == "picture" else 60
    events = []
    at = start
    seq = first_seq
    while at < end:
        # Leave a real gap before the next event: the cloud merges recordings less than a
        # second or so apart into one span, and events that touch would read as one.
        room = min(end - at, max(1, every - max(2, every // 4)), longest)
        seconds = max(1, min(room, rng.randint(3 if mode == "picture" else 5, longest)))
        event_id = ids[seq % len(ids)]
        data = json.dumps({"type": event_id, "seq": seq, "score": round(rng.uniform(0.5, 1), 2),
                           "zone": rng.choice(["door", "window", "yard"]), "simulated": True},
                          separators=(",", ":"))
        events.append(PlannedEvent(event_id=event_id, start=at, end=at + seconds, data=data))
        seq += 1
        at += every
    return events


@dataclass(frozen=True)
class RecordedRun:
    thumbnail: bytes  # JPEG of the run's first frame
    segments: list[TsSegment]


@dataclass(frozen=True)
class RunPlan:
    """One stretch of continuous recording to make: a chunk of full-time recording or one
    event, as segments of `lengths` seconds from `start`, on the camera clock of `origin`."""

    device_name: str
    origin: int
    start: int
    lengths: tuple[int, ...]
    final: bool  # the end of the recording: flush the encoder into the last segment
    spec: MediaSpec

    @property
    def seconds(self) -> int:
        return sum(self.lengths)


def record_run(plan: RunPlan) -> RecordedRun:
    """Make the media of `plan`. A top-level function so worker processes can run it."""
    recorder = VideoRecorder(device_name=plan.device_name, start=plan.start, origin=plan.origin,
                             spec=plan.spec)
    try:
        thumbnail = recorder.thumbnail()
        segments = [recorder.segment(seconds, final=plan.final and i == len(plan.lengths) - 1)
                    for i, seconds in enumerate(plan.lengths)]
    finally:
        recorder.close()
    return RecordedRun(thumbnail=thumbnail, segments=segments)


def _produce(runs: list[RunPlan], workers: int) -> Iterator[RecordedRun]:
    """record_run for each of `runs`, in order. With several workers and enough media to be
    worth starting them, runs are encoded in worker processes (encoding threads measured no
    faster than one: the per-frame work is driven from Python), at most two per worker ahead
    of the uploads so memory stays bounded on a long backfill."""
    seconds = sum(run.seconds for run in runs)
    if workers <= 1 or len(runs) < 2 or seconds < PARALLEL_MIN_SECONDS:
        for run in runs:
            yield record_run(run)
        return
    # spawn, not fork: the parent has an uploader thread and an HTTP session.
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        queued = iter(runs)
        pending = deque(pool.submit(record_run, run) for run in islice(queued, 2 * workers))
        while pending:
            result = pending.popleft().result()
            following = next(queued, None)
            if following is not None:
                pending.append(pool.submit(record_run, following))
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _Uploader:
    """Uploads on a background thread while the next media is being encoded; keeps order and
    stops at the first refusal (the cloud's reason is raised on the caller's thread)."""

    def __init__(self, depth: int = 3):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="uploader")
        self._thread.start()

    def _run(self):
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._error is None:
                try:
                    job()
                except BaseException as exc:  # handed to the caller, not lost in the thread
                    self._error = exc

    def submit(self, job: Callable[[], None]):
        self.raise_error()
        self._queue.put(job)

    def raise_error(self):
        if self._error is not None:
            raise self._error

    def finish(self):
        self._queue.put(None)
        self._thread.join()
        self.raise_error()


class Camera:
    def __init__(self, *, client: DeviceClient, mode: str, spec: MediaSpec | None = None,
                 channel: int = 0, event_every: int = 120, workers: int = 1,
                 log: Callable[[str], None] = lambda message: None,
                 stop: threading.Event | None = None):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if event_every < 1:
            raise ValueError("event_every must be at least 1 second")
        self.client = client
        self.mode = mode
        self.spec = spec or MediaSpec()
        self.channel = channel
        self.event_every = event_every
        self.workers = workers  # processes encoding a backfill side by side
        self.log = log
        self.stop = stop or threading.Event()
        self.report = Report()
        self.device_name = client.device_name

    # -- backfill --------------------------------------------------------------------------
    def backfill(self, *, start: int, duration: int) -> Report:
        """Record [start, start + duration) and upload it as fast as possible."""
        began = time.monotonic()
        uploader = _Uploader()
        try:
            if self.mode == "picture":
                for event in self._plan(start, duration):
                    self._picture_event(event, uploader)
            elif self.mode == "fulltime":
                for run in _produce(self._fulltime_runs(start, duration), self.workers):
                    for segment in run.segments:
                        uploader.submit(lambda s=segment: self._upload_segment(s))
            else:
                events = self._plan(start, duration)
                runs = [RunPlan(device_name=self.device_name, origin=start, start=event.start,
                                lengths=self._segment_lengths(event.seconds), final=True,
                                spec=self.spec) for event in events]
                for event, run in zip(events, _produce(runs, self.workers), strict=True):
                    self._video_event(event, run, uploader)
        finally:
            uploader.finish()
        self.report.wall_seconds = time.monotonic() - began
        return self.report

    def _plan(self, start: int, duration: int) -> list[PlannedEvent]:
        return plan_events(mode=self.mode, device_name=self.device_name, start=start,
                           end=start + duration, every=self.event_every, channel=self.channel)

    def _fulltime_runs(self, start: int, duration: int) -> list[RunPlan]:
        """Full-time recording cut into chunks that can be encoded side by side: every chunk
        shares the camera's clock (origin) and every segment opens on a keyframe, so the
        chunks join into one continuous stream exactly as one encoder would have made it."""
        lengths = self._segment_lengths(duration)
        runs = []
        at = start
        for i in range(0, len(lengths), CHUNK_SEGMENTS):
            chunk = lengths[i:i + CHUNK_SEGMENTS]
            runs.append(RunPlan(device_name=self.device_name, origin=start, start=at,
                                lengths=chunk, final=i + CHUNK_SEGMENTS >= len(lengths),
                                spec=self.spec))
            at += sum(chunk)
        return runs

    def _segment_lengths(self, duration: int) -> tuple[int, ...]:
        full, rest = divmod(duration, self.spec.segment_seconds)
        return (self.spec.segment_seconds,) * full + ((rest,) if rest else ())

    def _upload_segment(self, segment, *, event: PlannedEvent | None = None):
        answer = self.client.upload_segment(
            data=segment.data, start_time=segment.start, end_time=segment.end,
            channel=self.channel, event_id=event.event_id if event else None,
            event_start=event.start if event else None)
        self.report.segments += 1
        self.report.media_seconds += segment.duration
        self.report.bytes += len(segment.data)
        self.log(f"segment {segment.start}–{segment.end} "
                 f"{'stored' if answer.get('created', True) else 'already stored'}"
                 + (f" (event {event.event_id})" if event else ""))

    def _video_event(self, event: PlannedEvent, run: RecordedRun, uploader: _Uploader):
        def open_event():
            self.client.open_event(event_id=event.event_id, start_time=event.start,
                                   data=event.data, channel=self.channel)
            self.client.upload_thumbnail(event_id=event.event_id, start_time=event.start,
                                         jpeg=run.thumbnail, channel=self.channel)

        uploader.submit(open_event)
        for segment in run.segments:
            uploader.submit(lambda s=segment: self._upload_segment(s, event=event))
        uploader.submit(lambda: self._close_event(event, end=event.end))

    def _close_event(self, event: PlannedEvent, *, end: int, status: str = "Finished"):
        self.client.close_event(event_id=event.event_id, start_time=event.start, end_time=end,
                                upload_status=status, channel=self.channel)
        self.report.events += 1
        self.log(f"event {event.event_id} {event.start}–{end} {status.lower()}")

    def _picture_event(self, event: PlannedEvent, uploader: _Uploader):
        media = picture_event(device_name=self.device_name, start=event.start,
                              seconds=event.seconds, spec=self.spec)

        def upload():
            answer = self.client.upload_picture_event(
                event_id=event.event_id, start_time=event.start, end_time=event.end,
                fps=media.fps, video=media.video, audio=media.audio, thumbnail=media.thumbnail,
                data=event.data, channel=self.channel)
            self.report.events += 1
            self.report.media_seconds += event.seconds
            self.report.bytes += len(media.video) + len(media.audio)
            self.log(f"picture event {event.event_id} {event.start}–{event.end} "
                     f"{'stored' if answer.get('created', True) else 'already stored'}")

        uploader.submit(upload)

    # -- live ------------------------------------------------------------------------------
    def live(self, *, duration: int | None = None) -> Report:
        """Record from now, in step with the wall clock, until `duration` seconds have passed
        or `stop` is set (Ctrl-C). Uploads each segment once it has been recorded and sends
        heartbeats, as a live camera does."""
        began = time.monotonic()
        start = int(time.time())
        # Begin on the next whole second, so the first frame shows the second it is recorded in.
        start += 1
        end = start + duration if duration else None
        self.client.heartbeat()
        last_heartbeat = time.monotonic()
        self.log(f"live from {start}")

        def wait_until(moment: int) -> bool:
            """Sleep until wall-clock `moment`, heartbeating on the way; False when stopped."""
            nonlocal last_heartbeat
            while True:
                if time.monotonic() - last_heartbeat >= HEARTBEAT_EVERY:
                    self.client.heartbeat()
                    last_heartbeat = time.monotonic()
                left = moment - time.time()
                if left <= 0:
                    return True
                if self.stop.wait(min(left, 1.0)):
                    return False

        try:
            if self.mode == "fulltime":
                self._live_fulltime(start, end, wait_until)
            else:
                self._live_events(start, end, wait_until)
        finally:
            self.report.wall_seconds = time.monotonic() - began
        return self.report

    def _live_fulltime(self, start: int, end: int | None, wait_until):
        recorder = VideoRecorder(device_name=self.device_name, start=start, spec=self.spec)
        try:
            self._live_segments(recorder, end, wait_until)
        finally:
            recorder.close()

    def _live_segments(self, recorder: VideoRecorder, end: int | None, wait_until):
        while end is None or recorder.position < end:
            seconds = self.spec.segment_seconds
            if end is not None:
                seconds = min(seconds, end - recorder.position)
            # The media of the coming seconds is made ahead (it takes a fraction of the time)
            # and sent once those seconds are over, as a camera sends a finished segment.
            final = end is not None and recorder.position + seconds >= end
            segment = recorder.segment(seconds, final=final)
            if not wait_until(segment.end):
                self.report.interrupted = True
                return
            self._upload_segment(segment)

    def _live_events(self, start: int, end: int | None, wait_until):
        at = start
        seq = 0  # events are planned one interval at a time; the sequence runs on
        while end is None or at < end:
            window_end = at + self.event_every if end is None else min(end, at + self.event_every)
            for event in plan_events(mode=self.mode, device_name=self.device_name, start=at,
                                     end=window_end, every=self.event_every,
                                     channel=self.channel, first_seq=seq):
                seq += 1
                if not wait_until(event.start):
                    self.report.interrupted = True
                    return
                if self.mode == "picture":
                    media = picture_event(device_name=self.device_name, start=event.start,
                                          seconds=event.seconds, spec=self.spec)
                    if not wait_until(event.end):
                        self.report.interrupted = True
                        return
                    self.client.upload_picture_event(
                        event_id=event.event_id, start_time=event.start, end_time=event.end,
                        fps=media.fps, video=media.video, audio=media.audio,
                        thumbnail=media.thumbnail, data=event.data, channel=self.channel)
                    self.report.events += 1
                    self.report.media_seconds += event.seconds
                    self.report.bytes += len(media.video) + len(media.audio)
                    self.log(f"picture event {event.event_id} {event.start}–{event.end} stored")
                elif not self._live_video_event(event, origin=start, wait_until=wait_until):
                    self.report.interrupted = True
                    return
            at = window_end

    def _live_video_event(self, event: PlannedEvent, *, origin: int, wait_until) -> bool:
        recorder = VideoRecorder(device_name=self.device_name, start=event.start, origin=origin,
                                 spec=self.spec)
        try:
            return self._live_event_segments(event, recorder, wait_until)
        finally:
            recorder.close()

    def _live_event_segments(self, event: PlannedEvent, recorder: VideoRecorder,
                             wait_until) -> bool:
        # A camera opens the event (with its snapshot) when the event starts, then uploads its
        # recording segment by segment, then closes it.
        self.client.open_event(event_id=event.event_id, start_time=event.start, data=event.data,
                               channel=self.channel)
        self.client.upload_thumbnail(event_id=event.event_id, start_time=event.start,
                                     jpeg=recorder.thumbnail(), channel=self.channel)
        lengths = self._segment_lengths(event.seconds)
        for i, seconds in enumerate(lengths):
            segment = recorder.segment(seconds, final=i == len(lengths) - 1)
            if not wait_until(segment.end):
                # Stopped mid-event: what was uploaded stays, marked as a partial event (or a
                # failed one when nothing of it was uploaded).
                self._close_event(event, end=max(segment.start, event.start + 1),
                                  status="Partial" if i else "Failed")
                return False
            self._upload_segment(segment, event=event)
        self._close_event(event, end=event.end)
        return True
