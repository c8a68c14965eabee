"""A structural check of an uploaded MPEG-TS segment, without decoding it: the transport stream
is intact, its programme carries H.264 or HEVC video, the segment starts with a keyframe (the
parameter sets and an IDR/IRAP picture, so a player can start there), and how long it lasts
from the video's timestamps.

Ingest must keep up with hundreds of segments a second on two cores. Opening the segment with
FFmpeg and decoding a frame cost about 4 ms of CPU per upload, more than everything else an
upload does; this reads the few headers that matter in about a tenth of that. Tencent's cloud
does not decode uploads either; it stores what the camera's SDK sends."""
from dataclasses import dataclass
from functools import cache

PACKET = 188
SYNC = 0x47
PTS_CLOCK = 90_000
PTS_WRAP = 1 << 33
# stream_type in the PMT (ISO/IEC 13818-1 table 2-34).
H264, HEVC = 0x1B, 0x24
# NAL unit types: what a decoder needs before it can show the first picture.
H264_SPS, H264_PPS, H264_IDR = 7, 8, 5
HEVC_VPS, HEVC_SPS, HEVC_PPS = 32, 33, 34
HEVC_IRAP = range(16, 24)


class NotMpegTs(Exception):
    """The bytes are not the segment the device API expects; the message says what is wrong."""


@dataclass(frozen=True)
class TsVideo:
    codec: str  # "h264" or "hevc"
    duration_ms: int
    frames: int


def _payload(packet: bytes) -> bytes:
    control = packet[3] & 0x30
    if control == 0x10:
        return packet[4:]
    if control == 0x30:
        return packet[5 + packet[4]:]
    return b""  # adaptation field only (or reserved): no payload


def _section(data: bytes, pid: int, table_id: int, what: str) -> bytes:
    """The first PSI section of `pid` (PAT or PMT), from the packet that starts it; sections of
    a camera's PAT and PMT fit in one packet."""
    hi, lo = pid >> 8, pid & 0xFF
    for offset in range(0, len(data), PACKET):
        b1 = data[offset + 1]
        if b1 & 0x40 and b1 & 0x1F == hi and data[offset + 2] == lo:
            payload = _payload(data[offset:offset + PACKET])
            if payload:
                section = payload[1 + payload[0]:]
                if len(section) >= 3 and section[0] == table_id:
                    length = ((section[1] & 0x0F) << 8) | section[2]
                    return section[3:3 + length]
    raise NotMpegTs(f"no {what}")


def _video_pid(data: bytes) -> tuple[int, str]:
    pat = _section(data, 0, 0x00, "programme table (PAT)")
    # transport_stream_id, version, section numbers (5 bytes); 4-byte entries; CRC (4 bytes).
    pmt_pid = next((((pat[i + 2] & 0x1F) << 8) | pat[i + 3]
                    for i in range(5, len(pat) - 4 - 3, 4)
                    if (pat[i] << 8 | pat[i + 1]) != 0), None)
    if pmt_pid is None:
        raise NotMpegTs("the programme table lists no programme")
    pmt = _section(data, pmt_pid, 0x02, "programme map (PMT)")
    # programme number, version, section numbers (5); PCR PID (2); programme info (2 + n).
    i = 9 + (((pmt[7] & 0x0F) << 8) | pmt[8]) if len(pmt) > 9 else len(pmt)
    while i + 5 <= len(pmt) - 4:
        stream_type, pid = pmt[i], ((pmt[i + 1] & 0x1F) << 8) | pmt[i + 2]
        if stream_type in (H264, HEVC):
            return pid, "h264" if stream_type == H264 else "hevc"
        i += 5 + (((pmt[i + 3] & 0x0F) << 8) | pmt[i + 4])
    raise NotMpegTs("no H.264 or HEVC video stream")


