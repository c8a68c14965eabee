"""The camera's side of localcloud's device API (docs/device-api.md): PSK-signed heartbeats,
cloud-storage state, segment, event and picture-stream uploads."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests

PREFIX = "/device/v1"


class DeviceApiError(Exception):
    """The cloud refused a call (`status` 4xx with its `code` and reason), or could not be
    reached / failed (`status` 0 or 5xx)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{message} ({code}, HTTP {status})" if status else message)
        self.status = status
        self.code = code
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status >= 500


@dataclass(frozen=True)
class CloudStorageState:
    status: int  # 1 a package is in force, 0 none
    type: int  # 1 full-time, 2 event, 0 none
    package_id: str
    expire_time: int
    shift_duration: int
    server_time: int


def sign(*, method: str, path: str, query: str, body: bytes, psk: str, timestamp: int,
         nonce: str) -> str:
    string_to_sign = "\n".join([method.upper(), path, query, str(timestamp), nonce,
                                hashlib.sha256(body).hexdigest()])
    return hmac.new(psk.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class DeviceClient:
    """One device talking to one cloud. Calls are safe to repeat (uploads are idempotent on
    the cloud's side), so transient failures are retried with a fresh nonce."""

    def __init__(self, *, cloud: str, product_id: str, device_name: str, psk: str,
                 timeout: float = 30.0, retries: int = 3):
        parts = urlsplit(cloud)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"The cloud address `{cloud}` is not an http(s) URL.")
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.product_id = product_id
        self.device_name = device_name
        self.psk = psk
        self.timeout = timeout
        self.retries = retries
        # The difference between the cloud's clock and ours, learnt from its answers, so a
        # device with a skewed clock still signs fresh timestamps (as real cameras do via NTP).
        self.clock_offset = 0
        self.session = requests.Session()

    # -- transport -------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, params: dict | None = None,
                 body: bytes = b"", content_type: str | None = None) -> dict:
        query = urlencode(params or {})
        url = f"{self.base}{PREFIX}{path}" + (f"?{query}" if query else "")
        attempt = 0
        while True:
            attempt += 1
            now = int(time.time()) + self.clock_offset
            nonce = secrets.token_hex(16)
            headers = {
                "X-Device-Product": self.product_id,
                "X-Device-Name": self.device_name,
                "X-Device-Timestamp": str(now),
                "X-Device-Nonce": nonce,
                "X-Device-Signature": sign(method=method, path=f"{PREFIX}{path}", query=query,
                                           body=body, psk=self.psk, timestamp=now, nonce=nonce),
            }
            if content_type:
                headers["Content-Type"] = content_type
            try:
                response = self.session.request(method, url, data=body or None, headers=headers,
                                                timeout=self.timeout)
            except requests.RequestException as exc:
                error = DeviceApiError(0, "network_error",
                                       f"Cannot reach the cloud at {self.base}: {exc}")
            else:
                error = self._error_of(response)
                if error is None:
                    return response.json() if response.content else {}
                if error.code == "stale_timestamp" and attempt == 1:
                    # Correct the clock from the cloud's and sign again once.
                    server_time = self._json(response).get("error", {}).get("server_time")
                    if isinstance(server_time, int):
                        self.clock_offset = server_time - int(time.time())
                        continue
            if not error.retryable or attempt > self.retries:
                raise error
            time.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))

    @staticmethod
    def _json(response: requests.Response) -> dict:
        try:
            payload = response.json()
        except ValueError:
            return {}
        return payload if isinstance(payload, dict) else {}

    def _error_of(self, response: requests.Response) -> DeviceApiError | None:
        if response.status_code < 400:
            return None
        error = self._json(response).get("error")
        if isinstance(error, dict) and error.get("message"):
            return DeviceApiError(response.status_code, str(error.get("code", "error")),
                                  str(error["message"]))
        return DeviceApiError(response.status_code, "http_error",
                              f"The cloud answered HTTP {response.status_code}: "
                              f"{response.text[:200]!r}")

    # -- calls -----------------------------------------------------------------------------
    def heartbeat(self) -> int:
        answer = self._request("POST", "/heartbeat", body=b"{}", content_type="application/json")
        server_time = answer.get("server_time")
        if isinstance(server_time, int):
            self.clock_offset = server_time - int(time.time())
        return int(answer.get("login_time", 0))

    def cloud_storage(self, *, channel: int = 0) -> CloudStorageState:
        answer = self._request("GET", "/cloud-storage", params={"channel": channel})
        return CloudStorageState(
            status=int(answer.get("status", 0)), type=int(answer.get("type", 0)),
            package_id=str(answer.get("package_id", "")),
            expire_time=int(answer.get("expire_time", 0)),
            shift_duration=int(answer.get("shift_duration", 0)),
            server_time=int(answer.get("server_time", 0)),
        )

    def upload_segment(self, *, data: bytes, start_time: int, end_time: int, channel: int = 0,
                       event_id: str | None = None, event_start: int | None = None) -> dict:
        params: dict = {"channel": channel, "start_time": start_time, "end_time": end_time}
        if event_id is not None:
            params.update(event_id=event_id, event_start=event_start)
        return self._request("PUT", "/segments", params=params, body=data,
                             content_type="video/mp2t")

    def _json_call(self, path: str, payload: dict) -> dict:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return self._request("POST", path, body=body, content_type="application/json")

    def open_event(self, *, event_id: str, start_time: int, data: str = "",
                   channel: int = 0) -> dict:
        return self._json_call("/events/open", {"channel": channel, "event_id": event_id,
                                                "start_time": start_time, "data": data})

    def close_event(self, *, event_id: str, start_time: int, end_time: int,
                    upload_status: str = "Finished", channel: int = 0) -> dict:
        return self._json_call("/events/close", {
            "channel": channel, "event_id": event_id, "start_time": start_time,
            "end_time": end_time, "upload_status": upload_status,
        })

    def upload_thumbnail(self, *, event_id: str, start_time: int, jpeg: bytes,
                         channel: int = 0) -> dict:
        return self._request("PUT", "/events/thumbnail",
                             params={"channel": channel, "event_id": event_id,
                                     "start_time": start_time},
                             body=jpeg, content_type="image/jpeg")

    def upload_picture_event(self, *, event_id: str, start_time: int, end_time: int, fps: int,
                             video: bytes, audio: bytes, thumbnail: bytes | None = None,
                             data: str = "", channel: int = 0) -> dict:
        fields = {"channel": str(channel), "event_id": event_id, "start_time": str(start_time),
                  "end_time": str(end_time), "fps": str(fps), "data": data}
        files = {"video": ("video.mjpg", video, "video/x-motion-jpeg"),
                 "audio": ("audio.aac", audio, "audio/aac")}
        if thumbnail:
            files["thumbnail"] = ("thumbnail.jpg", thumbnail, "image/jpeg")
        # Encode the multipart body once and sign exactly those bytes.
        prepared = requests.Request("POST", "http://x/", data=fields, files=files).prepare()
        return self._request("POST", "/picture-events", body=prepared.body,
                             content_type=prepared.headers["Content-Type"])
