"""/api/v1/ purchases and orders: an Idempotency-Key makes a repeated request buy nothing
twice; staff only; another company's objects are invisible."""
import pytest
from django.urls import reverse

from devices.order_models import Order, Purchase
from tests.devices.factories_packages import mirror_only_device, price

PURCHASES = "/api/v1/purchases/"
ORDERS = "/api/v1/orders/"


@pytest.fixture
def devices(tenant):
    price(tenant, "ye1m7d", 500)
    return [mirror_only_device(tenant, name="cam1"), mirror_only_device(tenant, name="cam2"),
            mirror_only_device(tenant, name="lock1", picture=True)]


def _post(client, body, key=None, capture=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(PURCHASES, body, content_type="application/json", **headers)


def test_same_idempotency_key_makes_one_purchase(devices, staff_user, client_for,
                                                 django_capture_on_commit_callbacks):
    client = client_for(staff_user)
    body = {"package_id": "yc1m7d", "start_mode": "end", "devices": [d.pk for d in devices]}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = _post(client, body, key="k-123")
        again = _post(client, body, key="k-123")
    assert first.status_code == 201, first.json()
    assert again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Purchase.objects.count() == 1
    # The picture-stream lock cannot hold a full-time package: no order for it, and why.
    assert Order.objects.count() == 2
    assert first.json()["ineligible"] == [{
        "device": devices[2].pk, "device_name": "lock1",
        "reason": "Picture-stream devices can only hold event packages."}]
    assert len(callbacks) == 1


def test_reused_key_with_another_body_is_refused(devices, staff_user, client_for,
                                                 django_capture_on_commit_callbacks):
    client = client_for(staff_user)
    with django_capture_on_commit_callbacks(execute=False):
        _post(client, {"package_id": "ye1m7d", "devices": [devices[0].pk]}, key="same")
        response = _post(client, {"package_id": "ye1m7d", "devices": [devices[1].pk]}, key="same")
    assert response.status_code == 422
    assert "already used for a different purchase" in response.json()["detail"]
    assert Order.objects.count() == 1


def test_without_a_key_each_request_is_a_new_purchase(devices, staff_user, client_for,
                                                      django_capture_on_commit_callbacks):
    client = client_for(staff_user)
    with django_capture_on_commit_callbacks(execute=False):
        _post(client, {"package_id": "ye1m7d", "devices": [devices[0].pk]})
        _post(client, {"package_id": "ye1m7d", "devices": [devices[0].pk]})
    assert Purchase.objects.count() == 2


def test_bad_input_is_a_clear_400(devices, other_tenant, staff_user, client_for):
    client = client_for(staff_user)
    foreign = mirror_only_device(other_tenant, name="theirs")
    response = _post(client, {"package_id": "ye1m7d", "devices": [foreign.pk]})
    assert response.status_code == 400
    assert "do not exist in this company" in response.json()["devices"]
    response = _post(client, {"package_id": "nope", "devices": [devices[0].pk]})
    assert response.status_code == 400 and "package_id" in response.json()
    response = _post(client, {"package_id": "yc1m7d", "devices": [devices[2].pk]})
    assert response.status_code == 400
    assert response.json()["ineligible"][0]["reason"] == \
        "Picture-stream devices can only hold event packages."
    assert not Order.objects.exists()


def test_orders_list_filters_and_is_scoped(devices, tenant, other_tenant, staff_user, client_for):
    Order.objects.create(tenant=tenant, device=devices[0], package_id="ye1m7d", state="active")
    Order.objects.create(tenant=tenant, device=devices[1], package_id="ye1m7d", state="failed",
                         failure_reason="The cloud refused the request.")
    theirs = mirror_only_device(other_tenant, name="theirs")
    foreign = Order.objects.create(tenant=other_tenant, device=theirs, package_id="ye1m7d")
    client = client_for(staff_user)
    listing = client.get(ORDERS).json()
    assert {o["device_name"] for o in listing["results"]} == {"cam1", "cam2"}
    failed = client.get(ORDERS, {"state": "failed"}).json()["results"]
    assert [o["failure_reason"] for o in failed] == ["The cloud refused the request."]
    assert client.get(ORDERS, {"state": "bogus"}).status_code == 400
    assert client.get(f"{ORDERS}{foreign.pk}/").status_code == 404


def test_viewer_and_foreign_admin_get_nothing(devices, tenant, viewer_user, foreign_admin,
                                              client_for):
    order = Order.objects.create(tenant=tenant, device=devices[0], package_id="ye1m7d",
                                 price_cents=500, currency="CNY")
    viewer = client_for(viewer_user)
    assert viewer.get(ORDERS).status_code == 403
    assert viewer.get(f"{ORDERS}{order.pk}/").status_code == 403
    assert _post(viewer, {"package_id": "ye1m7d", "devices": [devices[0].pk]}).status_code == 403
    foreign = client_for(foreign_admin)
    assert foreign.get(f"{ORDERS}{order.pk}/").status_code == 404
    assert foreign.get(ORDERS).json()["results"] == []


def test_api_is_in_the_schema(staff_user, client_for):
    schema = client_for(staff_user).get(reverse("api-schema")).content.decode()
    assert "/api/v1/purchases/" in schema and "Idempotency-Key" in schema
