"""MP4 exports: a video-stream clip remuxed from its HLS segments (no re-encoding) and a
picture-stream event (MJPEG + AAC) transcoded to H.264 + AAC.

Media comes from the cloud's signed URLs over HTTP, like a browser gets it: the portal never
reads the cloud's storage."""
from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from fractions import Fraction
from urllib.parse import urljoin

import av
import requests
from av.bitstream import BitStreamFilterContext

log = logging.getLogger(__name__)

HTTP_TIMEOUT = (5, 30)
# The muxer writes a fragment per keyframe and no index at the end, so each fragment can go
# to the browser as soon as it is written (a classic MP4 needs a seek back to its header).
_FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof"}
# A jump in timestamps larger than this between two packets is a gap between spans (or a new
# segment restarting its clock), not motion: it is closed up so the clip plays straight on.
_MAX_STEP = 2.0


class MediaFetchError(Exception):
    """The cloud's media could not be fetched (expired URL, network)."""


def playlist_segments(playlist_url: str, session: requests.Session) -> list[str]:
    """The absolute segment URLs of a media playlist."""
    try:
        resp = session.get(playlist_url, timeout=HTTP_TIMEOUT)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise MediaFetchError(str(exc)) from exc
    return [urljoin(playlist_url, line.strip()) for line in resp.text.splitlines()
            if line.strip() and not line.startswith("#")]


class _Segments(io.RawIOBase):
    """The segments of a playlist as one readable stream: MPEG-TS concatenates byte-wise, and
    fetching one segment at a time keeps memory flat whatever the clip's length."""

    def __init__(self, urls: list[str], session: requests.Session):
        self._urls = list(urls)
        self._session = session
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buf and self._urls:
            url = self._urls.pop(0)
            try:
                resp = self._session.get(url, timeout=HTTP_TIMEOUT)
                resp.raise_for_status()
            except requests.RequestException as exc:
                raise MediaFetchError(str(exc)) from exc
            self._buf = resp.content
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class _Sink:
    """A write-only file for the muxer; the generator drains what it wrote."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out, self.chunks = b"".join(self.chunks), []
        return out


def remux_hls_to_mp4(playlist_url: str) -> Iterator[bytes]:
    """Stream an MP4 of the playlist's segments, packets copied as they are."""
    session = requests.Session()
    urls = playlist_segments(playlist_url, session)
    if not urls:
        raise MediaFetchError("empty playlist")
    # Fetch the first segment before the response starts, so an expired or refused URL turns
    # into an error page rather than a truncated download.
    source = _Segments(urls, session)
    first = bytearray(188)
    got = source.readinto(first)
    source._buf = bytes(first[:got]) + source._buf
    return _remux(source)


def _remux(source: _Segments) -> Iterator[bytes]:
    sink = _Sink()
    inp = av.open(source, format="mpegts")
    out = av.open(sink, "w", format="mp4", options=_FRAGMENTED)
    try:
        mapping = {}
        filters = {}
        for s in inp.streams:
            if s.type in ("video", "audio"):
                mapping[s.index] = out.add_stream_from_template(s)
                if s.codec_context.name == "aac":
                    # MPEG-TS carries AAC with ADTS headers; MP4 wants them stripped and the
                    # AudioSpecificConfig in the header instead.
                    filters[s.index] = BitStreamFilterContext("aac_adtstoasc", s)
        shift: float | None = None  # seconds added to every input timestamp
        last: dict[int, float] = {}  # per output stream: last dts written, seconds
        step: dict[int, float] = {}  # per output stream: typical packet duration, seconds
        for packet in inp.demux(*[inp.streams[i] for i in mapping]):
            if packet.dts is None or packet.size == 0:
                continue
            ostream = mapping[packet.stream.index]
            tb = packet.time_base
            t = float(packet.dts * tb)
            if shift is None:
                shift = -t
            idx = ostream.index
            if idx in last:
                out_t = t + shift
                if out_t <= last[idx] - 1e-6 or out_t - last[idx] > _MAX_STEP:
                    # Close the gap: this packet follows the previous one of its stream.
                    shift = last[idx] + step.get(idx, 0.04) - t
                elif out_t > last[idx]:
                    step[idx] = out_t - last[idx]
            offset = round(shift / tb)
            pts_gap = (packet.pts - packet.dts) if packet.pts is not None else 0
            packet.dts = packet.dts + offset
            packet.pts = packet.dts + pts_gap
            if packet.dts < 0:
                continue
            last[idx] = float(packet.dts * tb)
            bsf = filters.get(packet.stream.index)
            for p in bsf.filter(packet) if bsf else [packet]:
                p.stream = ostream
                out.mux(p)
            chunk = sink.drain()
            if chunk:
                yield chunk
        out.close()
        out = None
        tail = sink.drain()
        if tail:
            yield tail
    finally:
        if out is not None:
            out.close()
        inp.close()


