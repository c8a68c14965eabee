"""A device's storage actions against the live cloud: transfer to another device, reset with a
typed confirmation, and the free trial once per device."""
import uuid

import pytest
from django.urls import reverse

from devices.order_models import Order, OrderKind, OrderState
from devices.packages import services
from devices.packages.tasks import order_submit
from portal.models import AuditEntry
from tests.devices.factories_packages import cloud_devices, cloud_packages, connect


@pytest.fixture
def devices(tenant, localcloud, sdk_client):
    connect(tenant, localcloud)
    return cloud_devices(sdk_client, tenant, count=2)


def _buy(tenant, user, device, capture):
    with capture(execute=False):
        purchase, _ = services.purchase_direct(tenant=tenant, user=user, package_id="yc1m7d",
                                               start_mode="end", device_ids=[device.pk],
                                               token=uuid.uuid4().hex)
    order = purchase.orders.get()
    order_submit.apply(args=[order.pk])
    return Order.objects.get(pk=order.pk)


def test_storage_page_shows_the_cloud_packages(devices, tenant, staff_user, client_for,
                                               django_capture_on_commit_callbacks):
    order = _buy(tenant, staff_user, devices[0], django_capture_on_commit_callbacks)
    page = client_for(staff_user).get(reverse("devices:device_storage", args=[devices[0].pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert order.order_id in text and "In force" in text


def test_transfer_moves_the_package_and_its_orders(devices, tenant, staff_user, client_for,
                                                   sdk_client, django_capture_on_commit_callbacks):
    source, target = devices
    order = _buy(tenant, staff_user, source, django_capture_on_commit_callbacks)
    response = client_for(staff_user).post(
        reverse("devices:device_transfer", args=[source.pk]), {"target": target.pk}, follow=True)
    assert "Cloud storage moved to" in response.content.decode()
    assert cloud_packages(sdk_client, source) == []
    assert [p.OrderId for p in cloud_packages(sdk_client, target)] == [order.order_id]
    order.refresh_from_db()
    assert order.device_id == target.pk and order.transferred_from.endswith(source.name)
    assert AuditEntry.objects.filter(action="transfer", object_id=str(source.pk)).exists()


def test_transfer_to_a_device_with_a_package_shows_the_cloud_reason(
        devices, tenant, staff_user, client_for, django_capture_on_commit_callbacks):
    source, target = devices
    _buy(tenant, staff_user, source, django_capture_on_commit_callbacks)
    _buy(tenant, staff_user, target, django_capture_on_commit_callbacks)
    response = client_for(staff_user).post(
        reverse("devices:device_transfer", args=[source.pk]), {"target": target.pk}, follow=True)
    text = response.content.decode().replace("&#x60;", "`")
    assert f"Device `{target.name}` already has a package" in text
    assert Order.objects.filter(device=source).count() == 1


def test_reset_needs_the_device_name_typed(devices, tenant, staff_user, client_for, sdk_client,
                                           django_capture_on_commit_callbacks):
    device = devices[0]
    order = _buy(tenant, staff_user, device, django_capture_on_commit_callbacks)
    client = client_for(staff_user)
    url = reverse("devices:device_reset", args=[device.pk])
    wrong = client.post(url, {"confirmation": "yes"}, follow=True)
    assert f"Type the device name {device.name} exactly to confirm." in wrong.content.decode()
    assert len(cloud_packages(sdk_client, device)) == 1
    right = client.post(url, {"confirmation": device.name}, follow=True)
    assert "cloud storage was reset" in right.content.decode()
    assert cloud_packages(sdk_client, device) == []
    assert Order.objects.get(pk=order.pk).state == OrderState.CANCELLED


def test_free_trial_once_per_device(devices, tenant, staff_user, client_for, sdk_client,
                                    django_capture_on_commit_callbacks):
    device = devices[0]
    client = client_for(staff_user)
    url = reverse("devices:device_free_trial", args=[device.pk])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(url)
        second = client.post(url, follow=True)
    assert "already had its free trial" in second.content.decode()
    trial = Order.objects.get(kind=OrderKind.FREE_TRIAL)
    assert trial.package_id == "ye1w3d"
    order_submit.apply(args=[trial.pk])
    assert Order.objects.get(pk=trial.pk).state == OrderState.ACTIVE
    assert [p.PackageId for p in cloud_packages(sdk_client, device)] == ["ye1w3d"]


def test_viewer_and_foreign_admin_cannot_act_on_storage(devices, viewer_user, foreign_admin,
                                                        client_for, sdk_client):
    device = devices[0]
    for user, code in ((viewer_user, 403), (foreign_admin, 404)):
        client = client_for(user)
        assert client.post(reverse("devices:device_reset", args=[device.pk]),
                           {"confirmation": device.name}).status_code == code
        assert client.post(reverse("devices:device_free_trial", args=[device.pk])).status_code == code
    assert not Order.objects.exists()
