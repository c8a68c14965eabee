"""Real camera media for the simulator: H.264 + AAC in MPEG-TS segments (video-stream devices),
MJPEG + AAC events (picture-stream devices) and JPEG thumbnails, made with PyAV and Pillow.

Every picture shows the device name and the wall-clock time being recorded, to the second, so a
person watching playback can see that seeking lands where it should. Speed comes from doing the
expensive work once per second of media rather than once per frame: the background is drawn
once, each second only the clock strip is redrawn and converted, and the same picture is
handed to x264 for every frame of that second (x264 then spends next to nothing on the repeats).
"""
from __future__ import annotations

import io
import math
from array import array
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from functools import cache
from zoneinfo import ZoneInfo

import av
from av.video.frame import PictureType
from PIL import Image, ImageDraw, ImageFont

# MPEG-TS carries timestamps on a 90 kHz clock.
TS_CLOCK = 90_000


@dataclass(frozen=True)
class MediaSpec:
    width: int = 640
    height: int = 360
    fps: int = 15
    segment_seconds: int = 10
    gop_seconds: int = 2  # a keyframe every 2 s: seeking lands within 2 s, segments stay small
    sample_rate: int = 16_000  # mono AAC at 16 kHz: a common camera format, small segments
    picture_fps: int = 5  # picture-stream (MJPEG) events
    picture_max_seconds: int = 10  # the platform keeps at most 10 s per picture-stream event
    time_zone: str = "UTC"
    jpeg_quality: int = 80

    def __post_init__(self):
        if self.width % 2 or self.height % 2:
            raise ValueError("width and height must be even (H.264 4:2:0)")
        if self.fps < 1 or self.picture_fps < 1 or self.segment_seconds < 1:
            raise ValueError("fps and segment length must be positive")
        ZoneInfo(self.time_zone)  # fail early on a misspelt zone


@dataclass(frozen=True)
class TsSegment:
    """One MPEG-TS segment: `start`/`end` are the recorded wall-clock (Unix seconds)."""

    start: int
    end: int
    data: bytes
    frames: int
    first_pts: int  # 90 kHz, continuing the previous segment's clock

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class PictureEvent:
    """A picture-stream event: MJPEG video (concatenated JPEG frames) and ADTS AAC audio."""

    start: int
    end: int
    video: bytes
    audio: bytes
    thumbnail: bytes
    frames: int
    fps: int


def _font(size: int, *, mono: bool = False) -> ImageFont.FreeTypeFont:
    # Fonts are looked up by file name on the system's font path; Pillow's bundled scalable
    # font is the fallback, so the simulator works on a machine without DejaVu.
    name = "DejaVuSansMono-Bold.ttf" if mono else "DejaVuSans-Bold.ttf"
    try:
        return ImageFont.truetype(name, size)
    except OSError:
        return ImageFont.load_default(size=size)


