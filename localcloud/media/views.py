"""Signed media: HLS playlists, MPEG-TS segments, thumbnails, MJPEG and AAC. Every URL carries
its own signature and expiry (localcloud.signing); anything unsigned, altered or expired is
refused with 403. Files are served with byte ranges (206) and CORS for the portal's origins."""
import gzip
import json
import re
import threading
import time
from collections import OrderedDict
from functools import cache, wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.cache import patch_vary_headers

from localcloud import clock, signing, sql
from localcloud.media import playlists
from localcloud.models import Device, Event, Product, Segment
from localcloud.storage import media_open, media_size

MAX_PLAYLIST_SECONDS = 7 * 86400
CHUNK = 256 * 1024
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _PlaylistCache:
    """The last few playlists served, gzipped, per signed URL. A player, a page reload and a
    second viewer ask for the same signed URL; this answers them without even the window's
    version query (playlists.render). A short life bounds how stale a range that is still
    being recorded can be; the signature (and so the expiry) is part of the key."""

    def __init__(self, size: int = 16, ttl: float = 10.0):
        self.size, self.ttl = size, ttl
        self.entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None or entry[0] < time.monotonic():
                self.entries.pop(key, None)
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def put(self, key: str, value: bytes) -> None:
        with self.lock:
            self.entries[key] = (time.monotonic() + self.ttl, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


_playlist_cache = _PlaylistCache()


def _json_error(status: int, code: str, message: str) -> HttpResponse:
    return HttpResponse(json.dumps({"error": {"code": code, "message": message}}),
                        status=status, content_type="application/json")


def _cors(request: HttpRequest, response: HttpResponse, *, preflight: bool = False):
    origin = request.headers.get("Origin")
    if origin and origin in settings.LOCALCLOUD_CORS_ORIGINS:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Expose-Headers"] = (
            "Content-Length, Content-Range, Accept-Ranges, Content-Encoding, X-Frame-Rate")
        if preflight:
            response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Range"
            response["Access-Control-Max-Age"] = "600"
    patch_vary_headers(response, ["Origin"])
    return response


def _verified(request: HttpRequest, resource: str, view, kwargs) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204), preflight=True)
    if request.method not in ("GET", "HEAD"):
        response = _json_error(405, "method_not_allowed", "Media URLs answer GET and HEAD.")
        response["Allow"] = "GET, HEAD, OPTIONS"
        return _cors(request, response)
    try:
        params = signing.verify(resource, request.META.get("QUERY_STRING", ""))
    except signing.BadSignature as exc:
        return _cors(request, _json_error(403, "forbidden", f"Refused: {exc}."))
    response = view(request, params, **kwargs)
    if response.status_code < 300:
        # Private: the URL is a bearer token; caches may keep it only until it expires.
        ttl = max(0, int(params["_expires"]) - clock.now())
        response["Cache-Control"] = f"private, max-age={ttl}"
    return _cors(request, response)


def signed_media(view):
    """A view whose URL carries its own signature (over its path and query)."""
    @wraps(view)
    def wrapper(request: HttpRequest, **kwargs):
        return _verified(request, request.path_info, view, kwargs)

    return wrapper


def window_signed(view):
    """A segment view whose URL carries its playlist's window signature (over the playlist's
    directory, the window and the expiry: signing.segment_resource)."""
    @wraps(view)
    def wrapper(request: HttpRequest, **kwargs):
        directory = request.path_info.rpartition("/")[0] + "/"
        return _verified(request, signing.segment_resource(directory), view, kwargs)

    return wrapper


