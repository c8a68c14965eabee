"""The one client of the IoT Video cloud API (see docs/iotvideo-client.md).

    from portal.iotvideo import cloud_for, errors, types
    cloud_for(tenant).describe_cloud_storage_dates(product_id, device_name)

Nothing outside this package imports the Tencent SDK.
"""
from portal.iotvideo import errors, types
from portal.iotvideo.client import Cloud, cloud_for

__all__ = ["Cloud", "cloud_for", "errors", "types"]
