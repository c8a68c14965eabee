"""A minimal TC3-HMAC-SHA256 caller of the cloud API, for the one thing the simulator asks the
cloud: a device's PSK (DescribeDevice → DevicePsk).

localcloud is the cloud, so it may speak its own wire protocol by hand; the official SDK stays
inside portal/iotvideo (the import contract forbids it here)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

SERVICE = "iotvideo"
VERSION = "2021-11-25"


class CloudApiError(Exception):
    """The cloud answered with an error (or could not be reached); `code` is Tencent's."""

    def __init__(self, code: str, message: str, request_id: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.request_id = request_id


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_headers(*, action: str, body: bytes, host: str, secret_id: str, secret_key: str,
                timestamp: int, region: str = "ap-guangzhou") -> dict[str, str]:
    """The headers of a TC3-signed POST / (Tencent Cloud API v3)."""
    date = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    content_type = "application/json"
    canonical_request = "\n".join([
        "POST", "/", "",
        f"content-type:{content_type}\nhost:{host}\n",
        "content-type;host",
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{date}/{SERVICE}/tc3_request"
    string_to_sign = "\n".join([
        "TC3-HMAC-SHA256", str(timestamp), scope,
        hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
    ])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), SERVICE), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return {
        "Authorization": (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
                          f"SignedHeaders=content-type;host, Signature={signature}"),
        "Content-Type": content_type,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": VERSION,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Region": region,
    }


def call(*, cloud: str, action: str, params: dict, secret_id: str, secret_key: str,
         timeout: float = 15.0) -> dict:
    """POST one action to the cloud at `cloud` (http://host:port) and return its Response
    fields; raise CloudApiError with the cloud's code and message."""
    parts = urlsplit(cloud)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CloudApiError("InvalidParameter", f"The cloud address `{cloud}` is not an http(s) URL.")
    body = json.dumps(params, separators=(",", ":")).encode("utf-8")
    headers = tc3_headers(action=action, body=body, host=parts.netloc, secret_id=secret_id,
                          secret_key=secret_key, timestamp=int(time.time()))
    try:
        response = requests.post(f"{parts.scheme}://{parts.netloc}/", data=body,
                                 headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise CloudApiError("NetworkError", f"Cannot reach the cloud at {cloud}: {exc}")
    try:
        payload = response.json()["Response"]
    except (ValueError, KeyError, TypeError):
        raise CloudApiError("InternalError",
                            f"The cloud answered HTTP {response.status_code} without a Tencent "
                            f"API response: {response.text[:200]!r}")
    if "Error" in payload:
        error = payload["Error"]
        raise CloudApiError(error.get("Code", "InternalError"), error.get("Message", ""),
                            payload.get("RequestId", ""))
    return payload


def device_psk(*, cloud: str, product_id: str, device_name: str, secret_id: str,
               secret_key: str) -> str:
    """The device's PSK as DescribeDevice hands it out."""
    answer = call(cloud=cloud, action="DescribeDevice",
                  params={"ProductId": product_id, "DeviceName": device_name},
                  secret_id=secret_id, secret_key=secret_key)
    psk = answer.get("DevicePsk")
    if not psk:
        raise CloudApiError("ResourceNotFound",
                            f"The cloud returned no PSK for device {product_id}/{device_name}.")
    return psk