class FrameRenderer:
    """Draws a camera picture for a given second: a static scene with the device name, and a
    clock strip that is redrawn each second."""

    def __init__(self, *, device_name: str, spec: MediaSpec):
        self.spec = spec
        self.device_name = device_name
        self.zone = ZoneInfo(spec.time_zone)
        w, h = spec.width, spec.height
        self.clock_font = _font(max(12, h // 11), mono=True)
        self.label_font = _font(max(10, h // 24))
        self.background = self._draw_background()
        # The clock strip: a band across the middle of the picture.
        strip_h = int(self.clock_font.size * 1.6) + self.label_font.size + 12
        top = (h - strip_h) // 2 + h // 10
        top -= top % 2  # keep the strip on chroma rows so 4:2:0 conversion stays exact
        self.strip_box = (0, top, w, top + strip_h + strip_h % 2)
        self.strip_background = self.background.crop(self.strip_box)

    def _draw_background(self) -> Image.Image:
        w, h = self.spec.width, self.spec.height
        # A vertical gradient drawn once line by line (cheap, and it gives x264 some texture).
        img = Image.new("RGB", (w, h))
        draw = ImageDraw.Draw(img)
        for y in range(h):
            k = y / max(1, h - 1)
            draw.line([(0, y), (w, y)], fill=(int(20 + 40 * k), int(50 + 60 * k), int(90 + 50 * k)))
        # A few shapes so the scene reads as "a room", not a test card.
        draw.rectangle([w * 0.06, h * 0.55, w * 0.30, h * 0.95], fill=(70, 60, 50))
        draw.ellipse([w * 0.72, h * 0.08, w * 0.90, h * 0.40], fill=(200, 190, 120))
        draw.rectangle([0, 0, w, h // 8], fill=(0, 0, 0))
        name_font = _font(max(12, h // 16))
        draw.ellipse([w // 40, h // 16 - h // 48, w // 40 + h // 24, h // 16 + h // 48],
                     fill=(220, 30, 30))
        draw.text((w // 40 + h // 16, h // 16), self.device_name, font=name_font,
                  fill=(240, 240, 240), anchor="lm")
        return img

    def zone_label(self, moment: datetime) -> str:
        offset = moment.strftime("%z")
        return f"{self.spec.time_zone} (UTC{offset[:3]}:{offset[3:]})"

    def picture(self, second: int) -> Image.Image:
        """The whole picture for the recorded second `second` (Unix time)."""
        img = self.background.copy()
        img.paste(self.strip(second), self.strip_box[:2])
        return img

    def strip(self, second: int) -> Image.Image:
        moment = datetime.fromtimestamp(second, tz=UTC).astimezone(self.zone)
        strip = self.strip_background.copy()
        draw = ImageDraw.Draw(strip)
        w, sh = strip.size
        draw.rectangle([w * 0.08, 0, w * 0.92, sh], fill=(0, 0, 0))
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        draw.text((w // 2, 6), text, font=self.clock_font, fill=(255, 255, 255), anchor="mt")
        draw.text((w // 2, sh - 6), self.zone_label(moment), font=self.label_font,
                  fill=(180, 220, 255), anchor="mb")
        return strip


def _beeps(sample_rate: int, samples: int) -> bytes:
    """float32 mono audio: a 120 ms 880 Hz beep at the start of every second over a faint hum,
    so a listener hears the seconds tick by."""
    out = array("f")
    beep = int(sample_rate * 0.12)
    for n in range(samples):
        t = n / sample_rate
        k = n % sample_rate
        if k < beep:
            # A short fade in/out avoids clicks at the edges of the beep.
            env = min(1.0, k / 80, (beep - k) / 80)
            out.append(0.45 * env * math.sin(2 * math.pi * 880 * t))
        else:
            out.append(0.02 * math.sin(2 * math.pi * 110 * t))
    return out.tobytes()


@dataclass(frozen=True)
class _AudioLoop:
    """The soundtrack encoded once and reused: the beeps repeat every second and AAC frames are
    1024 samples, so after lcm(sample_rate, 1024) samples the encoded frames repeat exactly.
    Encoding the native AAC encoder's way costs more than all the video; reusing the frames
    makes audio nearly free."""

    sample_rate: int
    frame_size: int
    frames: tuple[bytes, ...]  # one period of encoded AAC frames
    extradata: bytes

    def packet(self, index: int) -> av.Packet:
        """The AAC frame holding samples [index * frame_size, (index + 1) * frame_size)."""
        packet = av.Packet(self.frames[index % len(self.frames)])
        packet.pts = packet.dts = index * self.frame_size
        packet.duration = self.frame_size
        packet.time_base = Fraction(1, self.sample_rate)
        return packet


@cache
def _audio_loop(sample_rate: int) -> _AudioLoop:
    frame_size = 1024
    period = math.lcm(sample_rate, frame_size)  # samples, a whole number of seconds
    holder = av.open(io.BytesIO(), "w", format="adts")
    stream = _add_aac_stream(holder, sample_rate)
    ctx = stream.codec_context
    ctx.open()
    wave = _beeps(sample_rate, period)
    frames: dict[int, bytes] = {}
    # Three periods in, the middle one kept: its frames were encoded with the real signal on
    # both sides (MDCT overlap), so repeating them has no seams. Packet pts are in input
    # samples (the encoder's priming frame comes out at -1024).
    for rep in range(3):
        for offset in range(0, period, frame_size):
            frame = av.AudioFrame(format="flt", layout="mono", samples=frame_size)
            frame.planes[0].update(wave[offset * 4:(offset + frame_size) * 4])
            frame.sample_rate = sample_rate
            frame.time_base = Fraction(1, sample_rate)
            frame.pts = rep * period + offset
            for packet in ctx.encode(frame):
                if period <= packet.pts < 2 * period:
                    frames[packet.pts] = bytes(packet)
    loop = _AudioLoop(sample_rate=sample_rate, frame_size=frame_size,
                      frames=tuple(frames[k] for k in sorted(frames)),
                      extradata=bytes(ctx.extradata))
    holder.close()
    if len(loop.frames) != period // frame_size:
        raise RuntimeError("the AAC encoder did not return one packet per frame")
    return loop


def _add_aac_stream(container, sample_rate: int):
    stream = container.add_stream("aac", rate=sample_rate)
    stream.codec_context.layout = "mono"
    stream.codec_context.bit_rate = 32_000
    stream.time_base = Fraction(1, sample_rate)
    stream.codec_context.time_base = Fraction(1, sample_rate)
    return stream


class VideoRecorder:
    """A camera's continuous H.264 + AAC stream cut into MPEG-TS segments.

    Timestamps run from `origin` (the camera's clock zero) and continue across segments: the
    first frame of a segment carries the PTS right after the last frame of the one before, as a
    camera's would. One recorder holds one run of continuous recording (full-time recording, or
    one event); a new recorder with the same origin keeps the clock going after a gap.
    """

    def __init__(self, *, device_name: str, start: int, origin: int | None = None,
                 spec: MediaSpec | None = None, renderer: FrameRenderer | None = None):
        self.spec = spec or MediaSpec()
        self.renderer = renderer or FrameRenderer(device_name=device_name, spec=self.spec)
        self.origin = start if origin is None else origin
        if self.origin > start:
            raise ValueError("origin must not be after start")
        self.position = start  # the recorded second the next segment starts at
        self.closed = False
        # The encoders live in a container that is never written: it only owns the codec
        # contexts, which must outlive each segment's container so that the stream stays one.
        self._holder = av.open(io.BytesIO(), "w", format="mpegts")
        spec = self.spec
        self._video = self._holder.add_stream("libx264", rate=spec.fps)
        ctx = self._video.codec_context
        ctx.width, ctx.height, ctx.pix_fmt = spec.width, spec.height, "yuv420p"
        ctx.time_base = Fraction(1, spec.fps)
        self._video.time_base = Fraction(1, spec.fps)
        ctx.gop_size = spec.fps * spec.gop_seconds
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "26",
                       "x264-params": "scenecut=0", "threads": "1"}
        self._audio = _add_aac_stream(self._holder, spec.sample_rate)
        self._audio_loop = _audio_loop(spec.sample_rate)
        ctx.open()
        self._audio.codec_context.open()
        self._background_planes: list[tuple[bytes, int]] | None = None

    def first_picture(self) -> Image.Image:
        return self.renderer.picture(self.position)

    def thumbnail(self) -> bytes:
        """JPEG of the frame the next segment starts with (an event's first frame)."""
        return jpeg(self.first_picture(), quality=self.spec.jpeg_quality)

    def _frame_for(self, second: int) -> av.VideoFrame:
        # Only the clock strip changes between seconds: the background is converted to YUV
        # once, and each second only the strip is converted and spliced into its rows.
        if self._background_planes is None:
            background = av.VideoFrame.from_image(self.renderer.background)
            self._background_planes = [
                (bytes(plane), plane.line_size)
                for plane in background.reformat(format="yuv420p").planes
            ]
        strip = av.VideoFrame.from_image(self.renderer.strip(second)).reformat(format="yuv420p")
        frame = av.VideoFrame(self.spec.width, self.spec.height, "yuv420p")
        top, bottom = self.renderer.strip_box[1], self.renderer.strip_box[3]
        for index, (plane, (background, line), strip_plane) in enumerate(
                zip(frame.planes, self._background_planes, strip.planes, strict=True)):
            shift = 0 if index == 0 else 1  # chroma planes have half the rows
            first, last = top >> shift, bottom >> shift
            rows = bytes(strip_plane)
            if strip_plane.line_size != line:
                width = min(line, strip_plane.line_size)
                rows = b"".join(
                    rows[r * strip_plane.line_size:r * strip_plane.line_size + width].ljust(line, b"\0")
                    for r in range(last - first))
            data = background[:first * line] + rows[:(last - first) * line] + background[last * line:]
            if plane.line_size != line:
                raise RuntimeError("unexpected YUV plane layout")
            plane.update(data)
        return frame

    def segment(self, seconds: int | None = None, *, final: bool = False) -> TsSegment:
        """Record the next `seconds` (default the spec's segment length) as one TS segment.
        `final` flushes the encoders into it (the end of the recording)."""
        if self.closed:
            raise RuntimeError("this recording is finished")
        spec = self.spec
        seconds = spec.segment_seconds if seconds is None else seconds
        if seconds < 1:
            raise ValueError("a segment lasts at least one second")
        start = self.position
        buf = io.BytesIO()
        out = av.open(buf, "w", format="mpegts")
        out_video = out.add_stream_from_template(self._video)
        out_audio = out.add_stream_from_template(self._audio)
        loop = self._audio_loop
        # The TS muxer frames AAC as ADTS from the stream's AudioSpecificConfig; a template
        # copies parameters from before the encoder was opened, so hand it over explicitly.
        out_audio.codec_context.extradata = loop.extradata
        # Each AAC frame goes with the segment its first sample falls in (a frame straddling
        # the cut starts the next segment's audio a few ms early, as segmenters do).
        next_audio = -(-(start - self.origin) * spec.sample_rate // loop.frame_size)
        frames = 0
        for second in range(start, start + seconds):
            frame = self._frame_for(second)
            base = (second - self.origin) * spec.fps
            for i in range(spec.fps):
                frame.pts = base + i
                frame.time_base = Fraction(1, spec.fps)
                # Each segment opens on a keyframe so it decodes on its own.
                frame.pict_type = PictureType.I if (second == start and i == 0) else PictureType.NONE
                for packet in self._video.codec_context.encode(frame):
                    packet.stream = out_video
                    out.mux(packet)
                frames += 1
            # Audio up to the end of this second, interleaved with the video.
            upto = -(-(second + 1 - self.origin) * spec.sample_rate // loop.frame_size)
            for index in range(next_audio, upto):
                packet = loop.packet(index)
                packet.stream = out_audio
                out.mux(packet)
            next_audio = upto
        if final:
            for packet in self._video.codec_context.encode(None):
                packet.stream = out_video
                out.mux(packet)
            self.close()
        out.close()
        self.position = start + seconds
        return TsSegment(start=start, end=start + seconds, data=buf.getvalue(), frames=frames,
                         first_pts=(start - self.origin) * TS_CLOCK)

    def record(self, seconds: int) -> list[TsSegment]:
        """`seconds` of recording as full-length segments (the last one shorter), finished."""
        out = []
        left = seconds
        while left > 0:
            take = min(self.spec.segment_seconds, left)
            left -= take
            out.append(self.segment(take, final=left == 0))
        return out

    def close(self):
        if not self.closed:
            self.closed = True
            self._holder.close()


def jpeg(picture: Image.Image, *, quality: int = 80) -> bytes:
    buf = io.BytesIO()
    picture.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def picture_event(*, device_name: str, start: int, seconds: int, spec: MediaSpec | None = None,
                  renderer: FrameRenderer | None = None) -> PictureEvent:
    """A picture-stream event: MJPEG at `spec.picture_fps` with AAC audio, at most the
    platform's 10 s."""
    spec = spec or MediaSpec()
    if not 1 <= seconds <= spec.picture_max_seconds:
        raise ValueError(f"a picture-stream event lasts 1 to {spec.picture_max_seconds} s")
    renderer = renderer or FrameRenderer(device_name=device_name, spec=spec)
    video = bytearray()
    thumbnail = b""
    for second in range(start, start + seconds):
        # The picture only changes once a second, so one JPEG serves every frame of it.
        frame = jpeg(renderer.picture(second), quality=spec.jpeg_quality)
        if not thumbnail:
            thumbnail = frame
        video += frame * spec.picture_fps
    return PictureEvent(start=start, end=start + seconds, video=bytes(video),
                        audio=adts_audio(start=start, seconds=seconds, spec=spec),
                        thumbnail=thumbnail, frames=seconds * spec.picture_fps,
                        fps=spec.picture_fps)


def adts_audio(*, start: int, seconds: int, spec: MediaSpec) -> bytes:
    """`seconds` of the beeping soundtrack as a raw ADTS AAC stream (what a browser's <audio>
    element plays)."""
    buf = io.BytesIO()
    out = av.open(buf, "w", format="adts")
    stream = _add_aac_stream(out, spec.sample_rate)
    loop = _audio_loop(spec.sample_rate)
    stream.codec_context.extradata = loop.extradata
    for index in range(-(-seconds * spec.sample_rate // loop.frame_size)):
        packet = loop.packet(index)
        packet.stream = stream
        out.mux(packet)
    out.close()
    return buf.getvalue()
