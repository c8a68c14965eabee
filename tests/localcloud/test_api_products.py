"""Products, batches and devices through the official SDK against the live localcloud."""
import re
import time

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.localcloud_server import new_devices, new_product, sdk_call


def test_create_product_answers_the_sdk_fields(sdk_client):
    data = sdk_call(sdk_client, "CreateProduct", ProductName="Front door", DeviceType=1,
                    ProductVaildYears=2, Features=["ypsxth", "spdxth"], ChipOs="linux",
                    ChipManufactureId="ti", ChipId="x1", ProductDescription="porch camera",
                    EncryptionType=2, CategoryId=113, NetType="wifi").Data
    assert re.fullmatch(r"[A-Z0-9]{10}", data.ProductId)
    assert (data.ProductName, data.DeviceType, data.ProductVaildYears) == ("Front door", 1, 2)
    assert data.Features == ["ypsxth", "spdxth"]
    assert (data.ChipOs, data.ChipManufactureId, data.ChipId) == ("linux", "ti", "x1")
    assert (data.CategoryId, data.NetType, data.EncryptionType) == (113, "wifi", 2)
    assert abs(data.CreateTime - time.time()) < 60 and data.UpdateTime == data.CreateTime

    again = sdk_call(sdk_client, "DescribeProduct", ProductId=data.ProductId).Data
    assert again._serialize() == data._serialize()


def test_describe_products_pages(sdk_client):
    ids = {new_product(sdk_client, ProductName=f"paging {i}") for i in range(3)}
    first = sdk_call(sdk_client, "DescribeProducts", Limit=100, Offset=0)
    assert first.TotalCount >= 3
    seen = {p.ProductId for p in first.Data}
    offset = 100
    while offset < first.TotalCount:
        seen |= {p.ProductId for p in sdk_call(sdk_client, "DescribeProducts", Limit=100,
                                                Offset=offset).Data}
        offset += 100
    assert ids <= seen
    assert len(sdk_call(sdk_client, "DescribeProducts", Limit=2, Offset=0).Data) == 2


def test_unknown_product_is_not_found(sdk_client):
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeProduct", ProductId="NOSUCHPROD")
    assert exc.value.code == "ResourceNotFound"
    assert "NOSUCHPROD" in exc.value.message


@pytest.mark.parametrize("fields, name", [
    ({"DeviceType": 3}, "DeviceType"),
    ({"ProductName": "   "}, "ProductName"),
    ({"NetType": "satellite"}, "NetType"),
])
def test_create_product_refuses_bad_values(sdk_client, fields, name):
    with pytest.raises(TencentCloudSDKException) as exc:
        new_product(sdk_client, **fields)
    assert exc.value.code == "InvalidParameterValue"
    assert name in exc.value.message


def test_batch_creates_named_devices_with_random_psks(sdk_client):
    product_id = new_product(sdk_client)
    batch_id = sdk_call(sdk_client, "CreateBatch", ProductId=product_id, DevNum=3,
                        DevPre="door").BatchId
    assert isinstance(batch_id, int)
    batch = sdk_call(sdk_client, "DescribeBatch", BatchId=batch_id).Data
    assert (batch.Id, batch.ProductId, batch.DevPre, batch.DevNum, batch.DevNumCreated) == (
        batch_id, product_id, "door", 3, 3)
    assert batch.Status == 3

    page = sdk_call(sdk_client, "DescribeDevices", ProductId=product_id, Offset=0, Limit=10)
    assert page.TotalCount == 3
    assert [d.DeviceName for d in page.Devices] == ["door0001", "door0002", "door0003"]
    psks = {d.DevicePsk for d in page.Devices}
    assert len(psks) == 3 and all(len(psk) >= 16 for psk in psks)

    # A second batch with the same prefix continues the sequence.
    sdk_call(sdk_client, "CreateBatch", ProductId=product_id, DevNum=2, DevPre="door")
    names = [
        d.DeviceName for d in sdk_call(sdk_client, "DescribeDevices", ProductId=product_id,
                                       Limit=100).Devices]
    assert names[-2:] == ["door0004", "door0005"]


@pytest.mark.parametrize("fields, code", [
    ({"DevNum": 0, "DevPre": "x"}, "InvalidParameterValue"),
    ({"DevNum": 5000, "DevPre": "x"}, "InvalidParameterValue"),
    ({"DevNum": 1, "DevPre": "bad prefix!"}, "InvalidParameterValue"),
    ({"DevNum": 1, "DevPre": "x" * 25}, "InvalidParameterValue"),
])
def test_batch_refuses_bad_values(sdk_client, fields, code):
    product_id = new_product(sdk_client)
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "CreateBatch", ProductId=product_id, **fields)
    assert exc.value.code == code


