"""HLS VOD playlists over a device's segments, with every segment URL signed until the
playlist's own expiry."""
import math
from datetime import UTC, datetime

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
    rows = list(
        # The lower bound on start_time (segments last at most a minute) lets the database
        # walk the (device, channel, start_time) index instead of scanning the device's rows.
        Segment.objects.filter(device_id=device_id, channel_id=channel_id,
                               start_time__gt=start - MAX_SEGMENT_SECONDS,
                               start_time__lt=end, end_time__gt=start)
        .order_by("start_time").values_list("pk", "start_time", "end_time", "duration_ms")
    )
    if not rows:
        return None
    signer = Signer(expires)
    base = public_url("")
    target = max(math.ceil(r[3] / 1000) for r in rows)
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-PLAYLIST-TYPE:VOD",
             f"#EXT-X-TARGETDURATION:{max(target, 1)}", "#EXT-X-MEDIA-SEQUENCE:0"]
    previous_end = None
    for pk, seg_start, seg_end, duration_ms in rows:
        if previous_end is None:
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_program_date_time(seg_start)}")
        elif seg_start > previous_end + GAP_SLACK:
            lines.append("#EXT-X-DISCONTINUITY")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{_program_date_time(seg_start)}")
        lines.append(f"#EXTINF:{duration_ms / 1000:.3f},")
        lines.append(base + signer.sign(segment_path(pk)))
        previous_end = seg_end
    lines.append("#EXT-X-ENDLIST")
    lines.append("")
    return "\n".join(lines)
