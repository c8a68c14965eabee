"""Fixtures for the cloud client's tests: tenants connected to the live localcloud."""
import json
import uuid

import pytest
from tencentcloud.iotvideo.v20211125 import models

from tests.factories import CloudConnectionFactory


def connect(tenant, server, *, secret_id=None, secret_key=None):
    """Point the tenant's cloud connection at a localcloud server."""
    return CloudConnectionFactory(
        tenant=tenant, kind="local", endpoint=server.url,
        secret_id=secret_id or server.secret_id, secret=secret_key or server.secret_key,
    )


@pytest.fixture
def cloud_tenant(tenant, localcloud):
    connect(tenant, localcloud)
    tenant.refresh_from_db()
    return tenant


@pytest.fixture
def fast_retries(settings):
    """Retries as the client does them, but with millisecond backoff so tests stay quick, and
    enough attempts that a run of bad luck at a 50-60 % fault share (0.6^20 ≈ 4e-5) never fails."""
    settings.IOTVIDEO_POLICIES = {
        "interactive": {"backoff_base": 0.005, "backoff_cap": 0.02, "max_attempts": 20,
                        "retry_budget": 10},
        "background": {"backoff_base": 0.005, "backoff_cap": 0.02, "max_attempts": 20,
                       "retry_budget": 10},
    }
    # Plenty of tokens: these tests are about retries, not about the rate limit.
    settings.IOTVIDEO_RATE_PER_SECOND = 1000
    settings.IOTVIDEO_RATE_BURST = 1000
    return settings


@pytest.fixture
def device(sdk_client):
    """A fresh product with one device in the session's localcloud: (product_id, device_name)."""
    req = models.CreateProductRequest()
    req.from_json_string(json.dumps({
        "ProductName": f"cam-{uuid.uuid4().hex[:6]}", "DeviceType": 1, "ProductVaildYears": 1,
        "Features": ["Video"], "ChipOs": "linux", "ChipManufactureId": "ti", "ChipId": "x1",
        "ProductDescription": ""}))
    product_id = sdk_client.CreateProduct(req).Data.ProductId
    batch = models.CreateBatchRequest()
    batch.from_json_string(json.dumps({"ProductId": product_id, "DevNum": 1, "DevPre": "dev"}))
    sdk_client.CreateBatch(batch)
    devices = models.DescribeDevicesRequest()
    devices.from_json_string(json.dumps({"ProductId": product_id, "Offset": 0, "Limit": 10}))
    name = sdk_client.DescribeDevices(devices).Devices[0].DeviceName
    return product_id, name
