"""Signed media URLs: HMAC-SHA256 over the URL's path and query, with a key id so signing keys
rotate without breaking URLs already handed out, and an absolute expiry.

A signed URL is `<path>?<query>&kid=<key id>&expires=<unix s>&sig=<hex>`; the signature covers
`<path>?<everything before "&sig=">`, so altering any part (the playlist's starttime_epoch and
endtime_epoch included) or appending to it breaks it. The host is not signed, so the same URL
works behind a CDN or another public address.

The segments of a playlist share one signature instead (see `segment_resource`): it covers the
playlist's directory, its time window and expiry, and each segment URL carries it with the
window as `s=<start>&e=<end>`. The media view serves a segment under such a signature only
when the segment belongs to that device and channel and lies in the window."""
import hashlib
import hmac
from functools import cache
from urllib.parse import parse_qsl, urlencode

from django.conf import settings

from localcloud import clock


class BadSignature(Exception):
    pass


@cache
def _parse_keys(spec: str) -> tuple[tuple[str, bytes], ...]:
    keys = []
    for item in spec.split(","):
        kid, sep, secret = item.strip().partition(":")
        if sep and kid and secret:
            keys.append((kid, secret.encode()))
    if not keys:
        raise ValueError("LOCALCLOUD_MEDIA_KEYS holds no kid:secret pair")
    return tuple(keys)


def _keys() -> tuple[tuple[str, bytes], ...]:
    return _parse_keys(settings.LOCALCLOUD_MEDIA_KEYS)


def _mac(secret: bytes, message: str) -> str:
    return hmac.digest(secret, message.encode(), "sha256").hex()


def public_url(path: str) -> str:
    return settings.LOCALCLOUD_PUBLIC_URL.rstrip("/") + path


@cache
def _pads(secret: bytes) -> tuple:
    """HMAC-SHA256's keyed inner and outer hash states (RFC 2104), computed once per key."""
    if len(secret) > 64:
        secret = hashlib.sha256(secret).digest()
    secret = secret.ljust(64, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in secret)),
            hashlib.sha256(bytes(b ^ 0x5C for b in secret)))


class Signer:
    """Signs many URLs with the newest key (a playlist signs thousands of segment URLs)."""

    def __init__(self, expires: int):
        self.kid, self.secret = _keys()[0]
        self.expires = int(expires)
        # Copying the two keyed SHA-256 states is the cheapest HMAC per URL in Python: about
        # half the time of hmac.HMAC.copy(), a third of keying hmac.digest() each time.
        self._inner, self._outer = _pads(self.secret)
        self.suffix = f"kid={self.kid}&expires={self.expires}"

    def mac(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def sign(self, path: str, query: str = "") -> str:
        """`path?query&kid=..&expires=..&sig=..` (relative; see public_url)."""
        unsigned = f"{path}?{query}&{self.suffix}" if query else f"{path}?{self.suffix}"
        return f"{unsigned}&sig={self.mac(unsigned.encode())}"


def segment_resource(directory: str) -> str:
    """What a playlist's segment signature covers in place of a path: `<directory>*.ts`, the
    directory being the playlist's (`/media/v1/<product>/<device>/<channel>/`). No URL has
    this path, so such a signature is no signature of any single URL, and the reverse."""
    return f"{directory}*.ts"


def signed_url(path: str, params: dict | None = None, *, expires: int) -> str:
    return public_url(Signer(expires).sign(path, urlencode(params or {})))


def verify(path: str, raw_query: str) -> dict[str, str]:
    """Check a signed URL's path and raw query string; return its parameters (without kid,
    expires, sig). Raises BadSignature for anything unsigned, altered, unknown-key or expired."""
    prefix, sep, sig = raw_query.rpartition("&sig=")
    if not sep or not sig:
        raise BadSignature("the address is not signed")
    try:
        pairs = parse_qsl(prefix, keep_blank_values=True, strict_parsing=True)
    except ValueError as exc:
        raise BadSignature("the address is malformed") from exc
    params = dict(pairs)
    if len(params) != len(pairs):
        raise BadSignature("the address repeats a parameter")
    secret = dict(_keys()).get(params.pop("kid", ""))
    if secret is None:
        raise BadSignature("the address was signed with an unknown key")
    # Constant-time comparison: a byte-by-byte compare would leak how much of a guess is right.
    if not hmac.compare_digest(_mac(secret, f"{path}?{prefix}"), sig):
        raise BadSignature("the signature does not match the address")
    try:
        expires = int(params.pop("expires", ""))
    except ValueError as exc:
        raise BadSignature("the address has no expiry") from exc
    if clock.now() > expires:
        raise BadSignature("the address has expired")
    params["_expires"] = str(expires)
    return params


def signed_append(url: str, *, expires: int) -> str:
    """Sign an absolute URL of ours (GenerateSignedVideoURL): the URL as given plus kid,
    expires and sig. The caller has checked that it starts with LOCALCLOUD_PUBLIC_URL."""
    base = settings.LOCALCLOUD_PUBLIC_URL.rstrip("/")
    rest = url[len(base):]
    path, _, query = rest.partition("?")
    return base + Signer(expires).sign(path, query)
