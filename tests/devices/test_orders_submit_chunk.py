"""A bulk purchase is submitted in chunks (one task for several orders) against the live
localcloud: each order is still claimed and bought exactly once, an order another run holds is
left to it, a takeover asks the cloud first, and an order the cloud throttles goes on alone."""
from datetime import timedelta

import pytest
from django.utils import timezone

from devices.order_models import Order, OrderState
from devices.packages import services
from devices.packages.tasks import order_submit, orders_submit
from portal.iotvideo.models import CloudCall
from tests.devices.factories_packages import cloud_devices, cloud_packages, connect, price


@pytest.fixture
def bought(tenant, staff_user, localcloud, sdk_client, django_capture_on_commit_callbacks):
    """Five confirmed, not yet submitted orders for five devices in localcloud."""
    connect(tenant, localcloud)
    devices = cloud_devices(sdk_client, tenant, count=5)
    price(tenant, "ye1m7d", 300)
    with django_capture_on_commit_callbacks(execute=False):
        services.purchase_direct(tenant=tenant, user=staff_user, package_id="ye1m7d",
                                 start_mode="end", device_ids=[d.pk for d in devices], token="chunk")
    return list(Order.objects.select_related("device", "device__product").order_by("pk"))


def _creates() -> int:
    return sum(CloudCall.objects.filter(action="CreateCloudStorage").values_list("calls", flat=True))


def _one_package_each(sdk_client, orders):
    for order in orders:
        assert [p.OrderId for p in cloud_packages(sdk_client, order.device)] == [order.order_id]


def test_a_chunk_buys_every_order_once_and_a_repeated_chunk_buys_nothing(bought, sdk_client):
    pks = [o.pk for o in bought]
    assert orders_submit.apply(args=[pks]).get() == {OrderState.ACTIVE: 5}
    assert orders_submit.apply(args=[pks]).get() == {}  # the message delivered twice
    orders = list(Order.objects.select_related("device", "device__product"))
    assert {o.state for o in orders} == {OrderState.ACTIVE}
    assert all(o.start_at and o.expires_at and o.attempts == 1 for o in orders)
    assert _creates() == 5
    _one_package_each(sdk_client, orders)


def test_an_order_another_run_holds_is_left_to_it(bought, sdk_client):
    held = services.order_claim(order_pk=bought[0].pk)  # a live worker is on it
    result = orders_submit.apply(args=[[o.pk for o in bought]]).get()
    assert result == {"skipped": 1, OrderState.ACTIVE: 4}
    held.refresh_from_db()
    assert held.state == OrderState.SUBMITTING
    assert cloud_packages(sdk_client, held.device) == []


def test_taking_over_a_dead_runs_order_asks_the_cloud_and_buys_nothing_twice(bought, sdk_client):
    # The first run bought the package, then its worker died before recording it.
    first = services.order_claim(order_pk=bought[0].pk)
    services.order_submit(order=first)
    Order.objects.filter(pk=first.pk).update(state=OrderState.SUBMITTING,
                                             lease_until=timezone.now() - timedelta(seconds=1))
    creates = _creates()

    orders_submit.apply(args=[[o.pk for o in bought]])

    taken_over = Order.objects.get(pk=first.pk)
    assert taken_over.state == OrderState.ACTIVE and taken_over.attempts == 2
    assert _creates() - creates == 4  # only the four orders nobody had bought
    _one_package_each(sdk_client, Order.objects.select_related("device", "device__product"))


def test_a_throttled_order_goes_on_alone_and_the_chunk_carries_on(
        bought, tenant, localcloud_factory, sdk_client, settings):
    settings.IOTVIDEO_POLICIES = {"background": {"max_attempts": 2, "backoff_base": 0.001,
                                                 "backoff_cap": 0.002}}
    connect(tenant, localcloud_factory(faults="RequestLimitExceeded:1"))
    handed_off = []
    result = services.orders_submit_many(order_pks=[o.pk for o in bought[:2]],
                                         on_retryable=lambda pk, exc: handed_off.append((pk, exc.code)))
    assert result == {"retry": 2}
    assert handed_off == [(bought[0].pk, "RequestLimitExceeded"),
                          (bought[1].pk, "RequestLimitExceeded")]
    # Released for the run that retries it, which asks the cloud first.
    for order in Order.objects.filter(pk__in=[bought[0].pk, bought[1].pk]):
        assert order.state == OrderState.SUBMITTING and order.lease_until is None

    connect(tenant, localcloud_factory())  # the cloud takes requests again
    assert order_submit.apply(args=[bought[0].pk]).get() == OrderState.ACTIVE
    assert [p.OrderId for p in cloud_packages(sdk_client, bought[0].device)] == [bought[0].order_id]