def _serve(request: HttpRequest, name: str, content_type: str) -> HttpResponse:
    try:
        size = media_size(name)
    except (FileNotFoundError, OSError):
        return _json_error(404, "not_found", "This recording is no longer stored.")
    start, end, status = 0, size - 1, 200
    header = request.headers.get("Range")
    if header:
        match = _RANGE_RE.match(header.strip())
        if not match or match.groups() == ("", ""):
            return _unsatisfiable(size)
        first, last = match.groups()
        if first == "":  # the last N bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        if start > end or start >= size:
            return _unsatisfiable(size)
        status = 206
    length = end - start + 1
    if request.method == "HEAD":
        response = HttpResponse(status=status, content_type=content_type)
    else:
        response = StreamingHttpResponse(_chunks(name, start, length), status=status,
                                         content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = _json_error(416, "range_not_satisfiable", "The requested byte range is outside "
                                                         "the file.")
    response["Content-Range"] = f"bytes */{size}"
    return response


def _chunks(name: str, start: int, length: int):
    with media_open(name) as handle:
        handle.seek(start)
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data


@signed_media
def playlist(request, params, product_id: str, device_name: str, channel_id: int):
    try:
        start = int(params["starttime_epoch"])
        end = int(params["endtime_epoch"])
    except (KeyError, ValueError):
        return _json_error(400, "bad_request",
                           "starttime_epoch and endtime_epoch must be Unix seconds.")
    if start > end:
        return _json_error(400, "bad_request", "starttime_epoch is after endtime_epoch.")
    if end - start > MAX_PLAYLIST_SECONDS:
        return _json_error(400, "bad_request", "A playlist covers at most 7 days.")
    end = max(end, start + 1)
    key = request.path_info + "?" + request.META.get("QUERY_STRING", "")
    # A repeat of a signed address answers without touching the database: it is at most the
    # cache's life old, like the recordings it lists.
    zipped, text = _playlist_cache.get(key), None
    if zipped is None:
        try:
            rendered = playlists.render(product_id=product_id, device_name=device_name,
                                        channel_id=channel_id, start=start, end=end,
                                        expires=int(params["_expires"]))
        except Device.DoesNotExist:
            return _json_error(404, "not_found", "This device does not exist.")
        if rendered is None:
            return _json_error(404, "not_found", "Nothing was recorded in this time range.")
        text, zipped = rendered
        _playlist_cache.put(key, zipped)
    response = HttpResponse(content_type="application/vnd.apple.mpegurl")
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        body = zipped
        response["Content-Encoding"] = "gzip"
    else:
        body = text if text is not None else gzip.decompress(zipped)
    patch_vary_headers(response, ["Accept-Encoding"])
    response.content = b"" if request.method == "HEAD" else body
    response["Content-Length"] = str(len(body))
    return response


@cache
def _window_segment_sql() -> str:
    q = sql.quote
    return (f"SELECT s.{q('path')}, s.channel_id, s.start_time, s.end_time, "  # noqa: S608
            f"p.{q('product_id')}, "
            f"d.{q('device_name')} FROM {sql.table(Segment)} s "
            f"JOIN {sql.table(Device)} d ON d.id = s.device_id "
            f"JOIN {sql.table(Product)} p ON p.id = d.product_id WHERE s.id = %s")


@window_signed
def window_segment(request, params, product_id: str, device_name: str, channel_id: int,
                   pk: int):
    try:
        start, end = int(params["s"]), int(params["e"])
    except (KeyError, ValueError):
        return _forbidden("the address names no time window")
    row = sql.fetch_one(_window_segment_sql(), [pk])
    if row is None:
        return _json_error(404, "not_found", "This segment is no longer stored.")
    path, seg_channel, seg_start, seg_end, seg_product, seg_device = row
    # The signature covers the device, channel and window, not the segment: the segment must
    # be one the signed playlist lists (the same overlap test as the playlist's query).
    if (seg_product, seg_device, seg_channel) != (product_id, device_name, channel_id) \
            or not (seg_start < max(end, start + 1) and seg_end > start):
        return _forbidden("the segment lies outside the signed playlist")
    return _serve(request, path, "video/mp2t")


def _forbidden(reason: str) -> HttpResponse:
    return _json_error(403, "forbidden", f"Refused: {reason}.")


@signed_media
def segment(request, params, pk: int):
    path = Segment.objects.filter(pk=pk).values_list("path", flat=True).first()
    if path is None:
        return _json_error(404, "not_found", "This segment is no longer stored.")
    return _serve(request, path, "video/mp2t")


def _event_file(request, pk: int, field: str, content_type: str):
    path = Event.objects.filter(pk=pk).values_list(field, flat=True).first()
    if not path:
        return _json_error(404, "not_found", "This event is no longer stored.")
    return _serve(request, path, content_type)


@signed_media
def thumbnail(request, params, pk: int):
    return _event_file(request, pk, "thumbnail_path", "image/jpeg")


@signed_media
def mjpeg(request, params, pk: int):
    response = _event_file(request, pk, "video_path", "video/x-motion-jpeg")
    if response.status_code < 300 and params.get("fps"):
        response["X-Frame-Rate"] = params["fps"]
    return response


@signed_media
def aac(request, params, pk: int):
    return _event_file(request, pk, "audio_path", "audio/aac")
