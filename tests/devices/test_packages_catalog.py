"""The catalog names every package of the reference, and packages a device cannot take are
refused with the reason: on the review page and at confirmation."""
import pytest
from django.urls import reverse

from devices.order_models import Order
from devices.packages import catalog
from tests.devices.factories_packages import mirror_only_device

REFERENCE_IDS = ["yc1m3d", "yc1m7d", "yc1m30d", "yc1y3d", "yc1y7d", "yc1y30d", "yc1w7d", "ye1m3d", "ye1m7d", "ye1m30d", "ye1y3d", "ye1y7d", "ye1y30d", "ye1w7d", "lye1m3d", "lye1m7d", "lye1m30d", "lye1y3d", "lye1y7d", "lye1y30d"]


def test_every_reference_package_has_a_human_name():
    assert sorted(catalog.PAID_PACKAGE_IDS) == sorted(REFERENCE_IDS)
    assert catalog.parse("lye1y30d").name == "Low-power event recording, 1 year, 30 days kept"
    assert catalog.parse("yc1w7d").duration.days == 7
    assert catalog.parse("ye1w3d").free_trial
    assert catalog.parse("yc2m7d") is None


@pytest.mark.django_db
def test_picture_stream_devices_take_event_packages_only(tenant):
    device = mirror_only_device(tenant, picture=True)
    assert catalog.ineligibility_reason(catalog.parse("yc1m7d"), device) == \
        "Picture-stream devices can only hold event packages."
    assert catalog.ineligibility_reason(catalog.parse("ye1m7d"), device) is None


@pytest.mark.django_db
def test_low_power_packages_only_for_low_power_products(tenant):
    mains = mirror_only_device(tenant, name="mains")
    battery = mirror_only_device(tenant, name="battery", low_power=True)
    reason = catalog.ineligibility_reason(catalog.parse("lye1m7d"), mains)
    assert reason == "Low-power packages are only for low-power (battery) products."
    assert catalog.ineligibility_reason(catalog.parse("lye1m7d"), battery) is None


def test_review_lists_devices_that_cannot_take_the_package_with_the_reason(
        tenant, staff_user, client_for):
    video = mirror_only_device(tenant, name="video1")
    picture = mirror_only_device(tenant, name="lock1", picture=True)
    client = client_for(staff_user)
    response = client.post(reverse("devices:purchase_new"), {
        "device": [video.pk, picture.pk], "package": "yc1m7d", "start_mode": "end",
        "token": "tok-" + "a" * 20})
    review = client.get(response["Location"])
    text = review.content.decode()
    assert "Cannot take this package" in text
    assert "lock1" in text and "Picture-stream devices can only hold event packages." in text


def test_confirm_refuses_when_no_device_can_take_the_package(tenant, staff_user, client_for):
    picture = mirror_only_device(tenant, name="lock1", picture=True)
    client = client_for(staff_user)
    response = client.post(reverse("devices:purchase_new"), {
        "device": [picture.pk], "package": "yc1m7d", "start_mode": "end", "token": "tok-" + "b" * 20})
    review_url = response["Location"]
    assert "None of the selected devices can take this package." in client.get(review_url).content.decode()
    confirm = client.post(review_url, follow=True)
    assert "None of the selected devices can take this package." in confirm.content.decode()
    assert not Order.objects.exists()


def test_unknown_package_is_refused(tenant, staff_user, client_for):
    device = mirror_only_device(tenant)
    response = client_for(staff_user).post(reverse("devices:purchase_new"), {
        "device": [device.pk], "package": "yc9m7d", "start_mode": "end", "token": "tok-" + "c" * 20})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


def test_a_bad_fleet_filter_is_refused_with_the_reason(tenant, staff_user, client_for):
    mirror_only_device(tenant)
    response = client_for(staff_user).get(reverse("devices:purchase_new"), {"filter": "online=maybe"})
    assert response.status_code == 400
    assert "The fleet filter is not valid" in response.content.decode()


def test_drafts_left_on_the_review_page_are_pruned(tenant):
    from datetime import timedelta

    from django.utils import timezone

    from devices.order_models import Purchase
    from devices.packages import services

    Purchase.objects.create(tenant=tenant, token="old", package_id="yc1m7d",
                            created_at=timezone.now() - timedelta(days=8))
    Purchase.objects.create(tenant=tenant, token="new", package_id="yc1m7d")
    assert services.purchase_drafts_prune() == 1
    assert list(Purchase.objects.values_list("token", flat=True)) == ["new"]
