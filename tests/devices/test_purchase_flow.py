"""Staff buy a package for several devices: choose → review → confirm → one order per device,
submitted to the live localcloud exactly once."""
import re

import pytest
from django.urls import reverse

from devices.order_models import Order, OrderState, Purchase
from devices.packages.tasks import order_submit
from tests.devices.factories_packages import cloud_devices, cloud_packages, connect, price


def _choose(client, devices, package="yc1m7d", start_mode="end"):
    url = reverse("devices:purchase_new")
    page = client.get(url, {"device": [d.pk for d in devices]})
    assert page.status_code == 200
    token = re.search(rb'name="token" value="([^"]+)"', page.content).group(1).decode()
    response = client.post(url, {"device": [d.pk for d in devices], "package": package,
                                 "start_mode": start_mode, "token": token})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"], token


@pytest.fixture
def setup(tenant, staff_user, client_for, localcloud, sdk_client):
    connect(tenant, localcloud)
    devices = cloud_devices(sdk_client, tenant, count=3)
    price(tenant, "yc1m7d", 1250)
    return client_for(staff_user), devices


def test_review_shows_each_device_and_the_total(setup):
    client, devices = setup
    review_url, _token = _choose(client, devices)
    page = client.get(review_url)
    assert page.status_code == 200
    text = page.content.decode()
    for device in devices:
        assert device.name in text
    assert "CNY 37.50" in text  # 3 × 12.50
    assert "No package" in text
    assert "Starts now: no package is in force." in text


def test_confirm_creates_one_order_per_device_and_twice_creates_nothing_more(
        setup, django_capture_on_commit_callbacks):
    client, devices = setup
    review_url, token = _choose(client, devices)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = client.post(review_url)
    second = client.post(review_url)  # the double click
    assert first.status_code == second.status_code == 302
    orders = list(Order.objects.filter(device__in=devices))
    assert len(orders) == 3
    assert len({o.order_id for o in orders}) == 3
    assert {o.state for o in orders} == {OrderState.PENDING}
    assert len(callbacks) == 1  # the second confirm queued nothing
    # Sending the choose form again with the same token finds the same purchase.
    again = client.post(reverse("devices:purchase_new"), {
        "device": [d.pk for d in devices], "package": "yc1m7d", "start_mode": "end", "token": token})
    assert again["Location"] == review_url
    assert Purchase.objects.count() == 1


def test_submitted_orders_end_in_force_with_one_package_each(setup, sdk_client,
                                                             django_capture_on_commit_callbacks):
    client, devices = setup
    review_url, _token = _choose(client, devices)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(review_url)
    for order in Order.objects.all():
        order_submit.apply(args=[order.pk])
        order_submit.apply(args=[order.pk])  # a duplicate message: must buy nothing more
    for order in Order.objects.select_related("device"):
        assert order.state == OrderState.ACTIVE
        assert order.expires_at and order.start_at
        packages = cloud_packages(sdk_client, order.device)
        assert [p.OrderId for p in packages] == [order.order_id]
    progress = client.get(reverse("devices:purchase_detail", args=[Order.objects.first().purchase_id]))
    assert "3 orders: 3 in force, 0 queued, 0 failed." in progress.content.decode()


def test_queued_at_the_end_after_the_package_in_force(setup, sdk_client,
                                                      django_capture_on_commit_callbacks):
    client, devices = setup
    device = devices[0]
    for _round in range(2):
        review_url, _token = _choose(client, [device], start_mode="end")
        with django_capture_on_commit_callbacks(execute=False):
            client.post(review_url)
        for order in Order.objects.filter(state=OrderState.PENDING):
            order_submit.apply(args=[order.pk])
    first, second = Order.objects.order_by("created_at", "id")
    assert (first.state, second.state) == (OrderState.ACTIVE, OrderState.QUEUED)
    assert second.start_at == first.expires_at


def test_review_says_how_the_current_package_is_affected(setup, django_capture_on_commit_callbacks):
    client, devices = setup
    device = devices[0]
    review_url, _token = _choose(client, [device])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(review_url)
    order_submit.apply(args=[Order.objects.get().pk])
    review_url, _token = _choose(client, [device], start_mode="override")
    assert "Replaces Full-time recording, 1 month, 7 days kept" in client.get(review_url).content.decode()
    review_url, _token = _choose(client, [device], start_mode="front")
    assert "pauses and resumes after this one" in client.get(review_url).content.decode()


def test_all_devices_matching_an_owner_filter_can_be_bought_for(setup, tenant, viewer_user):
    client, devices = setup
    from devices.models import Device

    Device.objects.filter(pk=devices[0].pk).update(owner=viewer_user)
    page = client.get(reverse("devices:purchase_new"), {"filter": f"owner={viewer_user.pk}"})
    assert page.status_code == 200, page.content.decode()[:1000]
    text = page.content.decode()
    assert devices[0].name in text
    assert devices[1].name not in text and devices[2].name not in text
