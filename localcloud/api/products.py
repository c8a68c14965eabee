"""Product, batch and device actions: CreateProduct, DescribeProducts, DescribeProduct,
CreateBatch, DescribeBatch, DescribeDevices, DescribeDevice, ModifyDevice, DeleteDevice.
Field names and types are exactly the SDK's (VideoProduct, VideoBatch, DeviceInfo)."""
import re

from localcloud import products
from localcloud.api.errors import invalid_value
from localcloud.api.registry import Params, action
from localcloud.models import Batch, Device, Product

MAX_PAGE = 100
_DEV_PRE_RE = re.compile(r"^[A-Za-z0-9_-]{1,24}$")


def product_data(product: Product) -> dict:
    return {
        "ProductId": product.product_id,
        "ProductName": product.product_name,
        "DeviceType": product.device_type,
        "EncryptionType": product.encryption_type,
        "Features": list(product.features),
        "ChipOs": product.chip_os,
        "ChipManufactureId": product.chip_manufacture_id,
        "ChipId": product.chip_id,
        "ProductDescription": product.product_description,
        "CreateTime": product.created_at,
        "UpdateTime": product.updated_at,
        "NetType": product.net_type,
        "CategoryId": product.category_id,
        "ProductVaildYears": product.product_vaild_years,
    }


def device_data(device: Device) -> dict:
    return {
        "DeviceName": device.device_name,
        "Online": products.device_online_state(device),
        "LoginTime": device.login_time,
        "DevicePsk": device.psk,
        "EnableState": device.enable_state,
        "ExpireTime": device.expire_time,
        "LogLevel": device.log_level,
    }


def batch_data(batch: Batch, created: int) -> dict:
    return {
        "Id": batch.batch_id,
        "UserId": "",
        "ProductId": batch.product.product_id,
        "Status": 3,  # 3 = done: localcloud creates a batch's devices at once
        "DevPre": batch.dev_pre,
        "DevNum": batch.dev_num,
        "DevNumCreated": created,
        "BatchURL": "",
        "CreateTime": batch.created_at,
        "UpdateTime": batch.created_at,
    }


@action("CreateProduct")
def create_product(p: Params) -> dict:
    name = p.str("ProductName", max_length=64)
    device_type = p.int("DeviceType", 1)
    valid_years = p.int("ProductVaildYears", 1, min_value=1, max_value=10)
    features = p.str_list("Features", [], max_items=32)
    chip_manufacture_id = p.str("ChipManufactureId", "", max_length=64)
    chip_id = p.str("ChipId", "", max_length=64)
    description = p.str("ProductDescription", "", max_length=256)
    chip_os = p.str("ChipOs", "", max_length=64)
    encryption_type = p.int("EncryptionType", 2)
    category_id = p.int("CategoryId", 0, min_value=0, max_value=2**31 - 1)
    net_type = p.str("NetType", "", max_length=32)
    p.finish()
    if not name.strip():
        raise invalid_value("ProductName", "must not be empty")
    if device_type not in (1, 2):
        raise invalid_value("DeviceType", "must be 1 (device) or 2 (NVR)")
    if encryption_type not in (1, 2):
        raise invalid_value("EncryptionType", "must be 1 or 2 (PSK)")
    if net_type not in ("", "wifi", "cellular"):
        raise invalid_value("NetType", "must be `wifi` or `cellular`")
    product = products.product_create(
        name=name, device_type=device_type, category_id=category_id, features=features,
        chip_os=chip_os, chip_manufacture_id=chip_manufacture_id, chip_id=chip_id,
        description=description, encryption_type=encryption_type, net_type=net_type,
        valid_years=valid_years,
    )
    return {"Data": product_data(product)}


@action("DescribeProducts", read_only=True)
def describe_products(p: Params) -> dict:
    limit = p.int("Limit", 10, min_value=1, max_value=MAX_PAGE)
    offset = p.int("Offset", 0, min_value=0)
    p.finish()
    qs = Product.objects.order_by("id")
    return {"TotalCount": qs.count(),
            "Data": [product_data(product) for product in qs[offset:offset + limit]]}


@action("DescribeProduct", read_only=True)
def describe_product(p: Params) -> dict:
    product_id = p.str("ProductId", max_length=32)
    p.finish()
    return {"Data": product_data(products.product_get(product_id=product_id))}


@action("CreateBatch")
def create_batch(p: Params) -> dict:
    product_id = p.str("ProductId", max_length=32)
    count = p.int("DevNum")
    prefix = p.str("DevPre", max_length=64)
    p.finish()
    if not _DEV_PRE_RE.match(prefix):
        raise invalid_value("DevPre", "must be 1-24 letters, digits, `_` or `-`")
    product = products.product_get(product_id=product_id)
    batch = products.batch_create(product=product, count=count, prefix=prefix)
    return {"BatchId": batch.batch_id}


@action("DescribeBatch", read_only=True)
def describe_batch(p: Params) -> dict:
    batch_id = p.int("BatchId", min_value=0)
    p.finish()
    batch = products.batch_get(batch_id=batch_id)
    return {"Data": batch_data(batch, created=batch.device_set.count())}


@action("DescribeDevices", read_only=True)
def describe_devices(p: Params) -> dict:
    product_id = p.str("ProductId", max_length=32)
    offset = p.int("Offset", 0, min_value=0)
    limit = p.int("Limit", 10, min_value=1, max_value=MAX_PAGE)
    device_name = p.str("DeviceName", "", max_length=64)
    p.finish()
    product = products.product_get(product_id=product_id)
    qs = Device.objects.filter(product=product).order_by("device_name", "id")
    if device_name:
        qs = qs.filter(device_name__contains=device_name)
    return {"TotalCount": qs.count(),
            "Devices": [device_data(device) for device in qs[offset:offset + limit]]}


@action("DescribeDevice", read_only=True)
def describe_device(p: Params) -> dict:
    product_id = p.str("ProductId", max_length=32)
    device_name = p.str("DeviceName", max_length=64)
    p.finish()
    return device_data(products.device_get(product_id=product_id, device_name=device_name))


@action("ModifyDevice")
def modify_device(p: Params) -> dict:
    product_id = p.str("ProductId", max_length=32)
    device_name = p.str("DeviceName", max_length=64)
    enable_state = p.int("EnableState", None)
    p.finish()
    device = products.device_get(product_id=product_id, device_name=device_name)
    if enable_state is not None:
        if enable_state not in (0, 1):
            raise invalid_value("EnableState", "must be 0 (disabled) or 1 (enabled)")
        products.device_set_enabled(device=device, enabled=bool(enable_state))
    return {}


@action("DeleteDevice")
def delete_device(p: Params) -> dict:
    product_id = p.str("ProductId", max_length=32)
    device_name = p.str("DeviceName", max_length=64)
    p.finish()
    products.device_delete(device=products.device_get(product_id=product_id,
                                                      device_name=device_name))
    return {}
