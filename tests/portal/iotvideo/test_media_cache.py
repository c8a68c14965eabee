"""Thumbnails and picture-stream addresses of real recordings (uploaded by simulate_device):
fetched in batches, reused from the cache until shortly before they expire."""
import datetime as dt
import time
import uuid

import pytest
from django.db.models import Sum

from portal.iotvideo import cloud_for
from portal.iotvideo.models import CloudCall

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def sent(tenant, action) -> int:
    return CloudCall.objects.filter(tenant=tenant, action=action).aggregate(
        n=Sum("calls"))["n"] or 0


def _camera_with_events(cloud, localcloud, *, mode, category_id=0):
    product = cloud.create_product(f"cam-{uuid.uuid4().hex[:6]}", category_id=category_id,
                                   features=["Video"], chip_os="linux",
                                   chip_manufacture_id="ti", chip_id="x1")
    cloud.create_batch(product.product_id, count=1, prefix="ev")
    name = cloud.describe_devices(product.product_id).items[0].device_name
    cloud.create_cloud_storage(product.product_id, name, package_id="ye1m7d",
                               order_id=f"o-{uuid.uuid4().hex}")
    result = localcloud.manage(
        "simulate_device", "--cloud", localcloud.url, "--product", product.product_id,
        # Recordings count from the package's start, so the backfill starts just after it.
        "--device", name, "--mode", mode, "--start", str(int(time.time()) + 1),
        "--duration", "40", "--event-every", "10",
        "--fps", "5", "--size", "160x96", check=False)
    assert "events" in result.stdout, result.stdout + result.stderr
    page = cloud.describe_cloud_storage_events(
        product.product_id, name, start=dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=1),
        end=dt.datetime.now(tz=dt.UTC) + dt.timedelta(hours=1), size=20)
    assert len(page.events) >= 3, page
    return product.product_id, name, page.events


def test_a_gallery_gets_its_thumbnails_in_one_call_then_from_the_cache(cloud_tenant, localcloud):
    cloud = cloud_for(cloud_tenant)
    product_id, name, events = _camera_with_events(cloud, localcloud, mode="event")
    names = [e.thumbnail for e in events]

    urls = cloud.describe_thumbnails(product_id, name, names)

    assert list(urls) == names
    assert all(u.url.startswith(localcloud.url) for u in urls.values())
    assert all(u.expires_at > dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=50)
               for u in urls.values())
    assert sent(cloud_tenant, "DescribeCloudStorageThumbnailList") == 1

    # The gallery reloads, and the player asks for one of them: nothing goes to the cloud.
    assert cloud_for(cloud_tenant).describe_thumbnails(product_id, name, names) == urls
    assert cloud.describe_thumbnail(product_id, name, names[0]) == urls[names[0]]
    assert sent(cloud_tenant, "DescribeCloudStorageThumbnailList") == 1
    assert sent(cloud_tenant, "DescribeCloudStorageThumbnail") == 0


def test_picture_stream_addresses_are_reused_until_shortly_before_expiry(
        cloud_tenant, localcloud):
    cloud = cloud_for(cloud_tenant)
    product_id, name, events = _camera_with_events(cloud, localcloud, mode="picture",
                                                   category_id=595)

    first = cloud.describe_stream_data(product_id, name, start=events[0].start)
    again = cloud.describe_stream_data(product_id, name, start=events[0].start)

    assert again == first
    assert first.video_url.startswith(localcloud.url) and ".mjpg" in first.video_url
    assert ".aac" in first.audio_url
    # The expiry the addresses carry in their query string is what the cache goes by.
    assert first.expires_at is not None
    assert first.expires_at > dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=50)
    assert sent(cloud_tenant, "DescribeCloudStorageStreamData") == 1


def test_a_thumbnail_deleted_meanwhile_is_left_out_not_breaking_the_gallery(
        cloud_tenant, localcloud):
    cloud = cloud_for(cloud_tenant)
    product_id, name, events = _camera_with_events(cloud, localcloud, mode="event")
    names = [e.thumbnail for e in events]

    urls = cloud.describe_thumbnails(product_id, name, [*names, "gone.jpg"])

    assert list(urls) == names
