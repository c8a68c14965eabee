# ruff: noqa: F811  (the `fleet` fixture is imported from test_fleet_support)
"""The device page: details, the package in force and the queue and the latest events with
thumbnails from a live localcloud, a clear message when the cloud fails, the audit trail;
who may open it."""
import pytest

from devices import services
from devices.models import Device, Product
from tests.devices.test_fleet_support import connect, fleet, grant, make_device  # noqa: F401
from tests.localcloud.device_http import buy, provision
from tests.playback.conftest import buy as buy_now
from tests.playback.conftest import simulate

pytestmark = pytest.mark.django_db(transaction=True)


def _mirror(tenant, camera, *, picture=False):
    product = Product.objects.create(tenant=tenant, product_id=camera.product_id, name="cams",
                                     stream_kind="picture" if picture else "video")
    return Device.objects.create(tenant=tenant, product=product, name=camera.device_name)


def test_device_page_shows_packages_queue_and_events_with_thumbnails(
        client_for, admin_user, tenant, localcloud, sdk_client):
    connect(tenant, localcloud)
    camera = provision(sdk_client, localcloud, picture=True)
    start = buy_now(sdk_client, camera, "ye1m3d")
    buy(sdk_client, camera, "ye1m7d")  # queued behind the first
    simulate(localcloud, camera, mode="picture", start=start, duration=30, every=10)
    device = _mirror(tenant, camera, picture=True)
    response = client_for(admin_user).get(f"/devices/{device.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "ye1m3d" in body and "ye1m7d" in body
    assert "in force" in body and "queued" in body
    events = response.context["cloud"]["events"]
    assert events, "the simulator's events are listed"
    assert any(thumb.startswith(localcloud.url) for _e, thumb in events)
    assert '<img src="' in body


def test_cloud_error_is_a_message_on_the_page(client_for, admin_user, tenant, localcloud,
                                             localcloud_factory, settings):
    settings.IOTVIDEO_POLICIES = {"interactive": {"max_attempts": 1, "retry_budget": 0}}
    broken = localcloud_factory(faults="InternalError:1")
    connect(tenant, broken)
    device = make_device(tenant, name="lonely")
    response = client_for(admin_user).get(f"/devices/{device.pk}/")
    assert response.status_code == 200
    assert "The cloud could not be asked about this device" in response.content.decode()


def test_no_cloud_connection_is_a_message_too(client_for, admin_user, tenant):
    device = make_device(tenant, name="offgrid")
    response = client_for(admin_user).get(f"/devices/{device.pk}/")
    assert response.status_code == 200
    assert "cloud connection" in response.content.decode()


def test_audit_trail_and_orders_shown_to_staff_not_viewers(client_for, admin_user, staff_user,
                                                          viewer_user, tenant):
    device = make_device(tenant, name="trail")
    services.device_update(device=device, actor=admin_user, nickname="Hall", tags=["x"], notes="",
                           location="")
    grant(device, viewer_user)
    staff_page = client_for(staff_user).get(f"/devices/{device.pk}/")
    assert staff_page.status_code == 200
    assert "Audit trail" in staff_page.content.decode()
    assert staff_page.context["audit"][0].action == "update"
    viewer_page = client_for(viewer_user).get(f"/devices/{device.pk}/")
    assert viewer_page.status_code == 200
    assert "Audit trail" not in viewer_page.content.decode()
    assert "Portal details" not in viewer_page.content.decode()


def test_viewer_cannot_open_an_ungranted_device(client_for, viewer_user, fleet):
    assert client_for(viewer_user).get(f"/devices/{fleet['a'].pk}/").status_code == 404


def test_foreign_admin_cannot_open_our_device(client_for, foreign_admin, fleet):
    assert client_for(foreign_admin).get(f"/devices/{fleet['a'].pk}/").status_code == 404


def test_unknown_device_is_404(client_for, admin_user, fleet):
    assert client_for(admin_user).get("/devices/999999/").status_code == 404


def test_admin_edits_portal_details_and_it_is_audited(client_for, admin_user, fleet):
    device = fleet["b"]
    response = client_for(admin_user).post(f"/devices/{device.pk}/edit/", {
        "nickname": "Garage", "tags": "Outdoor, night", "location": "Berlin", "notes": "n"})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.nickname == "Garage" and device.tags == ["outdoor", "night"]
    assert device.tag_index == ",outdoor,night,"


@pytest.mark.parametrize("user", ["staff_user", "viewer_user", "foreign_admin"])
def test_only_admins_of_the_tenant_edit_details(client_for, request, fleet, user):
    member = request.getfixturevalue(user)
    if user == "viewer_user":
        grant(fleet["b"], member)
    response = client_for(member).post(f"/devices/{fleet['b'].pk}/edit/", {"nickname": "x"})
    assert response.status_code in (403, 404)
    fleet["b"].refresh_from_db()
    assert fleet["b"].nickname == ""
