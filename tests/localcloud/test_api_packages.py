"""Cloud-storage package actions through the official SDK against the live localcloud."""
import time
import uuid
from datetime import date, timedelta

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.localcloud_server import new_devices, new_product, sdk_call

DAY = 86400


def order_id() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def camera(sdk_client):
    product_id = new_product(sdk_client)
    names = new_devices(sdk_client, product_id, 3, "cam")
    return product_id, names


def buy(client, product_id, device, package_id="yc1m7d", **kwargs):
    oid = kwargs.pop("OrderId", None) or order_id()
    sdk_call(client, "CreateCloudStorage", ProductId=product_id, DeviceName=device,
             PackageId=package_id, OrderId=oid, **kwargs)
    return oid


def storage(client, product_id, device, **kwargs):
    return sdk_call(client, "DescribeCloudStorage", ProductId=product_id, DeviceName=device,
                    **kwargs)


def test_a_device_without_package_has_storage_off(sdk_client, camera):
    product_id, (device, *_) = camera
    state = storage(sdk_client, product_id, device)
    assert (state.Status, state.Type, state.ExpireTime, state.ShiftDuration) == (0, 0, 0, 0)


def test_purchase_turns_storage_on_until_the_package_expires(sdk_client, camera):
    product_id, (device, *_) = camera
    before = int(time.time())
    oid = buy(sdk_client, product_id, device, "yc1m7d")
    state = storage(sdk_client, product_id, device)
    assert (state.Status, state.Type, state.ShiftDuration) == (1, 1, 7)
    assert before + 30 * DAY <= state.ExpireTime <= int(time.time()) + 30 * DAY

    order = sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=oid)
    assert (order.PackageId, order.Status, order.ChannelId) == ("yc1m7d", 2, 0)
    assert order.ExpireTime - order.StartTime == 30 * DAY
    assert (order.Price, order.Amount) == (2500, 2500)


def test_the_same_order_id_twice_buys_one_package(sdk_client, camera):
    product_id, (device, *_) = camera
    oid = order_id()
    buy(sdk_client, product_id, device, "ye1m7d", OrderId=oid)
    buy(sdk_client, product_id, device, "ye1m7d", OrderId=oid)  # a retry
    packages = sdk_call(sdk_client, "DescribeDevicePackages", ProductId=product_id,
                        DeviceName=device)
    assert packages.TotalCount == 1
    assert packages.Packages[0].OrderId == oid


def test_a_used_order_id_for_another_purchase_is_refused(sdk_client, camera):
    product_id, (first, second, _) = camera
    oid = buy(sdk_client, product_id, first, "ye1m7d")
    with pytest.raises(TencentCloudSDKException) as exc:
        buy(sdk_client, product_id, second, "ye1m7d", OrderId=oid)
    assert exc.value.code == "InvalidParameterValue"
    assert oid in exc.value.message
    assert sdk_call(sdk_client, "DescribeDevicePackages", ProductId=product_id,
                    DeviceName=second).TotalCount == 0


def test_queue_end_and_front(sdk_client, camera):
    product_id, (device, *_) = camera
    first = buy(sdk_client, product_id, device, "yc1m7d")
    queued = buy(sdk_client, product_id, device, "ye1y30d", PackageQueue="end")
    front = buy(sdk_client, product_id, device, "ye1w7d", PackageQueue="front")
    listed = sdk_call(sdk_client, "DescribeDevicePackages", ProductId=product_id,
                      DeviceName=device, Limit=10, Offset=0)
    assert listed.TotalCount == 3
    by_order = {p.OrderId: p for p in listed.Packages}
    assert by_order[front].Status == 2  # in force now
    assert by_order[first].Status == 0  # paused, resumes after the front package
    assert by_order[queued].Status == 0
    assert (by_order[front].CSType, by_order[front].CSShiftDuration) == (2, 7)
    # The paused package keeps its time: it now ends a week later; the queued one follows it.
    first_order = sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=first)
    queued_order = sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=queued)
    assert first_order.ExpireTime - first_order.StartTime == 37 * DAY
    assert queued_order.StartTime == first_order.ExpireTime
    state = storage(sdk_client, product_id, device)
    assert (state.Type, state.ShiftDuration) == (2, 7)


