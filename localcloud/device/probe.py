"""Media checks for uploads, on the bytes in memory: does it decode as the format the call
expects, and how long does it last. Pictures, MJPEG and AAC are decoded with PyAV; video
segments, which arrive hundreds a second, are checked structurally (localcloud.device.mpegts)."""
import io
from dataclasses import dataclass

import av

from localcloud.device import mpegts


class NotDecodable(Exception):
    pass


@dataclass(frozen=True)
class Probe:
    duration_ms: int
    frames: int = 0


def _open(data: bytes, fmt: str):
    try:
        return av.open(io.BytesIO(data), format=fmt)
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise NotDecodable(str(exc)) from exc


def probe_ts(data: bytes) -> Probe:
    """An MPEG-TS segment with H.264 (or HEVC) video that starts with a keyframe; its duration
    from the video timestamps. Checked structurally (mpegts.scan), not decoded: see there why."""
    try:
        video = mpegts.scan(data)
    except mpegts.NotMpegTs as exc:
        raise NotDecodable(str(exc)) from exc
    return Probe(duration_ms=video.duration_ms, frames=video.frames)


def probe_jpeg(data: bytes) -> Probe:
    with _open(data, "jpeg_pipe") as container:
        try:
            frames = [f for p in container.demux(video=0) for f in p.decode()]
        except (av.FFmpegError, ValueError) as exc:
            raise NotDecodable(str(exc)) from exc
    if not frames:
        raise NotDecodable("no picture")
    return Probe(duration_ms=0, frames=1)


def probe_mjpeg(data: bytes, *, fps: int) -> Probe:
    """JPEG frames concatenated; every frame must decode (they are few: ≤ 10 s)."""
    with _open(data, "mjpeg") as container:
        frames = 0
        try:
            for packet in container.demux(video=0):
                if packet.size:
                    if not packet.decode():
                        raise NotDecodable("a frame does not decode")
                    frames += 1
        except (av.FFmpegError, ValueError) as exc:
            raise NotDecodable(str(exc)) from exc
    if not frames:
        raise NotDecodable("no frames")
    return Probe(duration_ms=frames * 1000 // fps, frames=frames)


def probe_aac(data: bytes) -> Probe:
    with _open(data, "aac") as container:
        if not container.streams.audio:
            raise NotDecodable("no audio stream")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or 0
        samples, frames = 0, 0
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    samples += frame.samples
                    frames += 1
        except (av.FFmpegError, ValueError) as exc:
            raise NotDecodable(str(exc)) from exc
    if not frames or not rate:
        raise NotDecodable("no audio frames")
    return Probe(duration_ms=samples * 1000 // rate, frames=frames)
