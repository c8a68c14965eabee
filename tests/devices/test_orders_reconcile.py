"""Reconciliation with the live cloud: wrong states are corrected and audited, a reset in the
cloud cancels the orders, a lost task is resumed by asking the cloud first, and a failed order
carries the cloud's reason until staff send it again."""
import json
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from tencentcloud.iotvideo.v20211125 import models as sdk

from devices.order_models import Order, OrderState
from devices.packages import selectors, services
from devices.packages.tasks import order_submit, orders_reconcile
from portal.models import AuditEntry
from tests.devices.factories_packages import (
    cloud_devices,
    cloud_packages,
    connect,
    mirror_only_device,
)


def _buy(tenant, user, devices, package="ye1m7d", mode="end", capture=None):
    with capture(execute=False):
        purchase, _created = services.purchase_direct(
            tenant=tenant, user=user, package_id=package, start_mode=mode,
            device_ids=[d.pk for d in devices], token=uuid.uuid4().hex)
    for order in purchase.orders.all():
        order_submit.apply(args=[order.pk])
    return list(purchase.orders.select_related("device", "device__product"))


@pytest.fixture
def cloud(tenant, localcloud, sdk_client):
    connect(tenant, localcloud)
    return cloud_devices(sdk_client, tenant, count=2)


def test_reconcile_corrects_a_wrong_state_and_audits_it(tenant, staff_user, cloud,
                                                        django_capture_on_commit_callbacks):
    (order,) = _buy(tenant, staff_user, cloud[:1], capture=django_capture_on_commit_callbacks)
    assert order.state == OrderState.ACTIVE
    Order.objects.filter(pk=order.pk).update(state=OrderState.QUEUED, expires_at=None)
    assert orders_reconcile.apply().get() == 1
    order.refresh_from_db()
    assert order.state == OrderState.ACTIVE and order.expires_at
    entry = AuditEntry.objects.get(action="reconcile", object_id=str(order.pk))
    assert entry.before["state"] == "queued" and entry.after["state"] == "active"
    assert orders_reconcile.apply().get() == 0  # nothing more to correct


def test_reset_in_the_cloud_cancels_the_orders(tenant, staff_user, cloud, sdk_client,
                                               django_capture_on_commit_callbacks):
    (order,) = _buy(tenant, staff_user, cloud[:1], capture=django_capture_on_commit_callbacks)
    request = sdk.ResetCloudStorageRequest()
    request.from_json_string(json.dumps({"ProductId": order.device.product.product_id,
                                         "DeviceName": order.device.name}))
    sdk_client.ResetCloudStorage(request)
    orders_reconcile.apply()
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    assert AuditEntry.objects.filter(action="reconcile", object_id=str(order.pk)).exists()


def test_a_lost_task_is_resumed_without_buying_twice(tenant, staff_user, cloud, sdk_client,
                                                     django_capture_on_commit_callbacks):
    device = cloud[0]
    order = Order.objects.create(tenant=tenant, device=device, package_id="ye1m7d",
                                 start_mode="end")
    # The first run bought the package, then its worker died before recording it.
    request = sdk.CreateCloudStorageRequest()
    request.from_json_string(json.dumps({
        "ProductId": device.product.product_id, "DeviceName": device.name,
        "PackageId": "ye1m7d", "OrderId": order.order_id, "PackageQueue": "end"}))
    sdk_client.CreateCloudStorage(request)
    Order.objects.filter(pk=order.pk).update(
        state=OrderState.SUBMITTING, attempts=1, submitted_at=timezone.now(),
        lease_until=timezone.now() - timedelta(seconds=1))
    # The periodic sweep (and a worker that starts) queues it again.
    assert selectors.orders_stale(older_than=timedelta(seconds=30)) == [order.pk]
    assert order_submit.apply(args=[order.pk]).get() == OrderState.ACTIVE
    order.refresh_from_db()
    assert order.attempts == 2
    assert [p.OrderId for p in cloud_packages(sdk_client, device)] == [order.order_id]


def test_an_order_held_by_a_live_worker_is_left_alone(tenant, cloud):
    order = Order.objects.create(tenant=tenant, device=cloud[0], package_id="ye1m7d",
                                 state=OrderState.SUBMITTING, attempts=1,
                                 lease_until=timezone.now() + timedelta(seconds=60))
    assert order_submit.apply(args=[order.pk]).get() == "skipped"


def test_a_refused_order_fails_with_the_cloud_reason_and_staff_retry_it(
        tenant, staff_user, client_for, localcloud, django_capture_on_commit_callbacks):
    connect(tenant, localcloud)
    ghost = mirror_only_device(tenant, name="ghost0001")  # the cloud has no such device
    order = Order.objects.create(tenant=tenant, device=ghost, package_id="ye1m7d")
    assert order_submit.apply(args=[order.pk]).get() == OrderState.FAILED
    order.refresh_from_db()
    assert order.failure_reason and order.failure_code.startswith("ResourceNotFound")
    client = client_for(staff_user)
    page = client.get(reverse("devices:orders"), {"state": "failed"}).content.decode()
    assert order.failure_reason in page.replace("&#x27;", "'").replace("&quot;", '"') or \
        "no such item" in page
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("devices:order_retry", args=[order.pk]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == OrderState.PENDING and len(callbacks) == 1
    assert AuditEntry.objects.filter(action="retry", object_id=str(order.pk)).exists()
    # A second retry of an order that is no longer failed does nothing.
    client.post(reverse("devices:order_retry", args=[order.pk]))
    assert Order.objects.get(pk=order.pk).state == OrderState.PENDING