def test_override_replaces_the_package_in_force(sdk_client, camera):
    product_id, (device, *_) = camera
    old = buy(sdk_client, product_id, device, "ye1m3d")
    new = buy(sdk_client, product_id, device, "yc1y30d", Override=1)
    assert sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=old).Status == 1
    assert sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=new).Status == 2
    state = storage(sdk_client, product_id, device)
    assert (state.Type, state.ShiftDuration) == (1, 30)
    with pytest.raises(TencentCloudSDKException) as exc:
        buy(sdk_client, product_id, device, "yc1m7d", Override=1, PackageQueue="front")
    assert exc.value.code == "InvalidParameter"
    assert "PackageQueue" in exc.value.message


@pytest.mark.parametrize("fields, code, word", [
    ({"PackageId": "gold"}, "InvalidParameterValue", "gold"),
    ({"PackageQueue": "middle"}, "InvalidParameterValue", "PackageQueue"),
    ({"Override": 2}, "InvalidParameterValue", "Override"),
    ({"ChannelId": 1}, "InvalidParameterValue", "NVR"),
    ({"DeviceName": "nosuchcam"}, "ResourceNotFound", "nosuchcam"),
])
def test_purchase_refusals(sdk_client, camera, fields, code, word):
    product_id, (device, *_) = camera
    params = {"ProductId": product_id, "DeviceName": device, "PackageId": "yc1m7d",
              "OrderId": order_id(), **fields}
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "CreateCloudStorage", **params)
    assert exc.value.code == code
    assert word in exc.value.message


def test_missing_order_id(sdk_client, camera):
    product_id, (device, *_) = camera
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "CreateCloudStorage", ProductId=product_id, DeviceName=device,
                 PackageId="yc1m7d")
    assert exc.value.code == "MissingParameter"
    assert "OrderId" in exc.value.message


def test_picture_stream_products_take_only_event_packages(sdk_client):
    product_id = new_product(sdk_client, CategoryId=595, ProductName="door lock")
    [lock] = new_devices(sdk_client, product_id, 1, "lock")
    with pytest.raises(TencentCloudSDKException) as exc:
        buy(sdk_client, product_id, lock, "yc1m7d")
    assert exc.value.code == "UnsupportedOperation"
    assert "event" in exc.value.message
    buy(sdk_client, product_id, lock, "lye1m7d")
    assert storage(sdk_client, product_id, lock).Type == 2


def test_nvr_channels(sdk_client):
    product_id = new_product(sdk_client, DeviceType=2, ProductName="nvr")
    [nvr] = new_devices(sdk_client, product_id, 1, "nvr")
    buy(sdk_client, product_id, nvr, "yc1m7d", ChannelId=3)
    assert storage(sdk_client, product_id, nvr, ChannelId=3).Status == 1
    assert storage(sdk_client, product_id, nvr, ChannelId=0).Status == 0
    listed = sdk_call(sdk_client, "DescribeDevicePackages", ProductId=product_id,
                      DeviceName=nvr, ChannelId=3)
    assert [p.ChannelId for p in listed.Packages] == [3]


def test_free_package_once_per_device(sdk_client, camera):
    product_id, (device, *_) = camera
    answer = sdk_call(sdk_client, "CreateFreeCloudStorage", ProductId=product_id,
                      DeviceName=device, PackageId="ye1w3d", OrderId=order_id())
    assert (answer.Price, answer.Amount) == (300, 0)
    state = storage(sdk_client, product_id, device)
    assert (state.Status, state.Type, state.ShiftDuration) == (1, 2, 3)
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "CreateFreeCloudStorage", ProductId=product_id, DeviceName=device,
                 PackageId="ye1w3d", OrderId=order_id())
    assert exc.value.code == "UnsupportedOperation"
    assert "free" in exc.value.message


def test_transfer(sdk_client, camera):
    product_id, (source, target, busy) = camera
    oid = buy(sdk_client, product_id, source, "yc1m7d")
    buy(sdk_client, product_id, busy, "yc1m7d")
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "TransferCloudStorage", ProductId=product_id, DeviceName=source,
                 ToProductId=product_id, ToDeviceName=busy)
    assert exc.value.code == "UnsupportedOperation"

    sdk_call(sdk_client, "TransferCloudStorage", ProductId=product_id, DeviceName=source,
             ToProductId=product_id, ToDeviceName=target)
    assert storage(sdk_client, product_id, source).Status == 0
    assert storage(sdk_client, product_id, target).Status == 1
    listed = sdk_call(sdk_client, "DescribeDevicePackages", ProductId=product_id,
                      DeviceName=target)
    assert [p.OrderId for p in listed.Packages] == [oid]

    with pytest.raises(TencentCloudSDKException) as exc:  # nothing left on the source
        sdk_call(sdk_client, "TransferCloudStorage", ProductId=product_id, DeviceName=source,
                 ToProductId=product_id, ToDeviceName=target)
    assert exc.value.code == "UnsupportedOperation"


