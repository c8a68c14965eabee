"""Exactly once with real Celery worker processes: a worker killed with SIGKILL in the middle of
a bulk purchase and a fresh one started → every order ends in force or queued, and the cloud
holds exactly one package per order; a throttling cloud → every order still completes."""
import uuid

import pytest
from django.urls import reverse

from devices.order_models import Order, OrderState
from portal.models import Role
from tests.devices.factories_packages import (
    Worker,
    cloud_devices,
    cloud_packages,
    connect,
    price,
    shared_database,
    wait_for,
)
from tests.factories import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.slow]
DONE = (OrderState.ACTIVE, OrderState.QUEUED)


def _buy(client, devices, package="ye1m7d"):
    url = reverse("devices:purchase_new")
    response = client.post(url, {"device": [d.pk for d in devices], "package": package,
                                 "start_mode": "end", "token": uuid.uuid4().hex})
    assert response.status_code == 302, response.content[:500]
    confirm = client.post(response["Location"])
    assert confirm.status_code == 302


def _counts():
    return {state: Order.objects.filter(state=state).count() for state in OrderState.values}


def _assert_one_package_per_order(sdk_client, orders):
    for order in orders:
        packages = cloud_packages(sdk_client, order.device)
        assert [p.OrderId for p in packages] == [order.order_id], order.device.name


@pytest.fixture
def queue(settings):
    name = f"pkgtest-{uuid.uuid4().hex[:8]}"
    settings.PACKAGES_QUEUE = name
    return name


def test_worker_killed_mid_purchase_loses_and_duplicates_nothing(
        transactional_db, tmp_path, queue, localcloud, localcloud_factory, sdk_client, client_for):
    # A slow cloud (every answer 200 ms late) so the kill lands in the middle of the purchase.
    slow = localcloud_factory(env={"LOCALCLOUD_FAULTS": "latency_ms:200"})
    with shared_database(tmp_path) as database_url:
        tenant = TenantFactory()
        staff = MembershipFactory(tenant=tenant, role=Role.STAFF).user
        connect(tenant, slow)
        devices = cloud_devices(sdk_client, tenant, count=30)
        price(tenant, "ye1m7d", 300)
        env = {"PACKAGES_SUBMIT_LEASE_SECONDS": "3"}
        first = Worker(database_url=database_url, queue=queue, log_path=tmp_path / "w1.log",
                       env=env).start()
        second = None
        try:
            _buy(client_for(staff), devices)
            assert Order.objects.count() == 30
            # Kill while an order is being submitted (claimed, maybe bought, not yet recorded).
            wait_for(lambda: Order.objects.filter(state__in=DONE).count() >= 3
                     and Order.objects.filter(state=OrderState.SUBMITTING).exists(), timeout=90, interval=0.05,
                     message="the first worker never got going:\n" + first.log()[-3000:])
            first.kill()
            counts = _counts()
            print("at the kill:", counts)
            assert counts[OrderState.ACTIVE] < 30, "killed too late to prove anything"
            assert counts[OrderState.SUBMITTING] >= 1

            second = Worker(database_url=database_url, queue=queue,
                            log_path=tmp_path / "w2.log", env=env).start()
            wait_for(lambda: Order.objects.filter(state__in=DONE).count() == 30, timeout=150,
                     message=f"orders left behind: {_counts()}\n{second.log()[-3000:]}")
        finally:
            first.kill()
            if second:
                second.stop()
        orders = list(Order.objects.select_related("device", "device__product"))
        print("attempts:", sorted(o.attempts for o in orders)[-5:])
        assert {o.state for o in orders} == {OrderState.ACTIVE}
        _assert_one_package_per_order(sdk_client, orders)


def test_throttling_cloud_still_completes_every_order(
        transactional_db, tmp_path, queue, localcloud, localcloud_factory, sdk_client, client_for):
    throttling = localcloud_factory(faults="RequestLimitExceeded:0.4")
    with shared_database(tmp_path) as database_url:
        tenant = TenantFactory()
        staff = MembershipFactory(tenant=tenant, role=Role.STAFF).user
        connect(tenant, throttling)
        devices = cloud_devices(sdk_client, tenant, count=12)
        worker = Worker(database_url=database_url, queue=queue, log_path=tmp_path / "w.log").start()
        try:
            _buy(client_for(staff), devices)
            wait_for(lambda: Order.objects.filter(state__in=DONE).count() == 12, timeout=150,
                     message=f"orders left behind: {_counts()}\n{worker.log()[-3000:]}")
        finally:
            worker.stop()
        orders = list(Order.objects.select_related("device", "device__product"))
        _assert_one_package_per_order(sdk_client, orders)
        assert "RequestLimitExceeded" in worker.log() or any(o.attempts > 1 for o in orders) \
            or throttling.log().count("RequestLimitExceeded") > 0
