"""Media checks for uploads, done with PyAV on the bytes in memory: does it decode as the
format the call expects, and how long does it last."""
import io
from dataclasses import dataclass

import av


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


def _decode_first(stream_packets) -> bool:
    # Decoding one frame proves the codec data is real without paying for the whole stream
    # (ingest must keep up with hundreds of segments a second).
    for packet in stream_packets:
        try:
            if packet.decode():
                return True
        except (av.FFmpegError, ValueError):
            continue
    return False


def probe_ts(data: bytes) -> Probe:
    """An MPEG-TS segment with an H.264 (or HEVC) video stream; its duration from the
    video timestamps."""
    with _open(data, "mpegts") as container:
        if not container.streams.video:
            raise NotDecodable("no video stream")
        video = container.streams.video[0]
        first = last = None
        pending, decoded, count = [], False, 0
        try:
            for packet in container.demux(video):
                if packet.pts is None:
                    continue
                count += 1
                end = packet.pts + (packet.duration or 0)
                first = packet.pts if first is None else min(first, packet.pts)
                last = end if last is None else max(last, end)
                if not decoded:
                    pending.append(packet)
                    decoded = _decode_first(pending)
                    if decoded:
                        pending = []
        except (av.FFmpegError, ValueError) as exc:
            raise NotDecodable(str(exc)) from exc
        if not count or not decoded:
            raise NotDecodable("no decodable video frame")
        return Probe(duration_ms=int((last - first) * video.time_base * 1000), frames=count)


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
