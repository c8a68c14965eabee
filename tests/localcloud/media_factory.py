"""Real media for tests, made with PyAV: short H.264/AAC MPEG-TS segments, JPEG pictures,
MJPEG video and ADTS AAC audio. Small frames keep encoding fast."""
import io
import math
import struct
from fractions import Fraction

import av
from PIL import Image

WIDTH, HEIGHT = 64, 48


def _frame(i: int, *, color: int = 0) -> av.VideoFrame:
    # A moving gradient, so every frame differs and encoders cannot collapse the stream.
    pixels = bytes(
        v
        for y in range(HEIGHT)
        for x in range(WIDTH)
        for v in ((x * 3 + y * 2 + i * 7 + color) % 256, (x + i * 11) % 256, color % 256)
    )
    return av.VideoFrame.from_image(Image.frombytes("RGB", (WIDTH, HEIGHT), pixels))


def _audio_frames(stream, seconds: float):
    rate = stream.codec_context.sample_rate
    samples = int(rate * seconds)
    for start in range(0, samples, 1024):
        count = min(1024, samples - start)
        tone = [int(6000 * math.sin(2 * math.pi * 440 * (start + n) / rate)) for n in range(count)]
        frame = av.AudioFrame(format="s16", layout="mono", samples=count)
        frame.planes[0].update(struct.pack(f"<{count}h", *tone))
        frame.sample_rate = rate
        frame.pts = start
        yield frame


def ts_segment(seconds: float = 10, *, fps: int = 5, color: int = 0, audio: bool = True) -> bytes:
    """An MPEG-TS segment of `seconds` of H.264 video (and AAC audio), starting with a keyframe."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.options = {"preset": "ultrafast", "tune": "zerolatency"}
        video.codec_context.gop_size = fps * 2
        audio_stream = out.add_stream("aac", rate=16000, layout="mono") if audio else None
        for i in range(int(seconds * fps)):
            frame = _frame(i, color=color).reformat(format="yuv420p")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio_stream is not None:
            for frame in _audio_frames(audio_stream, seconds):
                for packet in audio_stream.encode(frame):
                    out.mux(packet)
            for packet in audio_stream.encode():
                out.mux(packet)
    return buf.getvalue()


def jpeg(*, color: int = 0) -> bytes:
    """One JPEG picture."""
    return _encode_jpegs(1, color=color)


def _encode_jpegs(count: int, *, color: int = 0) -> bytes:
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuvj420p"
    codec.time_base = Fraction(1, 25)
    data = b""
    for i in range(count):
        frame = _frame(i, color=color).reformat(format="yuvj420p")
        frame.pts = i
        for packet in codec.encode(frame):
            data += bytes(packet)
    for packet in codec.encode(None):
        data += bytes(packet)
    return data


def mjpeg(seconds: float = 5, *, fps: int = 5, color: int = 0) -> bytes:
    """An MJPEG video: JPEG frames concatenated, `seconds * fps` of them."""
    return _encode_jpegs(int(seconds * fps), color=color)


def aac(seconds: float = 5) -> bytes:
    """AAC audio in ADTS framing."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="adts") as out:
        stream = out.add_stream("aac", rate=16000, layout="mono")
        for frame in _audio_frames(stream, seconds):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()
