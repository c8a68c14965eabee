"""The cloud sync against a live localcloud: products and devices mirrored, devices removed
upstream marked (their portal metadata kept), packages read, cloud faults."""
import logging
import uuid

import pytest
from django.utils import timezone

from devices import services
from devices.models import Device, PackageState, Product, StreamKind, SyncRun
from portal.iotvideo import cloud_for
from tests.devices.test_fleet_support import connect

pytestmark = pytest.mark.django_db(transaction=True)


def _make_cloud_product(tenant, *, count=3, category=0):
    cloud = cloud_for(tenant)
    name = f"sync-{uuid.uuid4().hex[:8]}"
    product = cloud.create_product(name, category_id=category, features=["Video"], chip_os="linux",
                                   chip_manufacture_id="ti", chip_id="x1")
    cloud.create_batch(product.product_id, count=count, prefix=name[-6:])
    return cloud, product


def _sync(tenant):
    run = SyncRun.objects.create(tenant=tenant)
    services.sync_run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_sync_mirrors_products_and_devices(tenant, localcloud):
    connect(tenant, localcloud)
    cloud, cp = _make_cloud_product(tenant, count=3, category=Product.PICTURE_STREAM_CATEGORY)
    run = _sync(tenant)
    assert run.status == SyncRun.Status.DONE, run.error
    product = Product.objects.get(tenant=tenant, product_id=cp.product_id)
    assert product.stream_kind == StreamKind.PICTURE
    devices = Device.objects.filter(product=product)
    assert devices.count() == 3
    assert run.devices_added >= 3 and run.percent == 100
    assert all(d.synced_at for d in devices)


def test_device_removed_upstream_is_marked_and_keeps_its_metadata(tenant, localcloud):
    connect(tenant, localcloud)
    cloud, cp = _make_cloud_product(tenant, count=2)
    _sync(tenant)
    gone, kept = Device.objects.filter(product__product_id=cp.product_id).order_by("name")
    gone.nickname, gone.tags, gone.notes = "Porch", ["vip"], "left of the door"
    gone.save()
    cloud.delete_device(cp.product_id, gone.name)
    cloud.create_batch(cp.product_id, count=1, prefix="late")

    run = _sync(tenant)
    assert run.status == SyncRun.Status.DONE
    gone.refresh_from_db()
    assert gone.removed_upstream is True
    assert (gone.nickname, gone.tags, gone.notes) == ("Porch", ["vip"], "left of the door")
    kept.refresh_from_db()
    assert kept.removed_upstream is False
    assert Device.objects.filter(product__product_id=cp.product_id).count() == 3
    assert Device.objects.filter(product__product_id=cp.product_id, name__startswith="late").exists()


def test_packages_are_read_for_new_devices(tenant, localcloud):
    connect(tenant, localcloud)
    cloud, cp = _make_cloud_product(tenant, count=2)
    _sync(tenant)
    first, second = Device.objects.filter(product__product_id=cp.product_id).order_by("name")
    cloud.create_cloud_storage(cp.product_id, first.name, package_id="yc1m7d",
                               order_id=f"o{uuid.uuid4().hex[:20]}")
    cloud.create_cloud_storage(cp.product_id, first.name, package_id="yc1m7d",
                               order_id=f"o{uuid.uuid4().hex[:20]}")
    read, remaining, failures = services.tenant_packages_refresh(tenant=tenant)
    assert failures == [] and read >= 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.package_state == PackageState.ACTIVE
    assert first.package_retention_days == 7 and first.package_type == 1
    assert first.package_queued_count == 1
    assert first.package_expires_at > timezone.now()
    assert second.package_state == PackageState.NONE
    # Read now, so the next refresh leaves them alone.
    read_again, _r, _f = services.tenant_packages_refresh(tenant=tenant)
    assert Device.objects.filter(pk=first.pk, packages_synced_at__isnull=False).exists()
    assert read_again == 0


def test_sync_survives_throttling_by_retrying(tenant, localcloud, localcloud_factory, settings,
                                              caplog):
    # The sync walks every product of the shared test cloud (hundreds of calls), so with the
    # production six attempts one call in ~1,400 fails for good at a 30 % fault share: the test
    # would flake. Twelve quick attempts keep the retry path under test without the dice.
    settings.IOTVIDEO_POLICIES = {"background": {"max_attempts": 12, "retry_budget": 10,
                                                 "backoff_base": 0.005, "backoff_cap": 0.02}}
    cloud_plain = connect(tenant, localcloud)
    _cloud, cp = _make_cloud_product(tenant, count=2)
    flaky = localcloud_factory(faults="RequestLimitExceeded:0.3")
    cloud_plain.endpoint = flaky.url
    cloud_plain.save()
    tenant.refresh_from_db()
    with caplog.at_level(logging.WARNING, logger="portal.iotvideo"):
        run = _sync(tenant)
    assert run.status == SyncRun.Status.DONE, run.error
    assert Device.objects.filter(product__product_id=cp.product_id).count() == 2
    assert "outcome=retry" in caplog.text and "code=RequestLimitExceeded" in caplog.text


def test_cloud_error_fails_the_run_with_a_message_and_writes_nothing(tenant, localcloud,
                                                                    localcloud_factory, settings):
    settings.IOTVIDEO_POLICIES = {"background": {"max_attempts": 1, "retry_budget": 0}}
    conn = connect(tenant, localcloud)
    _cloud, cp = _make_cloud_product(tenant, count=2)
    _sync(tenant)
    before = list(Device.objects.filter(tenant=tenant).values_list("name", "removed_upstream"))
    broken = localcloud_factory(faults="InternalError:1")
    conn.endpoint = broken.url
    conn.save()
    tenant.refresh_from_db()
    run = _sync(tenant)
    assert run.status == SyncRun.Status.FAILED
    assert "cloud" in run.error.lower()
    assert list(Device.objects.filter(tenant=tenant).values_list("name", "removed_upstream")) == before


def test_a_second_sync_request_reuses_the_running_one(tenant, localcloud):
    connect(tenant, localcloud)
    run, created = services.sync_run_request(tenant=tenant)
    again, created_again = services.sync_run_request(tenant=tenant)
    assert created and not created_again and again.pk == run.pk
    # The claim is a conditional update: only one executor wins.
    services.sync_run_execute(run_id=run.pk)
    assert services.sync_run_execute(run_id=run.pk) is None


def test_beat_queues_a_sync_for_each_tenant_with_a_cloud_connection(tenant, other_tenant, localcloud,
                                                                    settings):
    from devices import tasks

    settings.DEVICES_QUEUE = f"unused-{uuid.uuid4().hex[:6]}"  # nobody consumes it
    connect(tenant, localcloud)
    tasks.sync_all_tenants()
    tasks.sync_all_tenants()  # a second beat while the first run waits adds nothing
    assert SyncRun.objects.filter(tenant=tenant, status="queued").count() == 1
    assert not SyncRun.objects.filter(tenant=other_tenant).exists()
