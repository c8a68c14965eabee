"""Device request authentication: HMAC-SHA256 with the device's PSK over method, path, query,
timestamp, nonce and body hash (docs/device-api.md), stale timestamps and replayed nonces
refused."""
import hashlib
import hmac
import re
from functools import cache

from django.db import IntegrityError, connection, transaction

from localcloud import clock, sql
from localcloud.device.services import DeviceApiError
from localcloud.models import Device, DeviceNonce
from localcloud.products import device_find

MAX_SKEW_SECONDS = 300
NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")


def string_to_sign(*, method: str, path: str, query: str, timestamp: str, nonce: str,
                   body_sha256: str) -> str:
    return "\n".join([method.upper(), path, query, timestamp, nonce, body_sha256])


def signature(psk: str, message: str) -> str:
    return hmac.new(psk.encode(), message.encode(), hashlib.sha256).hexdigest()


def _unauthorized(code: str, message: str, **extra) -> DeviceApiError:
    return DeviceApiError(401, code, message, **extra)


def authenticate(*, method: str, path: str, query: str, headers, body_sha256: str) -> Device:
    product_id = headers.get("X-Device-Product", "")
    device_name = headers.get("X-Device-Name", "")
    timestamp = headers.get("X-Device-Timestamp", "")
    nonce = headers.get("X-Device-Nonce", "")
    sig = headers.get("X-Device-Signature", "")
    if not (product_id and device_name and timestamp and nonce and sig):
        raise _unauthorized("bad_signature",
                            "The request must carry X-Device-Product, X-Device-Name, "
                            "X-Device-Timestamp, X-Device-Nonce and X-Device-Signature.")
    device = device_find(product_id=product_id, device_name=device_name)
    if device is None:
        raise _unauthorized("unknown_device", f"Device {product_id}/{device_name} does not exist.")
    now = clock.now()
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise _unauthorized("stale_timestamp",
                            f"X-Device-Timestamp must be within {MAX_SKEW_SECONDS} s of the "
                            f"cloud's clock.", server_time=now)
    if not NONCE_RE.match(nonce):
        raise _unauthorized("bad_signature", "X-Device-Nonce must be 8-64 characters from "
                                             "A-Z a-z 0-9 _ -.")
    expected = signature(device.psk, string_to_sign(method=method, path=path, query=query,
                                                    timestamp=timestamp, nonce=nonce,
                                                    body_sha256=body_sha256))
    if not hmac.compare_digest(expected, sig.lower()):
        raise _unauthorized("bad_signature", "The signature does not match the request.")
    # Record the nonce only once the signature is valid, in its own transaction: it stays
    # spent even when the call itself is then refused.
    try:
        if connection.in_atomic_block:
            with transaction.atomic():  # a savepoint, so a replay leaves the caller usable
                _nonce_spend(device, nonce, now)
        else:
            # In autocommit a single INSERT is its own transaction: committed at once, without
            # the separate COMMIT round trip an atomic block would cost.
            _nonce_spend(device, nonce, now)
    except IntegrityError:
        raise _unauthorized("replay", "This nonce was already used; sign every request with a "
                                      "fresh nonce.") from None
    if device.enable_state != 1:
        raise DeviceApiError(403, "device_disabled", "This device is disabled.")
    return device


# Every device request records its nonce: hand-written SQL (see localcloud.sql).
@cache
def _nonce_sql() -> str:
    return (f"INSERT INTO {sql.table(DeviceNonce)} (device_id, nonce, seen_at) "  # noqa: S608
            "VALUES (%s, %s, %s)")


def _nonce_spend(device: Device, nonce: str, now: int) -> None:
    sql.execute(_nonce_sql(), [device.pk, nonce, now])