def _split_jpegs(data: bytes) -> list[bytes]:
    """The JPEG frames of an MJPEG stream, cut at each SOI (FFD8) .. EOI (FFD9) pair."""
    frames, pos = [], 0
    while True:
        soi = data.find(b"\xff\xd8", pos)
        if soi < 0:
            break
        eoi = data.find(b"\xff\xd9", soi + 2)
        if eoi < 0:
            break
        frames.append(data[soi:eoi + 2])
        pos = eoi + 2
    return frames


def _fetch(url: str, session: requests.Session) -> bytes:
    try:
        resp = session.get(url, timeout=HTTP_TIMEOUT)
        resp.raise_for_status()
    except requests.RequestException as exc:
        raise MediaFetchError(str(exc)) from exc
    return resp.content


def picture_event_mp4(*, video_url: str, audio_url: str, seconds: float) -> bytes:
    """An MP4 (H.264 + AAC) of a picture-stream event: the MJPEG frames spread evenly over the
    event's length (MJPEG carries no timestamps), the audio re-encoded from its ADTS stream.
    Events last at most 10 s, so the whole file is built in memory."""
    session = requests.Session()
    frames = _split_jpegs(_fetch(video_url, session))
    if not frames:
        raise MediaFetchError("no frames in the picture stream")
    audio = _fetch(audio_url, session) if audio_url else b""
    fps = Fraction(len(frames)) / Fraction(seconds).limit_denominator(1000) if seconds > 0 \
        else Fraction(10)
    rate = Fraction(round(float(fps) * 1000), 1000) or Fraction(1)

    buf = io.BytesIO()
    # Built in memory (seekable), so the index is written at the end; "faststart" would need
    # a second pass over a named file.
    out = av.open(buf, "w", format="mp4")
    first = av.open(io.BytesIO(frames[0]), format="image2pipe")
    w, h = first.streams.video[0].codec_context.width, first.streams.video[0].codec_context.height
    first.close()
    vs = out.add_stream("libx264", rate=rate)
    vs.width, vs.height = w - w % 2, h - h % 2
    vs.pix_fmt = "yuv420p"
    vs.options = {"preset": "veryfast", "crf": "23"}
    a_in = None
    if audio:
        a_in = av.open(io.BytesIO(audio), format="aac")
        as_ = out.add_stream("aac", rate=a_in.streams.audio[0].codec_context.sample_rate)
    for i, jpeg in enumerate(frames):
        with av.open(io.BytesIO(jpeg), format="image2pipe") as img:
            for frame in img.decode(video=0):
                frame = frame.reformat(width=vs.width, height=vs.height, format="yuv420p")
                frame.pts = i
                frame.time_base = 1 / rate
                for packet in vs.encode(frame):
                    out.mux(packet)
    for packet in vs.encode():
        out.mux(packet)
    if a_in is not None:
        resampler = av.AudioResampler(format=as_.codec_context.format or "fltp",
                                      layout=as_.codec_context.layout or "mono",
                                      rate=as_.codec_context.sample_rate)
        for frame in a_in.decode(audio=0):
            frame.pts = None
            for rf in resampler.resample(frame):
                for packet in as_.encode(rf):
                    out.mux(packet)
        for packet in as_.encode():
            out.mux(packet)
        a_in.close()
    out.close()
    return buf.getvalue()
