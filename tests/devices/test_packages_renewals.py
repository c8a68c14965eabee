"""Renewals: the page lists storage ending soon, one click renews (queued at the end), devices
flagged auto-renew are renewed once a day (and only once), staff get a daily email."""
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from devices.models import Device
from devices.order_models import Order, OrderKind, OrderState, Purchase
from devices.packages import services
from devices.packages.tasks import auto_renew, expiry_digest, order_submit
from tests.devices.factories_packages import cloud_devices, connect, mirror_only_device


@pytest.fixture
def bought(tenant, staff_user, localcloud, sdk_client, django_capture_on_commit_callbacks):
    """Two devices with a week of event storage each (so it ends within the next 30 days)."""
    connect(tenant, localcloud)
    devices = cloud_devices(sdk_client, tenant, count=2)
    with django_capture_on_commit_callbacks(execute=False):
        purchase, _ = services.purchase_direct(
            tenant=tenant, user=staff_user, package_id="ye1w7d", start_mode="end",
            device_ids=[d.pk for d in devices], token=uuid.uuid4().hex)
    for order in purchase.orders.all():
        order_submit.apply(args=[order.pk])
    return devices


def test_renewals_page_lists_storage_ending_soon(bought, tenant, staff_user, client_for):
    later = mirror_only_device(tenant, name="later")
    Device.objects.filter(pk=later.pk).update(package_expires_at=timezone.now() + timedelta(days=90))
    page = client_for(staff_user).get(reverse("devices:renewals"), {"days": 30}).content.decode()
    for device in bought:
        assert device.name in page
    assert "later" not in page
    assert "Event recording, 1 week, 7 days kept" in page
    bad = client_for(staff_user).get(reverse("devices:renewals"), {"days": "soon"})
    assert bad.status_code == 400


def test_one_click_renews_each_device_queued_at_the_end(bought, staff_user, client_for,
                                                        django_capture_on_commit_callbacks):
    client = client_for(staff_user)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("devices:renewals") + "?days=30",
                               {"device": [d.pk for d in bought], "token": "once"})
        again = client.post(reverse("devices:renewals") + "?days=30",
                            {"device": [d.pk for d in bought], "token": "once"})
    assert response.status_code == again.status_code == 302
    renewals = Order.objects.filter(kind=OrderKind.RENEWAL)
    assert renewals.count() == 2  # the reload renewed nothing twice
    for order in renewals:
        order_submit.apply(args=[order.pk])
    for order in Order.objects.filter(kind=OrderKind.RENEWAL):
        first = Order.objects.get(device=order.device, kind=OrderKind.PURCHASE)
        assert order.state == OrderState.QUEUED
        assert order.package_id == "ye1w7d"
        assert order.start_at == first.expires_at


def test_auto_renew_runs_once_a_day_for_flagged_devices(bought, tenant,
                                                        django_capture_on_commit_callbacks):
    flagged, other = bought
    Device.objects.filter(pk=flagged.pk).update(auto_renew=True)
    # The week bought ends within 3 days only when we look from 5 days ahead.
    with django_capture_on_commit_callbacks(execute=False):
        assert services.auto_renew_tenant(tenant=tenant, days=3) is None
        purchase = services.auto_renew_tenant(tenant=tenant, days=8)
        again = services.auto_renew_tenant(tenant=tenant, days=8)
    assert purchase is not None and purchase.kind == OrderKind.AUTO_RENEWAL
    assert [o.device_id for o in purchase.orders.all()] == [flagged.pk]
    assert again is None  # already renewed (queued order pending)
    assert Purchase.objects.filter(kind=OrderKind.AUTO_RENEWAL).count() == 1
    with django_capture_on_commit_callbacks(execute=False):
        assert auto_renew.apply().get() == 0  # the daily task: nothing due within 3 days


def test_daily_email_tells_staff_what_expires(bought, tenant, staff_user, admin_user, viewer_user):
    assert expiry_digest.apply().get() == 2  # staff + admin, not the viewer
    (message,) = mail.outbox
    assert set(message.to) == {staff_user.email, admin_user.email}
    for device in bought:
        assert device.name in message.body
    assert "2 devices' cloud storage ends in the next 7 days" in message.subject


def test_auto_renew_flag_is_set_per_device(tenant, staff_user, viewer_user, client_for):
    device = mirror_only_device(tenant)
    url = reverse("devices:device_auto_renew", args=[device.pk])
    assert client_for(viewer_user).post(url, {"auto_renew": "1"}).status_code == 403
    assert client_for(staff_user).post(url, {"auto_renew": "1"}).status_code == 302
    assert Device.objects.get(pk=device.pk).auto_renew
