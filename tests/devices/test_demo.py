"""The fleet step of `manage.py seed_demo` against a live localcloud of its own: products,
devices, packages of every kind with orders, real footage, grants and the synced mirror — and a
second run that changes nothing."""
import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from devices.models import Device, DeviceGrant, PackageState, Product, StreamKind
from devices.order_models import Order, Purchase
from devices.selectors import device_list_visible
from portal import iotvideo
from portal.models import Role, Tenant
from tests.utils import subprocess_env


@pytest.fixture
def demo_cloud(localcloud_factory, settings):
    """A localcloud only this test writes to (the seed's products would otherwise show up in
    every other test's listing), with the seed pointed at it and small footage."""
    server = localcloud_factory(share=False)
    settings.LOCALCLOUD_PUBLIC_URL = server.url
    # The seed's localcloud commands (backdate, simulators) must reach this cloud's database.
    settings.DEMO_LOCALCLOUD_ENV = subprocess_env(
        DATABASE_URL=server.database_url, MEDIA_ROOT=str(server.media_root.parent),
        LOCALCLOUD_MEDIA_ROOT=str(server.media_root), LOCALCLOUD_PUBLIC_URL=server.url,
        LOCALCLOUD_SECRET_ID=server.secret_id, LOCALCLOUD_SECRET_KEY=server.secret_key)
    settings.DEMO_FULLTIME_SECONDS = 60
    settings.DEMO_EVENT_SECONDS = 600
    settings.DEMO_EVENT_EVERY = 200
    settings.DEMO_VIDEO_SIZE = "160x90"
    settings.DEMO_VIDEO_FPS = 2
    return server


def _state(tenant):
    """What a person could notice: the fleet, its orders, grants and the footage in the cloud."""
    cloud = iotvideo.cloud_for(tenant)
    footage = {}
    for device in Device.objects.filter(tenant=tenant).select_related("product"):
        pid = device.product.product_id
        days = cloud.describe_cloud_storage_dates(pid, device.name)
        spans = [(s.start, s.end) for day in days
                 for s in cloud.describe_cloud_storage_time(pid, device.name, day=day).spans]
        events = cloud.describe_cloud_storage_events(pid, device.name, size=100).events
        footage[device.name] = (len(days), spans, sorted((e.event_id, e.start) for e in events))
    return {
        "products": sorted(Product.objects.filter(tenant=tenant).values_list("name", "stream_kind")),
        "devices": sorted(Device.objects.filter(tenant=tenant).values_list(
            "name", "nickname", "package_state", "package_queued_count", "package_expires_at")),
        "orders": sorted(Order.objects.filter(tenant=tenant).values_list(
            "order_id", "device__name", "package_id", "state", "start_at", "expires_at")),
        "purchases": Purchase.objects.filter(tenant=tenant).count(),
        "grants": sorted(DeviceGrant.objects.filter(device__tenant=tenant).values_list(
            "device__name", "user__username")),
        "footage": footage,
    }


@pytest.mark.django_db
def test_seed_builds_a_believable_fleet_and_a_second_run_changes_nothing(demo_cloud, capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Fleet demo: 12 devices" in out
    tenant = Tenant.objects.get(slug="demo")
    now = timezone.now()

    video = Product.objects.get(tenant=tenant, name="Demo HD Camera C1")
    lock = Product.objects.get(tenant=tenant, name="Demo Smart Lock L2")
    assert video.stream_kind == StreamKind.VIDEO
    assert (lock.stream_kind, lock.category_id) == (StreamKind.PICTURE, 595)
    devices = {d.name: d for d in Device.objects.filter(tenant=tenant)}
    assert len(devices) == 12 and all(d.nickname for d in devices.values())
    assert devices["cam0001"].nickname == "Front door"
    # Heartbeats made some online; the others were never seen.
    online = {name for name, d in devices.items() if d.online == 1}
    assert online == {"cam0001", "cam0002", "cam0003", "cam0007", "lock0001"}

    # Packages of every kind, as the fleet page shows them after the sync.
    def state(name):
        return devices[name].package_state

    assert state("cam0001") == state("cam0003") == state("lock0001") == PackageState.ACTIVE
    assert devices["cam0001"].package_type == 1 and devices["cam0003"].package_type == 2
    assert devices["cam0002"].package_queued_count == 1
    for name in ("cam0004", "lock0002"):  # expiring in three days
        left = devices[name].package_expires_at - now
        assert dt.timedelta(days=2, hours=23) < left <= dt.timedelta(days=3)
    assert state("cam0005") == state("cam0008") == state("lock0003") == PackageState.EXPIRED
    assert state("cam0006") == state("lock0004") == PackageState.NONE

    # Orders the orders and spend pages list, in the states the cloud reports.
    orders = {(o.device.name, o.package_id, o.state) for o in Order.objects.filter(tenant=tenant)}
    assert ("cam0002", "yc1m7d", "queued") in orders and ("cam0001", "yc1m7d", "active") in orders
    assert ("cam0005", "ye1w7d", "expired") in orders and ("lock0002", "ye1m3d", "active") in orders
    assert len(orders) == 12 and all(o.price_cents for o in Order.objects.filter(tenant=tenant))
    assert Order.objects.get(device__name="cam0005").created_at < now - dt.timedelta(days=9)

    # Real footage: full-time on two calendar days, events with thumbnails, lock events.
    first = _state(tenant)
    days, spans, events = first["footage"]["cam0001"]
    assert days == 2 and sum((e - s).total_seconds() for s, e in spans) >= 110
    for name in ("cam0003", "cam0004", "cam0007", "lock0001", "lock0002"):
        assert len(first["footage"][name][2]) >= 2, name
    cloud = iotvideo.cloud_for(tenant)
    page = cloud.describe_cloud_storage_events(lock.product_id, "lock0001", size=10)
    assert all(e.thumbnail for e in page.events)
    assert first["footage"]["cam0006"] == (0, [], [])

    # The viewer sees exactly the three granted devices; the second company got none.
    viewer = tenant.memberships.get(role=Role.VIEWER).user
    visible = device_list_visible(tenant=tenant, user=viewer, role=Role.VIEWER)
    assert sorted(visible.values_list("name", flat=True)) == ["cam0001", "cam0003", "lock0001"]
    assert not Device.objects.filter(tenant__slug="second-sight").exists()

    call_command("seed_demo")
    second = _state(tenant)
    # Online status and sync times may move; everything a person sees otherwise stays.
    assert second == first


def test_backdate_refuses_unknown_orders_and_bad_shifts(localcloud):
    # Refusals change nothing, so the session's shared cloud serves.
    demo_cloud = localcloud
    result = demo_cloud.manage("localcloud_backdate", "no-such-order", "--seconds", "60", check=False)
    assert result.returncode != 0 and "Unknown OrderId: no-such-order" in result.stderr
    result = demo_cloud.manage("localcloud_backdate", "x=-5", check=False)
    assert result.returncode != 0 and "between 1 and" in result.stderr
    result = demo_cloud.manage("localcloud_backdate", "x", check=False)
    assert result.returncode != 0 and "give --seconds" in result.stderr
