"""Services of the cloud client used by pages: checking a tenant's connection."""
from __future__ import annotations

from portal.iotvideo import errors
from portal.iotvideo import types as t
from portal.iotvideo.client import cloud_for


def connection_test(*, tenant) -> t.ConnectionCheck:
    """Try the tenant's cloud connection with a cheap read; never raises a CloudError."""
    try:
        cloud = cloud_for(tenant)
    except errors.CloudError as err:  # no connection, or an unusable localcloud URL
        return t.ConnectionCheck(ok=False, message=err.message, code=err.code)
    return cloud.test_connection()
