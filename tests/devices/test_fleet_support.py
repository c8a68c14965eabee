"""Factories and fixtures shared by the fleet tests (imported by them; holds no tests)."""
import itertools

import pytest

from devices.models import Device, DeviceGrant, Product, StreamKind
from portal.models import CloudConnection

_seq = itertools.count(1)


def make_product(tenant, *, name=None, kind=StreamKind.VIDEO, product_id=None):
    n = next(_seq)
    return Product.objects.create(tenant=tenant, product_id=product_id or f"P{n:08d}",
                                  name=name or f"Product {n}", stream_kind=kind)


def make_device(tenant, product=None, **fields):
    product = product or make_product(tenant)
    fields.setdefault("name", f"dev{next(_seq):05d}")
    return Device.objects.create(tenant=tenant, product=product, **fields)


def grant(device, user):
    return DeviceGrant.objects.create(device=device, user=user)


def connect(tenant, server):
    """Point the tenant's cloud connection at a live localcloud server."""
    conn = CloudConnection(tenant=tenant, kind=CloudConnection.Kind.LOCAL, endpoint=server.url,
                           secret_id=server.secret_id)
    conn.secret_key = server.secret_key
    conn.save()
    tenant.refresh_from_db()
    return conn


@pytest.fixture
def fleet(tenant, other_tenant):
    """Three devices of the tenant and one of another tenant."""
    cams = make_product(tenant, name="Cams")
    locks = make_product(tenant, name="Locks", kind=StreamKind.PICTURE)
    a = make_device(tenant, cams, name="alpha", nickname="Front door", tags=["garden", "vip"],
                    online=1)
    b = make_device(tenant, cams, name="bravo", tags=["garden"])
    c = make_device(tenant, locks, name="charlie", package_state="active")
    foreign = make_device(other_tenant, make_product(other_tenant), name="foreign1")
    return {"cams": cams, "locks": locks, "a": a, "b": b, "c": c, "foreign": foreign}
