"""A purchase for a thousand devices: the review is a summary plus a paged table (only one page
is read from the cloud), the fleet's filter selects the devices, and the progress partial
(htmx) reports the purchase until its summary."""
import pytest
from django.urls import reverse

from devices.models import Device, Product
from devices.order_models import Order, OrderState, Purchase
from portal.iotvideo.models import CloudCall
from tests.devices.factories_packages import connect, price


@pytest.fixture
def thousand(tenant, localcloud):
    connect(tenant, localcloud)
    product = Product.objects.create(tenant=tenant, product_id="BULK000001", name="bulk")
    Device.objects.bulk_create([Device(tenant=tenant, product=product, name=f"bulk{i:04d}",
                                       tags=["shop"], tag_index=",shop,")
                                for i in range(1000)])
    price(tenant, "ye1m7d", 300)
    return list(Device.objects.filter(product=product).order_by("pk"))


def test_review_of_a_thousand_devices_reads_one_page_from_the_cloud(thousand, staff_user, client_for):
    client = client_for(staff_user)
    response = client.post(reverse("devices:purchase_new"), {
        "filter": "tag=shop", "package": "ye1m7d", "start_mode": "end", "token": "bulk-token-0001"})
    assert response.status_code == 302, response.content.decode()[:1000]
    purchase = Purchase.objects.get()
    assert len(purchase.device_ids) == 1000
    calls_before = _calls()
    page = client.get(response["Location"])
    text = page.content.decode()
    assert "<strong>1000</strong>" in text
    assert "CNY 3000.00" in text
    assert "Page 1 of 40" in text
    # These devices do not exist in the cloud: each row says so, and the page still works.
    assert text.count("bulk0") >= 25
    assert 0 < _calls() - calls_before <= 25  # one page of the table, not a thousand devices
    second = client.get(response["Location"], {"page": 2}, HTTP_HX_REQUEST="true")
    assert second.status_code == 200 and "<html" not in second.content.decode()
    assert thousand[25].name in second.content.decode()


def _calls() -> int:
    """Requests the portal sent to the cloud (the client counts them per minute)."""
    return sum(CloudCall.objects.values_list("calls", flat=True))


def test_progress_partial_reports_until_the_summary(thousand, staff_user, client_for, tenant):
    purchase = Purchase.objects.create(tenant=tenant, token="p", package_id="ye1m7d",
                                       status="confirmed", device_ids=[d.pk for d in thousand[:4]])
    orders = [Order.objects.create(tenant=tenant, purchase=purchase, device=d, package_id="ye1m7d")
              for d in thousand[:4]]
    client = client_for(staff_user)
    url = reverse("devices:purchase_detail", args=[purchase.pk])
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in partial and 'value="0"' in partial
    Order.objects.filter(pk__in=[o.pk for o in orders[:3]]).update(state=OrderState.ACTIVE)
    Order.objects.filter(pk=orders[3].pk).update(state=OrderState.FAILED, failure_reason="No.")
    done = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done  # polling stops
    assert "4 orders: 3 in force, 0 queued, 1 failed." in done
    page = client.get(url).content.decode()
    assert "Failed orders" in page and "No." in page
