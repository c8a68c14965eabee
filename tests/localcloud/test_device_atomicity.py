"""Atomic, idempotent uploads: an interrupted upload leaves nothing visible, a failure while
indexing leaves neither rows nor files, and concurrent repeats store one segment."""
import contextlib
import hashlib
import hmac
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from localcloud import index, storage
from localcloud.device import services
from localcloud.models import Device, Package, Product, RecordingDay, Segment, Span
from tests.localcloud import media_factory as media
from tests.localcloud.device_http import provision, sdk_call


def _day(epoch):
    return datetime.fromtimestamp(epoch, ZoneInfo("Asia/Shanghai")).date().isoformat()


def _files(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, names in os.walk(root) for f in names)


def test_an_upload_cut_off_half_way_leaves_nothing(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time())
    body = media.ts_segment(10, color=33)
    query = f"channel=0&start_time={start}&end_time={start + 10}"
    path, nonce, ts = "/device/v1/segments", "cut-off-upload-1", str(int(time.time()))
    message = "\n".join(["PUT", path, query, ts, nonce, hashlib.sha256(body).hexdigest()])
    sig = hmac.new(camera.psk.encode(), message.encode(), hashlib.sha256).hexdigest()
    head = (f"PUT {path}?{query} HTTP/1.1\r\nHost: {localcloud.endpoint}\r\n"
            f"Content-Type: video/mp2t\r\nContent-Length: {len(body)}\r\n"
            f"X-Device-Product: {camera.product_id}\r\nX-Device-Name: {camera.device_name}\r\n"
            f"X-Device-Timestamp: {ts}\r\nX-Device-Nonce: {nonce}\r\n"
            f"X-Device-Signature: {sig}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", localcloud.port), timeout=10) as conn:
        conn.sendall(head + body[: len(body) // 2])
        conn.shutdown(socket.SHUT_WR)  # the camera loses its connection
        with contextlib.suppress(OSError):
            conn.recv(4096)
    ids = {"ProductId": camera.product_id, "DeviceName": camera.device_name}
    assert sdk_call(sdk_client, "DescribeCloudStorageDate", **ids)["Data"] == []
    assert sdk_call(sdk_client, "DescribeCloudStorageTime", Date=_day(start),
                    **ids)["Data"]["TimeList"] == []
    # No half-written file lingers either (temporary names start with ".partial-").
    assert not any(".partial" in p for p in _files(localcloud.media_root))
    # The retry with the whole body is stored.
    assert camera.segment(start, start + 10, body).status_code == 201
    assert sdk_call(sdk_client, "DescribeCloudStorageTime", Date=_day(start),
                    **ids)["Data"]["TimeList"] == [{"StartTime": start, "EndTime": start + 10}]


T0 = 1_790_000_000


@pytest.fixture
def media_root(tmp_path, settings):
    settings.LOCALCLOUD_MEDIA_ROOT = tmp_path
    storage.media_storage.cache_clear()
    yield tmp_path
    storage.media_storage.cache_clear()


@pytest.fixture
def device(db):
    product = Product.objects.create(product_id="PATOMIC001", product_name="cams",
                                     created_at=T0, updated_at=T0)
    device = Device.objects.create(product=product, device_name="cam1", psk="psk",
                                   created_at=T0)
    Package.objects.create(order_id="o1", device=device, package_id="yc1m7d", cs_type=1,
                           shift_duration=7, duration=30 * 86400, start_time=T0 - 60,
                           expire_time=T0 + 30 * 86400, created_at=T0, updated_at=T0)
    return device


def test_a_failure_while_indexing_leaves_no_rows_and_no_file(device, media_root, monkeypatch):
    body = media.ts_segment(4)

    def crash(**kwargs):
        raise RuntimeError("the database went away mid-index")

    monkeypatch.setattr(index, "days_add", crash)
    with time_machine.travel(T0 + 10, tick=False), pytest.raises(RuntimeError):
        services.segment_upload(device=device, channel_id=0, start=T0, end=T0 + 4, body=body)
    assert (Segment.objects.count(), Span.objects.count(), RecordingDay.objects.count()) == \
        (0, 0, 0)
    assert _files(media_root) == []
    monkeypatch.undo()
    with time_machine.travel(T0 + 10, tick=False):
        upload = services.segment_upload(device=device, channel_id=0, start=T0, end=T0 + 4,
                                         body=body)
    assert upload.created
    assert len(_files(media_root)) == 1


def test_a_refused_upload_leaves_no_file(device, media_root):
    body = media.ts_segment(4)
    with time_machine.travel(T0 + 10, tick=False):
        services.segment_upload(device=device, channel_id=0, start=T0, end=T0 + 4, body=body)
        with pytest.raises(services.DeviceApiError):
            # Overlaps the first: refused after the file was written, so it must be removed.
            services.segment_upload(device=device, channel_id=0, start=T0 + 2, end=T0 + 6,
                                    body=body)
    assert len(_files(media_root)) == 1


def test_concurrent_repeats_store_one_segment(sdk_client, localcloud):
    camera = provision(sdk_client, localcloud, package="yc1m7d")
    start = int(time.time())
    body = media.ts_segment(4, color=7)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: camera.segment(start, start + 4, body), range(6)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    ids = {"ProductId": camera.product_id, "DeviceName": camera.device_name}
    assert sdk_call(sdk_client, "DescribeCloudStorageTime", Date=_day(start),
                    **ids)["Data"]["TimeList"] == [{"StartTime": start, "EndTime": start + 4}]
