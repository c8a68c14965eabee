"""Only staff and admins of the tenant see prices, purchases and orders; viewers get 403,
another company's objects are 404, and devices of another company never enter a purchase."""
import pytest
from django.urls import reverse

from devices.order_models import Order, Purchase
from tests.devices.factories_packages import mirror_only_device, price

PAGES = ["devices:prices", "devices:purchase_new", "devices:orders", "devices:spend",
         "devices:renewals"]


@pytest.fixture
def order(tenant, staff_user):
    device = mirror_only_device(tenant, name="cam0001")
    purchase = Purchase.objects.create(tenant=tenant, token="t1", package_id="yc1m7d",
                                       device_ids=[device.pk], status="confirmed")
    return Order.objects.create(tenant=tenant, purchase=purchase, device=device,
                                package_id="yc1m7d", price_cents=999, currency="CNY")


@pytest.mark.parametrize("name", PAGES)
def test_viewer_cannot_open_package_pages(name, viewer_user, client_for):
    assert client_for(viewer_user).get(reverse(name)).status_code == 403


def test_viewer_sees_no_purchase_order_or_storage_page(order, viewer_user, client_for):
    client = client_for(viewer_user)
    for url in (reverse("devices:purchase_detail", args=[order.purchase_id]),
                reverse("devices:purchase_review", args=[order.purchase_id]),
                reverse("devices:device_storage", args=[order.device_id])):
        response = client.get(url)
        assert response.status_code == 403
        assert b"9.99" not in response.content
    assert client.post(reverse("devices:order_retry", args=[order.pk])).status_code == 403


def test_viewer_cannot_read_or_change_prices(tenant, viewer_user, client_for):
    price(tenant, "yc1m7d", 4321)
    client = client_for(viewer_user)
    response = client.post(reverse("devices:prices"), {"currency": "USD", "price_yc1m7d": "1.00"})
    assert response.status_code == 403
    assert tenant.package_prices.get().price_cents == 4321


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("devices:orders"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_foreign_admin_gets_404_for_our_objects(order, foreign_admin, client_for):
    client = client_for(foreign_admin)
    assert client.get(reverse("devices:purchase_detail", args=[order.purchase_id])).status_code == 404
    assert client.get(reverse("devices:purchase_review", args=[order.purchase_id])).status_code == 404
    assert client.post(reverse("devices:order_retry", args=[order.pk])).status_code == 404
    assert client.get(reverse("devices:device_storage", args=[order.device_id])).status_code == 404
    orders_page = client.get(reverse("devices:orders"))
    assert orders_page.status_code == 200
    assert order.order_id.encode() not in orders_page.content


def test_foreign_devices_cannot_be_bought_for(other_tenant, staff_user, client_for):
    foreign = mirror_only_device(other_tenant, name="theirs")
    client = client_for(staff_user)
    response = client.get(reverse("devices:purchase_new"), {"device": [foreign.pk]})
    assert response.status_code == 400
    assert b"do not exist in this company" in response.content
    response = client.post(reverse("devices:purchase_new"), {
        "device": [foreign.pk], "package": "yc1m7d", "start_mode": "end", "token": "x" * 20})
    assert response.status_code == 400
    assert not Purchase.objects.exists()


def test_nonsense_device_ids_are_a_clear_400(staff_user, client_for):
    response = client_for(staff_user).get(reverse("devices:purchase_new"), {"device": ["abc"]})
    assert response.status_code == 400
    assert "“abc” is not a device id." in response.content.decode()


def test_staff_edit_prices_in_currency_units(tenant, staff_user, client_for):
    client = client_for(staff_user)
    response = client.post(reverse("devices:prices"), {"currency": "usd", "price_yc1m7d": "12.50",
                                                       "price_ye1m3d": ""})
    assert response.status_code == 302
    stored = tenant.package_prices.get()
    assert (stored.package_id, stored.price_cents, stored.currency) == ("yc1m7d", 1250, "USD")
    bad = client.post(reverse("devices:prices"), {"currency": "USD", "price_yc1m7d": "12.505"})
    assert bad.status_code == 400
    assert "Use at most two decimals." in bad.content.decode()
    assert tenant.audit_entries.filter(object_type="devices.PackagePrice").exists()