def test_unknown_batch_and_batch_for_unknown_product(sdk_client):
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeBatch", BatchId=1)
    assert exc.value.code == "ResourceNotFound"
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "CreateBatch", ProductId="NOSUCHPROD", DevNum=1, DevPre="x")
    assert exc.value.code == "ResourceNotFound"


def test_describe_devices_filters_and_limits(sdk_client):
    product_id = new_product(sdk_client)
    new_devices(sdk_client, product_id, 3, "hall")
    new_devices(sdk_client, product_id, 2, "yard")
    page = sdk_call(sdk_client, "DescribeDevices", ProductId=product_id, Limit=10,
                    DeviceName="yard")
    assert page.TotalCount == 2
    assert {d.DeviceName for d in page.Devices} == {"yard0001", "yard0002"}
    page = sdk_call(sdk_client, "DescribeDevices", ProductId=product_id, Limit=2, Offset=2)
    assert page.TotalCount == 5 and len(page.Devices) == 2
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeDevices", ProductId=product_id, Limit=101)
    assert exc.value.code == "InvalidParameterValue"
    assert "100" in exc.value.message


def test_describe_device_of_a_new_device(sdk_client):
    product_id = new_product(sdk_client)
    [name] = new_devices(sdk_client, product_id, 1, "one")
    device = sdk_call(sdk_client, "DescribeDevice", ProductId=product_id, DeviceName=name)
    assert device.DeviceName == name
    assert device.Online == 3  # never seen: not activated
    assert device.LoginTime == 0
    assert device.EnableState == 1
    assert device.DevicePsk


def test_online_follows_the_heartbeat(sdk_client, localcloud):
    product_id = new_product(sdk_client)
    a, b = new_devices(sdk_client, product_id, 2, "hb")
    # The heartbeat is the device API's (lc-media); set login_time the way it does.
    now = int(time.time())
    localcloud.manage("shell", "-c", (
        "from localcloud.models import Device\n"
        f"Device.objects.filter(product__product_id='{product_id}', device_name='{a}')"
        f".update(login_time={now - 10})\n"
        f"Device.objects.filter(product__product_id='{product_id}', device_name='{b}')"
        f".update(login_time={now - 600})\n"))
    online = sdk_call(sdk_client, "DescribeDevice", ProductId=product_id, DeviceName=a)
    offline = sdk_call(sdk_client, "DescribeDevice", ProductId=product_id, DeviceName=b)
    assert (online.Online, online.LoginTime) == (1, now - 10)
    assert (offline.Online, offline.LoginTime) == (0, now - 600)


def test_modify_device_disables_and_enables(sdk_client):
    product_id = new_product(sdk_client)
    [name] = new_devices(sdk_client, product_id, 1, "mod")
    sdk_call(sdk_client, "ModifyDevice", ProductId=product_id, DeviceName=name, EnableState=0)
    assert sdk_call(sdk_client, "DescribeDevice", ProductId=product_id,
                    DeviceName=name).EnableState == 0
    sdk_call(sdk_client, "ModifyDevice", ProductId=product_id, DeviceName=name, EnableState=1)
    assert sdk_call(sdk_client, "DescribeDevice", ProductId=product_id,
                    DeviceName=name).EnableState == 1
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "ModifyDevice", ProductId=product_id, DeviceName=name, EnableState=7)
    assert exc.value.code == "InvalidParameterValue"


def test_delete_device(sdk_client):
    product_id = new_product(sdk_client)
    first, second = new_devices(sdk_client, product_id, 2, "del")
    sdk_call(sdk_client, "DeleteDevice", ProductId=product_id, DeviceName=first)
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeDevice", ProductId=product_id, DeviceName=first)
    assert exc.value.code == "ResourceNotFound"
    assert first in exc.value.message
    assert sdk_call(sdk_client, "DescribeDevices", ProductId=product_id).TotalCount == 1
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DeleteDevice", ProductId=product_id, DeviceName=first)
    assert exc.value.code == "ResourceNotFound"


def test_device_of_unknown_product_names_the_product(sdk_client):
    with pytest.raises(TencentCloudSDKException) as exc:
        sdk_call(sdk_client, "DescribeDevice", ProductId="NOSUCHPROD", DeviceName="cam0001")
    assert exc.value.code == "ResourceNotFound"
    assert "NOSUCHPROD" in exc.value.message