def _pes_start(payload: bytes) -> tuple[int | None, int]:
    """(PTS or None, where the elementary stream starts) of a PES packet's first bytes."""
    if len(payload) < 9 or payload[:3] != b"\x00\x00\x01":
        raise NotMpegTs("a video packet does not start a PES packet")
    body = 9 + payload[8]
    if payload[7] & 0x80 and len(payload) >= 14:
        b = payload[9:14]
        pts = ((b[0] >> 1) & 0x07) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1
        return pts, body
    return None, body


def _nal_types(stream: bytes, codec: str) -> set[int]:
    types, at = set(), stream.find(b"\x00\x00\x01")
    while at != -1 and at + 3 < len(stream):
        header = stream[at + 3]
        types.add(header & 0x1F if codec == "h264" else (header >> 1) & 0x3F)
        at = stream.find(b"\x00\x00\x01", at + 3)
    return types


def _check_keyframe(first_unit: bytes, codec: str) -> None:
    types = _nal_types(first_unit, codec)
    if codec == "h264":
        ok = {H264_SPS, H264_PPS, H264_IDR} <= types
    else:
        ok = {HEVC_VPS, HEVC_SPS, HEVC_PPS} <= types and any(t in HEVC_IRAP for t in types)
    if not ok:
        raise NotMpegTs("the segment does not start with a keyframe (parameter sets and an "
                        "IDR picture)")


@cache
def _start_table(hi: int) -> bytes:
    """bytes.translate table: 1 for a byte 1 that starts a PES of a PID with top bits `hi`
    (the transport-error and priority bits ignored), else 0."""
    return bytes(1 if b & 0x5F == 0x40 | hi else 0 for b in range(256))


def _first_unit(data: bytes, hi: int, lo: int, first: int, end: int) -> bytes:
    """The elementary stream of the video's first PES packet: packets first..end-1 of its PID."""
    parts = []
    for n in range(first, end):
        offset = n * PACKET
        if data[offset + 2] == lo and data[offset + 1] & 0x1F == hi:
            payload = _payload(data[offset:offset + PACKET])
            parts.append(payload[_pes_start(payload)[1]:] if n == first else payload)
    return b"".join(parts)


def scan(data: bytes) -> TsVideo:
    if not data or len(data) % PACKET:
        raise NotMpegTs(f"an MPEG-TS stream is a whole number of {PACKET}-byte packets")
    packets = len(data) // PACKET
    if data[::PACKET].count(SYNC) != packets:
        raise NotMpegTs("the transport stream lost its sync bytes")
    pid, codec = _video_pid(data)
    hi, lo = pid >> 8, pid & 0xFF
    pids_low = data[2::PACKET]
    # Byte 1 of each packet, turned into 1 where it says "a PES packet starts here" for a PID
    # with the video's top bits: find() then visits the ~200 packets that start a frame (or an
    # audio PES) instead of looping over all ~1,400 in Python.
    marks = data[1::PACKET].translate(_start_table(hi))
    starts, units = [], []  # PTS of each picture; packet numbers of the pictures' first packets
    n = marks.find(1)
    while n != -1:
        if pids_low[n] == lo:
            payload = _payload(data[n * PACKET:(n + 1) * PACKET])
            pts, _body = _pes_start(payload)
            if pts is not None:
                starts.append(pts)
            units.append(n)
        n = marks.find(1, n + 1)
    if not units:
        raise NotMpegTs("the video stream holds no picture")
    first_unit = _first_unit(data, hi, lo, units[0], units[1] if len(units) > 1 else packets)
    if not starts:
        raise NotMpegTs("the video stream holds no timestamped picture")
    _check_keyframe(first_unit, codec)
    starts.sort()
    if starts[-1] - starts[0] > PTS_WRAP // 2:  # the 33-bit clock wrapped inside the segment
        starts = sorted(p + PTS_WRAP if p < PTS_WRAP // 2 else p for p in starts)
    steps = [b - a for a, b in zip(starts, starts[1:], strict=False) if b > a]
    frame = min(steps) if steps else 0
    return TsVideo(codec=codec, frames=len(starts),
                   duration_ms=(starts[-1] - starts[0] + frame) * 1000 // PTS_CLOCK)
