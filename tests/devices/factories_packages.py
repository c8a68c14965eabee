"""Setup for the packages tests: a tenant wired to the live localcloud, devices made in the
cloud (CreateProduct / CreateBatch through the official SDK) and mirrored as Device rows, and
what the cloud holds for an order (read back through the SDK)."""
import json
import uuid

from tencentcloud.iotvideo.v20211125 import models as sdk

from devices.models import Device, Product, StreamKind
from devices.order_models import PackagePrice
from portal.models import CloudConnection
from tests.factories import CloudConnectionFactory


def connect(tenant, localcloud) -> CloudConnection:
    """Points the tenant's cloud connection at the live localcloud."""
    CloudConnection.objects.filter(tenant=tenant).delete()
    return CloudConnectionFactory(tenant=tenant, kind=CloudConnection.Kind.LOCAL,
                                  endpoint=localcloud.url, secret_id=localcloud.secret_id,
                                  secret=localcloud.secret_key)


def _call(client, action: str, params: dict):
    request = getattr(sdk, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def cloud_devices(sdk_client, tenant, *, count: int = 2, picture: bool = False,
                  low_power: bool = False, name: str = "cam") -> list[Device]:
    """`count` devices of a new product in localcloud, mirrored for `tenant`."""
    response = _call(sdk_client, "CreateProduct", {
        "ProductName": f"{name}-{uuid.uuid4().hex[:6]}", "DeviceType": 1,
        "ProductVaildYears": 1, "Features": ["Video"], "ChipOs": "linux",
        "ChipManufactureId": "ti", "ChipId": "x1", "ProductDescription": "",
        **({"CategoryId": 595} if picture else {}),
    })
    product_id = response.Data.ProductId
    prefix = f"d{uuid.uuid4().hex[:6]}"
    _call(sdk_client, "CreateBatch", {"ProductId": product_id, "DevNum": count, "DevPre": prefix})
    names = []
    offset = 0
    while True:
        page = _call(sdk_client, "DescribeDevices",
                     {"ProductId": product_id, "Offset": offset, "Limit": 100})
        names += [d.DeviceName for d in page.Devices]
        offset += 100
        if offset >= page.TotalCount:
            break
    product = Product.objects.create(
        tenant=tenant, product_id=product_id, name=name,
        category_id=595 if picture else 0, low_power=low_power,
        stream_kind=StreamKind.PICTURE if picture else StreamKind.VIDEO)
    Device.objects.bulk_create([Device(tenant=tenant, product=product, name=n) for n in names])
    return list(Device.objects.filter(product=product).select_related("product").order_by("name"))


def mirror_only_device(tenant, *, name: str = "ghost", picture: bool = False,
                       low_power: bool = False) -> Device:
    """A Device row with no device behind it in the cloud (for checks that never call it)."""
    product = Product.objects.create(
        tenant=tenant, product_id=f"P{uuid.uuid4().hex[:9].upper()}", name="mirror",
        low_power=low_power, stream_kind=StreamKind.PICTURE if picture else StreamKind.VIDEO)
    return Device.objects.create(tenant=tenant, product=product, name=name)


def price(tenant, package_id: str, cents: int, currency: str = "CNY") -> PackagePrice:
    return PackagePrice.objects.create(tenant=tenant, package_id=package_id, price_cents=cents,
                                       currency=currency)


def cloud_packages(sdk_client, device: Device) -> list:
    """The device's packages as the cloud lists them (DescribeDevicePackages, all pages)."""
    packages, offset = [], 0
    while True:
        page = _call(sdk_client, "DescribeDevicePackages", {
            "ProductId": device.product.product_id, "DeviceName": device.name,
            "Offset": offset, "Limit": 100})
        packages += page.Packages or []
        offset += 100
        if offset >= (page.TotalCount or 0):
            return packages
