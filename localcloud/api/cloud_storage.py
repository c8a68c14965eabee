"""Cloud-storage package actions: CreateCloudStorage, CreateFreeCloudStorage,
DescribeCloudStorage, DescribeDevicePackages, DescribeCloudStorageOrder, TransferCloudStorage,
ResetCloudStorage, DescribeCloudStoragePackageConsumeStats. The rules live in localcloud.packages."""
from localcloud import packages, products
from localcloud.api.registry import Params, action

MAX_PAGE = 100
MAX_CHANNEL = 1024


def _purchase(p: Params, *, free: bool):
    product_id = p.str("ProductId", max_length=32)
    device_name = p.str("DeviceName", max_length=64)
    package_id = p.str("PackageId", max_length=16)
    override = p.int("Override", 0, min_value=0, max_value=1)
    queue = p.str("PackageQueue", "", max_length=8)
    order_id = p.str("OrderId", max_length=64)
    channel_id = p.int("ChannelId", 0, min_value=0, max_value=MAX_CHANNEL)
    region = p.str("StorageRegion", "", max_length=32)
    p.finish()
    device = products.device_get(product_id=product_id, device_name=device_name)
    package, _ = packages.package_create(
        device=device, package_id=package_id, order_id=order_id, channel_id=channel_id,
        override=bool(override), queue=queue, free=free, storage_region=region,
    )
    return package


@action("CreateCloudStorage")
def create_cloud_storage(p: Params) -> dict:
    _purchase(p, free=False)
    return {}


@action("CreateFreeCloudStorage")
def create_free_cloud_storage(p: Params) -> dict:
    package = _purchase(p, free=True)
    return {"Price": package.price, "Amount": package.amount}


def _device_and_channel(p: Params):
    product_id = p.str("ProductId", max_length=32)
    device_name = p.str("DeviceName", max_length=64)
    return product_id, device_name


@action("DescribeCloudStorage")
def describe_cloud_storage(p: Params) -> dict:
    product_id, device_name = _device_and_channel(p)
    p.str("UserId", "", max_length=64)  # accepted; localcloud keeps one user per package
    channel_id = p.int("ChannelId", 0, min_value=0, max_value=MAX_CHANNEL)
    p.finish()
    device = products.device_get(product_id=product_id, device_name=device_name)
    packages.check_channel(device, channel_id)
    state = packages.storage_state(device=device, channel_id=channel_id)
    return {"Status": state.status, "Type": state.cs_type, "ExpireTime": state.expire_time,
            "ShiftDuration": state.shift_duration, "UserId": state.user_id}


def package_info(package, status: int) -> dict:
    return {
        "Status": status,
        "CSType": package.cs_type,
        "CSShiftDuration": package.shift_duration,
        "CSExpiredTime": package.expire_time,
        "CreatedAt": package.created_at,
        "UpdatedAt": package.updated_at,
        "PackageId": package.package_id,
        "OrderId": package.order_id,
        "ChannelId": package.channel_id,
        "CSUserId": package.user_id,
    }


@action("DescribeDevicePackages")
def describe_device_packages(p: Params) -> dict:
    product_id, device_name = _device_and_channel(p)
    limit = p.int("Limit", 10, min_value=1, max_value=MAX_PAGE)
    offset = p.int("Offset", 0, min_value=0)
    p.str("CSUserId", "", max_length=64)
    channel_id = p.int("ChannelId", 0, min_value=0, max_value=MAX_CHANNEL)
    p.finish()
    device = products.device_get(product_id=product_id, device_name=device_name)
    packages.check_channel(device, channel_id)
    total, page = packages.device_packages(device=device, channel_id=channel_id,
                                           offset=offset, limit=limit)
    return {"TotalCount": total,
            "Packages": [package_info(package, status) for package, status in page]}


@action("DescribeCloudStorageOrder")
def describe_cloud_storage_order(p: Params) -> dict:
    order_id = p.str("OrderId", max_length=64)
    p.finish()
    package, status = packages.order_get(order_id=order_id)
    return {"StartTime": package.start_time, "ExpireTime": package.expire_time,
            "PackageId": package.package_id, "Status": status,
            "ChannelId": package.channel_id, "Price": package.price, "Amount": package.amount}


@action("TransferCloudStorage")
def transfer_cloud_storage(p: Params) -> dict:
    product_id, device_name = _device_and_channel(p)
    to_device_name = p.str("ToDeviceName", max_length=64)
    # Optional in the SDK: without it the target is in the same product.
    to_product_id = p.str("ToProductId", product_id, max_length=32)
    p.finish()
    source = products.device_get(product_id=product_id, device_name=device_name)
    target = products.device_get(product_id=to_product_id, device_name=to_device_name)
    packages.packages_transfer(source=source, target=target)
    return {}


@action("ResetCloudStorage")
def reset_cloud_storage(p: Params) -> dict:
    product_id, device_name = _device_and_channel(p)
    channel_id = p.int("ChannelId", 0, min_value=0, max_value=MAX_CHANNEL)
    p.str("UserId", "", max_length=64)
    p.finish()
    device = products.device_get(product_id=product_id, device_name=device_name)
    packages.check_channel(device, channel_id)
    packages.packages_reset(device=device, channel_id=channel_id)
    return {}


@action("DescribeCloudStoragePackageConsumeStats")
def describe_consume_stats(p: Params) -> dict:
    start = packages.parse_date("StartDate", p.str("StartDate", max_length=32))
    end = packages.parse_date("EndDate", p.str("EndDate", max_length=32))
    p.finish()
    stats = packages.consume_stats(start=start, end=end)
    # Source 1 = prepaid, the only kind localcloud sells.
    return {"Stats": [{"PackageId": s.package_id, "PackageName": s.package_name, "Cnt": s.count,
                       "Price": s.price, "Source": 1} for s in stats]}
