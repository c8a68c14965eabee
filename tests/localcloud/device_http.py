"""Test helpers for localcloud's device side: provision products/devices/packages through the
official SDK, and make raw PSK-signed device requests (tests need the raw answers: status codes
and error bodies, tampered signatures, replays)."""
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import requests
from tencentcloud.iotvideo.v20211125 import models


def sdk_call(client, action: str, **params) -> dict:
    """Call `action` through the official SDK; the answer as a dict of the SDK's fields."""
    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    response = getattr(client, action)(request)
    return json.loads(response.to_json_string())


@dataclass
class Camera:
    base: str
    product_id: str
    device_name: str
    psk: str

    def request(self, method: str, path: str, *, params: dict | None = None, body: bytes = b"",
                content_type: str | None = None, timestamp: int | None = None,
                nonce: str | None = None, psk: str | None = None, sign_path: str | None = None,
                headers: dict | None = None) -> requests.Response:
        query = urlencode(params or {})
        full_path = f"/device/v1{path}"
        timestamp = int(time.time()) if timestamp is None else timestamp
        nonce = nonce or secrets.token_hex(12)
        message = "\n".join([method, sign_path or full_path, query, str(timestamp), nonce,
                             hashlib.sha256(body).hexdigest()])
        signature = hmac.new((psk or self.psk).encode(), message.encode(),
                             hashlib.sha256).hexdigest()
        sent = {
            "X-Device-Product": self.product_id, "X-Device-Name": self.device_name,
            "X-Device-Timestamp": str(timestamp), "X-Device-Nonce": nonce,
            "X-Device-Signature": signature,
        }
        if content_type:
            sent["Content-Type"] = content_type
        sent.update(headers or {})
        url = self.base + full_path + (f"?{query}" if query else "")
        return requests.request(method, url, data=body, headers=sent, timeout=30)

    # The calls of docs/device-api.md
    def heartbeat(self, **kw):
        return self.request("POST", "/heartbeat", **kw)

    def state(self, channel: int = 0):
        return self.request("GET", "/cloud-storage", params={"channel": channel})

    def segment(self, start: int, end: int, body: bytes, *, channel: int = 0, event=None):
        params = {"channel": channel, "start_time": start, "end_time": end}
        if event:
            params.update(event_id=event[0], event_start=event[1])
        return self.request("PUT", "/segments", params=params, body=body,
                            content_type="video/mp2t")

    def open_event(self, event_id: str, start: int, *, data: str = "", channel: int = 0):
        body = json.dumps({"channel": channel, "event_id": event_id, "start_time": start,
                           "data": data}).encode()
        return self.request("POST", "/events/open", body=body, content_type="application/json")

    def close_event(self, event_id: str, start: int, end: int, *, status: str = "Finished",
                    channel: int = 0, **extra):
        body = json.dumps({"channel": channel, "event_id": event_id, "start_time": start,
                           "end_time": end, "upload_status": status, **extra}).encode()
        return self.request("POST", "/events/close", body=body, content_type="application/json")

    def thumbnail(self, event_id: str, start: int, jpeg: bytes, *, channel: int = 0):
        return self.request("PUT", "/events/thumbnail", body=jpeg, content_type="image/jpeg",
                            params={"channel": channel, "event_id": event_id,
                                    "start_time": start})

    def picture_event(self, event_id: str, start: int, end: int, *, video: bytes, audio: bytes,
                      fps: int = 5, thumbnail: bytes | None = None, data: str = ""):
        fields = {"event_id": event_id, "start_time": str(start), "end_time": str(end),
                  "fps": str(fps), "data": data}
        files = {"video": ("v.mjpg", video, "video/x-motion-jpeg"),
                 "audio": ("a.aac", audio, "audio/aac")}
        if thumbnail:
            files["thumbnail"] = ("t.jpg", thumbnail, "image/jpeg")
        prepared = requests.Request("POST", "http://x/", data=fields, files=files).prepare()
        return self.request("POST", "/picture-events", body=prepared.body,
                            content_type=prepared.headers["Content-Type"])


def provision(client, server, *, picture: bool = False, nvr: bool = False,
              package: str | None = None, channel: int = 0) -> Camera:
    """A fresh product with one device (and optionally a package bought for it now)."""
    product = sdk_call(client, "CreateProduct", ProductName=f"t{uuid.uuid4().hex[:8]}",
                       DeviceType=2 if nvr else 1, CategoryId=595 if picture else 0,
                       ProductVaildYears=1, Features=[], ChipOs="linux",
                       ChipManufactureId="ti", ChipId="ti01", ProductDescription="test",
                       EncryptionType=2, NetType="wifi")["Data"]
    product_id = product["ProductId"]
    sdk_call(client, "CreateBatch", ProductId=product_id, DevNum=1, DevPre="cam")
    device = sdk_call(client, "DescribeDevices", ProductId=product_id, Offset=0,
                      Limit=10)["Devices"][0]
    name = device["DeviceName"]
    psk = sdk_call(client, "DescribeDevice", ProductId=product_id, DeviceName=name)["DevicePsk"]
    camera = Camera(base=server.url, product_id=product_id, device_name=name, psk=psk)
    if package:
        buy(client, camera, package, channel=channel)
    return camera


def buy(client, camera: Camera, package: str, *, channel: int = 0, **extra) -> None:
    sdk_call(client, "CreateCloudStorage", ProductId=camera.product_id,
             DeviceName=camera.device_name, PackageId=package, OrderId=uuid.uuid4().hex,
             ChannelId=channel, **extra)
