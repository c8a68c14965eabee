"""HLS VOD playlists over a device's segments, with every segment URL signed until the
playlist's own expiry."""
import math
from datetime import UTC, datetime

from django.db import connections

from localcloud.device.services import MAX_SEGMENT_SECONDS
from localcloud.models import Device, Segment
from localcloud.signing import Signer, public_url

# Segments further apart than this are a gap: the player is told with EXT-X-DISCONTINUITY.
GAP_SLACK = 1


def playlist_path(product_id: str, device_name: str, channel_id: int) -> str:
    return f"/media/v1/{product_id}/{device_name}/{channel_id}/video.m3u8"


def video_url(device: Device, channel_id: int) -> str:
    return public_url(playlist_path(device.product.product_id, device.device_name, channel_id))


def segment_path(pk: int) -> str:
    return f"/media/v1/seg/{pk}.ts"


def _program_date_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def render(*, device_id: int, channel_id: int, start: int, end: int, expires: int) -> str | None:
    """The playlist text, or None when nothing was recorded in [start, end)."""
    query = (
        # The lower bound on start_time (segments last at most a minute) lets the database
        # walk the (device, channel, start_time) index instead of scanning the device's rows.
        Segment.objects.filter(device_id=device_id, channel_id=channel_id,
                               start_time__gt=start - MAX_SEGMENT_SECONDS,
                               start_time__lt=end, end_time__gt=start)
        .order_by("start_time").values_list("pk", "start_time", "end_time", "duration_ms")
    )
    # Plain tuples straight from the cursor: a day is 8,640 rows of four integers, and the
    # ORM's per-row iteration would cost about as much as signing them.
    sql, sql_params = query.query.sql_with_params()
    with connections[query.db].cursor() as cursor:
        cursor.execute(sql, sql_params)
        rows = cursor.fetchall()
    if not rows:
        return None
    signer = Signer(expires)
    mac, suffix = signer.mac, signer.suffix
    base = public_url("")
    target = math.ceil(max(r[3] for r in rows) / 1000)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-PLAYLIST-TYPE:VOD",
             f"#EXT-X-TARGETDURATION:{max(target, 1)}", "#EXT-X-MEDIA-SEQUENCE:0"]
    append = lines.append
    extinf: dict[int, str] = {}  # a day's segments share a handful of durations
    previous_end = None
    for pk, seg_start, seg_end, duration_ms in rows:
        if previous_end is None:
            append(f"#EXT-X-PROGRAM-DATE-TIME:{_program_date_time(seg_start)}")
        elif seg_start > previous_end + GAP_SLACK:
            append("#EXT-X-DISCONTINUITY")
            append(f"#EXT-X-PROGRAM-DATE-TIME:{_program_date_time(seg_start)}")
        line = extinf.get(duration_ms)
        if line is None:
            line = extinf[duration_ms] = f"#EXTINF:{duration_ms / 1000:.3f},"
        append(line)
        # Inline form of Signer.sign(segment_path(pk)): one HMAC over a short message.
        unsigned = f"/media/v1/seg/{pk}.ts?{suffix}"
        append(f"{base}{unsigned}&sig={mac(unsigned.encode())}")
        previous_end = seg_end
    append("#EXT-X-ENDLIST")
    append("")
    return "\n".join(lines)
