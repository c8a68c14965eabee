"""gzip of `parts[0] + q + parts[1] + q + … + parts[-1] + q + tail` where the parts are fixed
and only q (a playlist's signed query string) changes from one request to the next.

A 24 h playlist is 1.3 MB of text; compressing it again for every newly signed address costs
about 10 ms of CPU at gzip level 1, most of a request's budget. But past its first occurrence q
is just a back-reference to the previous line, whose distance depends only on the lengths of q
and of the parts. So the deflate stream after the first q can be built once per (parts, len(q))
and reused: each request compresses only the first part and its q with zlib (byte-aligned by a
sync flush), appends the stored block and writes the gzip trailer (CRC-32 over the text, which
is ~20 times cheaper than compressing it). The output is a standard gzip member; tests
decompress it and compare with the text."""
import struct
import zlib

MAX_DISTANCE = 32768  # deflate's window
MAX_MATCH = 258
MIN_MATCH = 3

_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, OS unknown

# Deflate's length and distance codes: (base, extra bits) for each code (RFC 1951, 3.2.5).
_LENGTHS = [(3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0), (10, 0), (11, 1), (13, 1),
            (15, 1), (17, 1), (19, 2), (23, 2), (27, 2), (31, 2), (35, 3), (43, 3), (51, 3),
            (59, 3), (67, 4), (83, 4), (99, 4), (115, 4), (131, 5), (163, 5), (195, 5), (227, 5),
            (258, 0)]
_DISTANCES = [(1, 0), (2, 0), (3, 0), (4, 0), (5, 1), (7, 1), (9, 2), (13, 2), (17, 3), (25, 3),
              (33, 4), (49, 4), (65, 5), (97, 5), (129, 6), (193, 6), (257, 7), (385, 7),
              (513, 8), (769, 8), (1025, 9), (1537, 9), (2049, 10), (3073, 10), (4097, 11),
              (6145, 11), (8193, 12), (12289, 12), (16385, 13), (24577, 13)]


def _huffman(code: int, bits: int) -> str:
    # Huffman codes go into the stream most significant bit first.
    return format(code, f"0{bits}b")


def _extra(value: int, bits: int) -> str:
    # Extra bits go in least significant bit first.
    return format(value, f"0{bits}b")[::-1] if bits else ""


def _fixed_symbol(symbol: int) -> str:
    """The fixed Huffman code of a literal/length symbol (RFC 1951, 3.2.6)."""
    if symbol < 144:
        return _huffman(0x30 + symbol, 8)
    if symbol < 256:
        return _huffman(0x190 + symbol - 144, 9)
    if symbol < 280:
        return _huffman(symbol - 256, 7)
    return _huffman(0xC0 + symbol - 280, 8)


_LITERAL = [_fixed_symbol(b) for b in range(256)]
_END_OF_BLOCK = _fixed_symbol(256)


def _length_bits(length: int) -> str:
    for code in range(len(_LENGTHS) - 1, -1, -1):
        base, extra = _LENGTHS[code]
        if length >= base:
            return _fixed_symbol(257 + code) + _extra(length - base, extra)
    raise ValueError(length)


def _distance_bits(distance: int) -> str:
    for code in range(len(_DISTANCES) - 1, -1, -1):
        base, extra = _DISTANCES[code]
        if distance >= base:
            return _huffman(code, 5) + _extra(distance - base, extra)
    raise ValueError(distance)


class _Writer:
    """Bits of one fixed-Huffman block, as a list of "0"/"1" strings in stream order."""

    def __init__(self):
        self.bits = ["1", "10"]  # BFINAL = 1, then BTYPE = 01 (fixed codes), LSB first
        self._matches: dict[tuple[int, int], str] = {}

    def literals(self, data: bytes) -> None:
        self.bits.extend(_LITERAL[b] for b in data)

    def match(self, length: int, distance: int) -> None:
        code = self._matches.get((length, distance))
        if code is None:
            code = self._matches[(length, distance)] = _match_bits(length, distance)
        self.bits.append(code)

    def finish(self) -> bytes:
        self.bits.append(_END_OF_BLOCK)
        text = "".join(self.bits)
        text += "0" * (-len(text) % 8)
        # Deflate packs bits from each byte's least significant bit: reversed, the stream is
        # one little-endian binary number.
        return int(text[::-1], 2).to_bytes(len(text) // 8, "little")


def _match_bits(length: int, distance: int) -> str:
    if distance > MAX_DISTANCE:
        raise ValueError("distance beyond deflate's window")
    dist = _distance_bits(distance)
    pieces = []
    while length:
        # Split so that no piece is shorter than a match may be.
        step = min(length, MAX_MATCH)
        if 0 < length - step < MIN_MATCH:
            step = length - MIN_MATCH
        pieces += [_length_bits(step), dist]
        length -= step
    return "".join(pieces)


def _common_ends(a: bytes, b: bytes) -> tuple[int, int]:
    """How many bytes a and b share at their beginning, and then at their end."""
    if len(a) == len(b):
        # Integer XOR finds the first and last differing byte in C, not byte by byte.
        if a == b:
            return len(a), 0
        size = len(a)
        head = size - ((int.from_bytes(a) ^ int.from_bytes(b)).bit_length() + 7) // 8
        end = size - ((int.from_bytes(a, "little") ^ int.from_bytes(b, "little"))
                      .bit_length() + 7) // 8
        return head, end
    n = min(len(a), len(b))
    head = 0
    while head < n and a[head] == b[head]:
        head += 1
    end = 0
    while end < n - head and a[-1 - end] == b[-1 - end]:
        end += 1
    return head, end


def tail_block(parts: list[bytes], q_length: int, tail: bytes) -> bytes:
    """The final deflate block for `parts[1:]` (each followed by a q of `q_length` bytes) and
    `tail`, assuming the stream so far ended with parts[0] + q. Each part is coded against the
    previous one: their common beginning and end are back-references, and its q is one more
    back-reference, to the previous q. Raises ValueError when a part is too long for that."""
    if q_length < MIN_MATCH:
        raise ValueError("q is too short to be a back-reference")
    writer = _Writer()
    literals, match, bits = writer.literals, writer.match, writer.bits
    # A day's parts differ in a digit or two: the same codes repeat for most of them.
    coded: dict[tuple, str] = {}
    previous = parts[0]
    for part in parts[1:]:
        head, end = _common_ends(part, previous)
        if head < MIN_MATCH:
            head = 0
        middle = part[head:len(part) - end]
        key = (head, len(previous), middle, end, len(part))
        code = coded.get(key)
        if code is None:
            start = len(bits)
            if head:
                # From a byte of this part to the same byte of the previous one.
                match(head, len(previous) + q_length)
            literals(middle)
            # The part's common end and its q both repeat what lies len(part) + q_length back.
            match(end + q_length, len(part) + q_length)
            code = coded[key] = "".join(bits[start:])
            del bits[start:]
        bits.append(code)
        previous = part
    literals(tail)
    return writer.finish()


def compress(parts: list[bytes], q: bytes, tail: bytes, block: bytes) -> tuple[bytes, bytes]:
    """(text, gzip of text) for text = q.join(parts) + q + tail, `block` being
    tail_block(parts, len(q), tail)."""
    text = q.join(parts) + q + tail
    head = zlib.compressobj(1, zlib.DEFLATED, -15)
    first = head.compress(parts[0] + q) + head.flush(zlib.Z_SYNC_FLUSH)
    trailer = struct.pack("<II", zlib.crc32(text), len(text) & 0xFFFFFFFF)
    return text, b"".join([_GZIP_HEADER, first, block, trailer])
