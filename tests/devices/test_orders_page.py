"""The orders page (filters, CSV export) and the spend page (totals per month and package, the
cloud's consumption as a chart), in the user's time zone."""
import csv
import io
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from devices.order_models import Order, OrderState
from devices.packages import services
from devices.packages.tasks import order_submit
from portal.models import UserProfile
from tests.devices.factories_packages import cloud_devices, connect, mirror_only_device, price

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def orders(tenant):
    cam = mirror_only_device(tenant, name="cam-a")
    lock = mirror_only_device(tenant, name="lock-b", picture=True)
    return [
        Order.objects.create(tenant=tenant, device=cam, package_id="yc1m7d", state="active",
                             price_cents=1250, currency="CNY",
                             created_at=datetime(2026, 9, 30, 17, 0, tzinfo=ZoneInfo("UTC"))),
        Order.objects.create(tenant=tenant, device=lock, package_id="ye1m3d", state="failed",
                             failure_reason="The cloud refused the request.",
                             created_at=datetime(2026, 10, 5, 3, 0, tzinfo=SHANGHAI)),
        Order.objects.create(tenant=tenant, device=lock, package_id="ye1m3d", state="queued",
                             price_cents=300, currency="CNY",
                             created_at=datetime(2026, 10, 6, 3, 0, tzinfo=SHANGHAI)),
    ]


def test_orders_filter_by_state_package_device_and_date(orders, staff_user, client_for):
    client = client_for(staff_user)

    def shown(**params):
        text = client.get(reverse("devices:orders"), params).content.decode()
        return {o.order_id for o in orders if o.order_id in text}

    assert shown() == {o.order_id for o in orders}
    assert shown(state="failed") == {orders[1].order_id}
    assert shown(package="yc1m7d") == {orders[0].order_id}
    assert shown(device="lock") == {orders[1].order_id, orders[2].order_id}
    # 2026-09-30 17:00 UTC is already 1 October in Shanghai (the tenant's zone).
    assert shown(date_from="2026-10-01", date_to="2026-10-01") == {orders[0].order_id}


def test_bad_filters_say_what_is_wrong(staff_user, client_for):
    client = client_for(staff_user)
    response = client.get(reverse("devices:orders"), {"state": "lost"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    response = client.get(reverse("devices:orders"), {"date_from": "2026-10-05", "date_to": "2026-10-01"})
    assert response.status_code == 400
    assert "The start date is after the end date." in response.content.decode()


def test_csv_export_follows_the_filter_in_the_users_time_zone(orders, staff_user, client_for):
    UserProfile.objects.create(user=staff_user, time_zone="Europe/Berlin")
    response = client_for(staff_user).get(reverse("devices:orders"), {"device": "lock", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["order_id"] for r in rows] == [orders[2].order_id, orders[1].order_id]
    assert rows[1]["reason"] == "The cloud refused the request."
    assert rows[0]["price"] == "3.00"
    assert rows[0]["created_at"].startswith("2026-10-05T21:00:00+02:00")


def test_spend_totals_per_month_and_package(orders, staff_user, client_for, tenant, localcloud):
    connect(tenant, localcloud)
    text = client_for(staff_user).get(reverse("devices:spend"), {
        "start": "2026-01-01", "end": "2026-11-28"}).content.decode()
    assert "October 2026" in text
    assert "CNY 12.50" in text and "CNY 3.00" in text  # the failed order cost nothing
    assert "December 2026" not in text


def test_spend_chart_shows_the_clouds_consumption(tenant, staff_user, client_for, localcloud,
                                                  sdk_client, django_capture_on_commit_callbacks):
    connect(tenant, localcloud)
    devices = cloud_devices(sdk_client, tenant, count=2)
    price(tenant, "ye1m30d", 1000)
    with django_capture_on_commit_callbacks(execute=False):
        purchase, _ = services.purchase_direct(
            tenant=tenant, user=staff_user, package_id="ye1m30d", start_mode="end",
            device_ids=[d.pk for d in devices], token=uuid.uuid4().hex)
    for order in purchase.orders.all():
        order_submit.apply(args=[order.pk])
    assert set(purchase.orders.values_list("state", flat=True)) == {OrderState.ACTIVE}
    text = client_for(staff_user).get(reverse("devices:spend")).content.decode()
    assert "<svg" in text and "<rect" in text and "ye1m30d" in text


def test_spend_refuses_more_than_a_year(staff_user, client_for):
    response = client_for(staff_user).get(reverse("devices:spend"), {
        "start": "2024-01-01", "end": "2026-01-01"})
    assert response.status_code == 400
    assert "at most one year" in response.content.decode()
