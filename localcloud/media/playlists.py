"""HLS VOD playlists over a device's segments.

Every segment URL of a playlist carries the same query string: one signature over the device,
channel, the playlist's time window and its expiry (localcloud.signing.segment_resource), like
a CDN policy. A segment request is valid when that signature verifies and the segment lies in
the signed window. So a playlist is its unsigned text ("parts", cached per device, channel and
window) joined with that one query string, and its gzip is mostly precomputed (gzsplice):
a newly signed address costs a join and a CRC, not 8,640 HMACs and a megabyte of deflate."""
import gzip
import math
import threading
import time
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

from localcloud import sql
from localcloud.device.services import MAX_SEGMENT_SECONDS
from localcloud.media import gzsplice
from localcloud.models import Device, Segment, Span
from localcloud.products import device_by_name_sql
from localcloud.signing import Signer, public_url, segment_resource

# Segments further apart than this are a gap: the player is told with EXT-X-DISCONTINUITY.
GAP_SLACK = 1
TAIL = b"\n#EXT-X-ENDLIST\n"


def playlist_path(product_id: str, device_name: str, channel_id: int) -> str:
    return f"/media/v1/{product_id}/{device_name}/{channel_id}/video.m3u8"


def video_url(device: Device, channel_id: int) -> str:
    return public_url(playlist_path(device.product.product_id, device.device_name, channel_id))


def _program_date_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@cache
def _segments_sql() -> str:
    # The lower bound on start_time (segments last at most a minute) lets the database walk the
    # (device, channel, start_time) index instead of scanning the device's rows.
    fields = ["id", "start_time", "end_time", "duration_ms"]
    return (f"SELECT {sql.columns(Segment, fields)} "  # noqa: S608 (names)
            f"FROM {sql.table(Segment)} WHERE device_id = %s AND channel_id = %s "
            "AND start_time > %s AND start_time < %s AND end_time > %s ORDER BY start_time")


@cache
def _window_sql() -> str:
    spans = (f"LEFT JOIN {sql.table(Span)} s ON s.device_id = d.id AND s.channel_id = %s "
             "AND s.end_time > %s AND s.start_time < %s ")
    return ("SELECT d.id, s.start_time, s.end_time "  # noqa: S608 (names)
            f"{device_by_name_sql(spans)} ORDER BY s.start_time")


def window_spans(*, product_id: str, device_name: str, channel_id: int, start: int,
                 end: int) -> tuple[int | None, tuple]:
    """(device id or None, the recorded spans overlapping [start, end)) in one query. The spans
    are the window's index version: any segment stored or removed inside it changes them."""
    rows = sql.fetch_all(_window_sql(), [channel_id, start, end, product_id, device_name])
    if not rows:
        return None, ()
    return rows[0][0], tuple((s, e) for _, s, e in rows if s is not None)


def render_parts(*, device_id: int, channel_id: int, start: int, end: int,
                 directory: str) -> list[bytes] | None:
    """The playlist's text cut before each segment URL's query string: the text is
    `q.join(parts) + q + TAIL`. None when nothing was recorded in [start, end). Segment URLs
    are `<directory URL><pk>.ts`, the directory being the playlist's."""
    rows = sql.fetch_all(_segments_sql(), [device_id, channel_id, start - MAX_SEGMENT_SECONDS,
                                           end, start])
    if not rows:
        return None
    target = math.ceil(max(r[3] for r in rows) / 1000)
    head = ("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n"
            f"#EXT-X-TARGETDURATION:{max(target, 1)}\n#EXT-X-MEDIA-SEQUENCE:0\n"
            f"#EXT-X-PROGRAM-DATE-TIME:{_program_date_time(rows[0][1])}").encode()
    parts = []
    append = parts.append
    extinf: dict[int, bytes] = {}  # a day's segments share a handful of durations
    # Absolute: a player resolves relative URIs too, but other clients of a playlist take its
    # lines as they are.
    base = public_url(directory).encode()
    previous_end = None
    for pk, seg_start, seg_end, duration_ms in rows:
        line = extinf.get(duration_ms)
        if line is None:
            line = extinf[duration_ms] = f"\n#EXTINF:{duration_ms / 1000:.3f},\n".encode()
        if previous_end is None:
            line = head + line
        elif seg_start > previous_end + GAP_SLACK:
            line = (f"\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:"
                    f"{_program_date_time(seg_start)}").encode() + line
        append(b"%b%b%d.ts?" % (line, base, pk))
        previous_end = seg_end
    return parts


def playlist_directory(product_id: str, device_name: str, channel_id: int) -> str:
    return playlist_path(product_id, device_name, channel_id).rpartition("/")[0] + "/"


def segment_query(*, product_id: str, device_name: str, channel_id: int, start: int, end: int,
                  expires: int) -> bytes:
    """The query string every segment URL of this playlist carries."""
    resource = segment_resource(playlist_directory(product_id, device_name, channel_id))
    return Signer(expires).sign(resource, f"s={start}&e={end}")[len(resource) + 1:].encode()


@dataclass
class _Window:
    version: tuple
    parts: list[bytes]
    born: float
    blocks: dict[int, bytes] = field(default_factory=dict)  # per length of the query string


class _WindowCache:
    """Unsigned playlist text per (device, channel, window), valid while the window's spans are
    unchanged. A short life as well bounds the one change spans cannot show: a segment removed
    and then stored again with the same times (a new row behind the same timeline)."""

    def __init__(self, size: int = 8, ttl: float = 60.0):
        self.size, self.ttl = size, ttl
        self.entries: OrderedDict[tuple, _Window] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, version: tuple) -> _Window | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry.version != version \
                    or entry.born + self.ttl < time.monotonic():
                self.entries.pop(key, None)
                return None
            self.entries.move_to_end(key)
            return entry

    def put(self, key: tuple, entry: _Window) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_windows = _WindowCache()


def render(*, product_id: str, device_name: str, channel_id: int, start: int, end: int,
           expires: int) -> tuple[bytes, bytes] | None:
    """(text, gzip of text) of the playlist, None when nothing was recorded in [start, end),
    or raises Device.DoesNotExist."""
    device_id, spans = window_spans(product_id=product_id, device_name=device_name,
                                    channel_id=channel_id, start=start, end=end)
    if device_id is None:
        raise Device.DoesNotExist
    if not spans:
        return None
    key = (device_id, channel_id, start, end)
    window, first = _windows.get(key, spans), False
    if window is None:
        parts = render_parts(device_id=device_id, channel_id=channel_id, start=start, end=end,
                             directory=playlist_directory(product_id, device_name, channel_id))
        if parts is None:
            return None
        window, first = _Window(version=spans, parts=parts, born=time.monotonic()), True
        _windows.put(key, window)
    q = segment_query(product_id=product_id, device_name=device_name, channel_id=channel_id,
                      start=start, end=end, expires=expires)
    block = window.blocks.get(len(q))
    if block is None and not first:
        # A second address of the window: worth the block (about twice a plain gzip) that
        # makes every further address cheap.
        with suppress(ValueError):  # a part too long for a back-reference: plain gzip
            block = window.blocks[len(q)] = gzsplice.tail_block(window.parts, len(q), TAIL)
    if block is None:
        text = q.join(window.parts) + q + TAIL
        return text, gzip.compress(text, compresslevel=1, mtime=0)
    return gzsplice.compress(window.parts, q, TAIL, block)