def test_reset(sdk_client, camera):
    product_id, (device, *_) = camera
    oid = buy(sdk_client, product_id, device, "yc1m7d")
    buy(sdk_client, product_id, device, "yc1m7d")
    sdk_call(sdk_client, "ResetCloudStorage", ProductId=product_id, DeviceName=device)
    assert storage(sdk_client, product_id, device).Status == 0
    assert sdk_call(sdk_client, "DescribeDevicePackages", ProductId=product_id,
                    DeviceName=device).TotalCount == 0
    assert sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=oid).Status == 1


def test_device_packages_paging(sdk_client, camera):
    product_id, (device, *_) = camera
    orders = [buy(sdk_client, product_id, device, "ye1w7d") for _ in range(3)]
    page = sdk_call(sdk_client, "DescribeDevicePackages", ProductId=product_id,
                    DeviceName=device, Limit=2, Offset=1)
    assert page.TotalCount == 3
    assert [p.OrderId for p in page.Packages] == orders[1:]
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeDevicePackages", ProductId=product_id,
                 DeviceName=device, Limit=1000)
    assert exc.value.code == "InvalidParameterValue"


def test_unknown_order(sdk_client):
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId="never-bought")
    assert exc.value.code == "ResourceNotFound"
    assert "never-bought" in exc.value.message


def test_consume_stats(sdk_client, camera):
    product_id, (device, *_) = camera
    today = date.today()
    start = (today - timedelta(days=2)).isoformat()
    end = (today + timedelta(days=2)).isoformat()
    before = {s.PackageId: s.Cnt for s in sdk_call(
        sdk_client, "DescribeCloudStoragePackageConsumeStats", StartDate=start, EndDate=end).Stats}
    buy(sdk_client, product_id, device, "lye1y30d")
    stats = sdk_call(sdk_client, "DescribeCloudStoragePackageConsumeStats",
                     StartDate=start, EndDate=end).Stats
    row = next(s for s in stats if s.PackageId == "lye1y30d")
    assert row.Cnt == before.get("lye1y30d", 0) + 1
    assert (row.Price, row.Source) == (20000, 1)
    assert row.PackageName


@pytest.mark.parametrize("start, end, word", [
    ("2025-01-01", "2026-01-02", "one year"),
    ("2026-02-01", "2026-01-01", "before"),
    ("2026-13-01", "2026-12-01", "2026-13-01"),
    ("yesterday", "2026-12-01", "yesterday"),
])
def test_consume_stats_bad_dates(sdk_client, start, end, word):
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeCloudStoragePackageConsumeStats", StartDate=start,
                 EndDate=end)
    assert exc.value.code == "InvalidParameterValue"
    assert word in exc.value.message


def test_concurrent_retries_of_one_order_buy_one_package(localcloud, camera):
    """A purchase task retried while the first attempt is still in flight."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.localcloud_server import sdk_client_for

    product_id, (device, *_) = camera
    oid = order_id()

    def attempt(_):
        client = sdk_client_for(localcloud)  # one client per thread, as separate workers would
        buy(client, product_id, device, "yc1m7d", OrderId=oid)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(attempt, range(6)))
    client = sdk_client_for(localcloud)
    listed = sdk_call(client, "DescribeDevicePackages", ProductId=product_id, DeviceName=device)
    assert [p.OrderId for p in listed.Packages] == [oid]


def test_the_queued_package_takes_over_when_the_first_expires(localcloud, sdk_client, camera):
    """States follow from the stored times, with no scheduler: move the device's packages 30
    days into the past (what a month of waiting would do) and the live server agrees."""
    product_id, (device, *_) = camera
    first = buy(sdk_client, product_id, device, "yc1m7d")
    second = buy(sdk_client, product_id, device, "ye1m30d")
    assert sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=second).Status == 0
    localcloud.manage("shell", "-c", (
        "from django.db.models import F\n"
        "from localcloud.models import Package\n"
        f"Package.objects.filter(order_id__in=['{first}', '{second}']).update("
        f"start_time=F('start_time') - {30 * DAY}, expire_time=F('expire_time') - {30 * DAY})\n"))
    assert sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=first).Status == 1
    assert sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=second).Status == 2
    state = storage(sdk_client, product_id, device)
    assert (state.Status, state.Type, state.ShiftDuration) == (1, 2, 30)
