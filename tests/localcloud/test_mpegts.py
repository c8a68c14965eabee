"""The structural check of uploaded segments (localcloud/device/mpegts.py) against real
MPEG-TS made with PyAV: what it accepts, what it measures and every way it refuses."""
import io
from fractions import Fraction

import av
import pytest

from localcloud.device import mpegts
from tests.localcloud import media_factory as media

PACKET = 188


@pytest.fixture(scope="module")
def segment():
    return media.ts_segment(10, fps=5)


def _packets(data: bytes) -> list[bytes]:
    return [data[i:i + PACKET] for i in range(0, len(data), PACKET)]


def test_a_segment_is_measured_from_its_video_timestamps(segment):
    video = mpegts.scan(segment)
    assert (video.codec, video.duration_ms, video.frames) == ("h264", 10_000, 50)


def test_a_segment_at_another_frame_rate_and_length(segment):
    video = mpegts.scan(media.ts_segment(3, fps=15, audio=False))
    assert (video.duration_ms, video.frames) == (3_000, 45)


def test_padding_packets_change_nothing(segment):
    null_packet = b"\x47\x1f\xff\x10" + b"\xff" * 184
    assert mpegts.scan(segment + null_packet * 500) == mpegts.scan(segment)


def test_a_cut_short_body_is_refused(segment):
    with pytest.raises(mpegts.NotMpegTs, match="188-byte packets"):
        mpegts.scan(segment[:-100])


def test_a_body_that_lost_its_sync_is_refused(segment):
    broken = bytearray(segment)
    broken[PACKET * 7] = 0x00
    with pytest.raises(mpegts.NotMpegTs, match="sync"):
        mpegts.scan(bytes(broken))


def test_audio_alone_is_refused():
    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts") as out:
        stream = out.add_stream("aac", rate=16000, layout="mono")
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.time_base = 16000, Fraction(1, 16000)
        for i in range(20):
            frame.pts = i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(mpegts.NotMpegTs, match="no H.264 or HEVC video"):
        mpegts.scan(buf.getvalue())


def test_a_segment_that_does_not_start_with_a_keyframe_is_refused():
    # A keyframe every 2 s: dropping the first second's packets of video leaves P-frames first.
    data = media.ts_segment(4, fps=5, audio=False)
    packets = _packets(data)
    tables, rest = packets[:2], packets[2:]
    with pytest.raises(mpegts.NotMpegTs, match="keyframe"):
        mpegts.scan(b"".join(tables + rest[len(rest) // 4:]))


def test_bytes_that_are_not_a_transport_stream_are_refused():
    with pytest.raises(mpegts.NotMpegTs):
        mpegts.scan(media.jpeg() + b"\x00" * (PACKET - len(media.jpeg()) % PACKET))
