# ruff: noqa: F811  (the `fleet` fixture is imported from test_fleet_support)
"""Products and devices made and removed in the cloud from the portal: a new product (picture
stream → category 595), CreateBatch, delete and disable with confirmation — each audited."""
import uuid

import pytest

from devices.models import Device, Product
from portal.iotvideo import cloud_for
from portal.iotvideo import errors as cloud_errors
from portal.models import AuditEntry
from tests.devices.test_fleet_support import connect, fleet, make_device  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def _product_via_page(client, kind="video", low_power=False):
    name = f"pg-{uuid.uuid4().hex[:6]}"
    data = {"name": name, "stream_kind": kind, "device_type": 1, "description": ""}
    if low_power:
        data["low_power"] = "on"
    response = client.post("/devices/products/", data)
    assert response.status_code == 302, response.content[:1000]
    return Product.objects.get(name=name)


def test_admin_creates_a_picture_stream_low_power_product(client_for, admin_user, tenant, localcloud):
    connect(tenant, localcloud)
    product = _product_via_page(client_for(admin_user), kind="picture", low_power=True)
    assert product.stream_kind == "picture" and product.low_power
    in_cloud = cloud_for(tenant).describe_product(product.product_id)
    assert in_cloud.category_id == Product.PICTURE_STREAM_CATEGORY
    assert AuditEntry.objects.filter(tenant=tenant, action="create",
                                     object_type="devices.Product", object_id=str(product.pk)).exists()


def test_batch_makes_devices_in_the_cloud_and_the_mirror(client_for, admin_user, tenant, localcloud):
    connect(tenant, localcloud)
    client = client_for(admin_user)
    product = _product_via_page(client)
    response = client.post(f"/devices/products/{product.pk}/batch/", {"prefix": "door", "count": 4})
    assert response.status_code == 302
    assert response["Location"].endswith(f"?product={product.pk}")
    assert Device.objects.filter(product=product).count() == 4
    assert cloud_for(tenant).describe_devices(product.product_id).total == 4
    assert AuditEntry.objects.filter(tenant=tenant, action="create_batch").exists()


@pytest.mark.parametrize("data, message", [
    ({"prefix": "bad prefix!", "count": 2}, "letters, digits"),
    ({"prefix": "ok", "count": 0}, "greater than or equal to 1"),
    ({"prefix": "ok", "count": 5000}, "less than or equal to 1000"),
])
def test_bad_batch_input_is_a_400_with_a_message(client_for, admin_user, tenant, fleet, data, message):
    response = client_for(admin_user).post(f"/devices/products/{fleet['cams'].pk}/batch/", data)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_batch_for_a_foreign_product_is_404(client_for, admin_user, fleet):
    foreign = fleet["foreign"].product
    assert client_for(admin_user).post(f"/devices/products/{foreign.pk}/batch/",
                                       {"prefix": "x", "count": 1}).status_code == 404


def _cloud_device(client, tenant):
    product = _product_via_page(client)
    client.post(f"/devices/products/{product.pk}/batch/", {"prefix": "del", "count": 1})
    return Device.objects.get(product=product)


def test_delete_needs_the_name_typed_and_keeps_the_portal_row(client_for, admin_user, tenant, localcloud):
    connect(tenant, localcloud)
    client = client_for(admin_user)
    device = _cloud_device(client, tenant)
    page = client.get(f"/devices/{device.pk}/delete/")
    assert page.status_code == 200 and "Type" in page.content.decode()
    wrong = client.post(f"/devices/{device.pk}/delete/", {"confirm_name": "nope"})
    assert wrong.status_code == 400
    cloud_for(tenant).describe_device(device.product.product_id, device.name)  # still there
    done = client.post(f"/devices/{device.pk}/delete/", {"confirm_name": device.name})
    assert done.status_code == 302
    device.refresh_from_db()
    assert device.removed_upstream
    with pytest.raises(cloud_errors.NotFound):
        cloud_for(tenant).describe_device(device.product.product_id, device.name)
    assert AuditEntry.objects.filter(object_id=str(device.pk), action="delete").exists()


def test_disable_and_enable_in_the_cloud(client_for, admin_user, tenant, localcloud):
    connect(tenant, localcloud)
    client = client_for(admin_user)
    device = _cloud_device(client, tenant)
    assert client.get(f"/devices/{device.pk}/enable/").status_code == 200
    assert client.post(f"/devices/{device.pk}/enable/", {}).status_code == 400  # not confirmed
    assert client.post(f"/devices/{device.pk}/enable/", {"confirm": "yes"}).status_code == 302
    device.refresh_from_db()
    assert device.enabled is False
    assert cloud_for(tenant).describe_device(device.product.product_id, device.name).enabled is False
    client.post(f"/devices/{device.pk}/enable/", {"confirm": "yes"})
    device.refresh_from_db()
    assert device.enabled is True
    actions = set(AuditEntry.objects.filter(object_id=str(device.pk)).values_list("action", flat=True))
    assert {"disable", "enable"} <= actions


@pytest.mark.parametrize("user", ["staff_user", "viewer_user", "foreign_admin"])
def test_only_admins_of_the_tenant_manage_products_and_devices(client_for, request, fleet, user):
    client = client_for(request.getfixturevalue(user))
    device = fleet["a"]
    assert client.post(f"/devices/{device.pk}/delete/", {"confirm_name": device.name}).status_code in (403, 404)
    assert client.post(f"/devices/{device.pk}/enable/", {"confirm": "yes"}).status_code in (403, 404)
    assert client.post(f"/devices/products/{fleet['cams'].pk}/batch/",
                       {"prefix": "x", "count": 1}).status_code in (403, 404)
    device.refresh_from_db()
    assert device.enabled and not device.removed_upstream


def test_staff_cannot_open_the_products_page(client_for, staff_user, viewer_user, fleet):
    assert client_for(staff_user).get("/devices/products/").status_code == 403
    assert client_for(viewer_user).get("/devices/products/").status_code == 403
