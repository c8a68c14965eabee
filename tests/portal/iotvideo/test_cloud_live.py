"""The cloud client against a live localcloud over HTTP: typed results, error mapping, retries,
rate limits and the signed-URL cache, counted the way the "Cloud calls" page counts them."""
import datetime as dt
import logging
import uuid

import pytest
from django.db.models import Sum

from portal.iotvideo import cloud_for, errors, types
from portal.iotvideo.models import CloudCall
from tests.localcloud_server import free_port
from tests.portal.iotvideo.conftest import connect

pytestmark = pytest.mark.django_db


def sent(tenant, action, field="calls") -> int:
    """How many requests of `action` the client sent (or errors/throttles/retries it saw)."""
    return CloudCall.objects.filter(tenant=tenant, action=action).aggregate(
        n=Sum(field))["n"] or 0


# --- reads and typed results ------------------------------------------------------------------

def test_reads_come_back_as_dataclasses(cloud_tenant, device):
    product_id, name = device
    cloud = cloud_for(cloud_tenant)

    product = cloud.describe_product(product_id)
    devices = cloud.describe_devices(product_id)
    info = cloud.describe_device(product_id, name)
    timeline = cloud.describe_cloud_storage_time(product_id, name, day=dt.date.today())

    assert isinstance(product, types.Product) and product.product_id == product_id
    assert devices.total == 1 and devices.items[0].device_name == name
    assert isinstance(info, types.DeviceInfo) and info.enabled is True
    assert info.psk  # what the device signs uploads with
    assert timeline.spans == [] and timeline.video_url.endswith("video.m3u8")
    assert cloud.describe_cloud_storage_dates(product_id, name) == []


def test_a_missing_device_is_not_found_with_a_request_id(cloud_tenant, device):
    product_id, _ = device
    with pytest.raises(errors.NotFound) as caught:
        cloud_for(cloud_tenant).describe_device(product_id, "no-such-camera")
    assert caught.value.request_id
    assert caught.value.retryable is False


def test_every_call_writes_one_structured_log_line(cloud_tenant, device, caplog):
    product_id, name = device
    with caplog.at_level(logging.INFO, logger="portal.iotvideo"):
        cloud_for(cloud_tenant).describe_device(product_id, name)
    [record] = [r for r in caplog.records if r.name == "portal.iotvideo"]
    fields = record.cloud_call
    assert fields["tenant"] == cloud_tenant.slug
    assert fields["action"] == "DescribeDevice"
    assert fields["outcome"] == "ok"
    assert fields["request_id"]
    assert fields["duration_ms"] >= 0
    assert "action=DescribeDevice" in record.getMessage()


# --- keys, region, endpoint ---------------------------------------------------------------

def test_wrong_secret_key_is_auth_failed(tenant, localcloud):
    connect(tenant, localcloud, secret_key="not-the-key")
    tenant.refresh_from_db()
    with pytest.raises(errors.AuthFailed) as caught:
        cloud_for(tenant).describe_products()
    assert "SecretKey" in caught.value.message
    assert sent(tenant, "DescribeProducts") == 1  # auth failures are never retried

    check = cloud_for(tenant).test_connection()
    assert check.ok is False
    assert "SecretKey does not match" in check.message


def test_unknown_secret_id_is_named_in_the_connection_check(tenant, localcloud):
    connect(tenant, localcloud, secret_id="AKIDnobody")
    tenant.refresh_from_db()
    check = cloud_for(tenant).test_connection()
    assert check.ok is False
    assert "SecretId" in check.message


def test_unreachable_endpoint_is_unavailable_and_explained(tenant, settings):
    settings.IOTVIDEO_POLICIES = {"interactive": {"backoff_base": 0.01, "backoff_cap": 0.02}}
    port = free_port()  # nothing listens there
    from tests.factories import CloudConnectionFactory

    CloudConnectionFactory(tenant=tenant, endpoint=f"http://127.0.0.1:{port}")
    tenant.refresh_from_db()
    with pytest.raises(errors.Unavailable) as caught:
        cloud_for(tenant).describe_products()
    assert caught.value.retryable is True
    assert sent(tenant, "DescribeProducts") == 3  # a read: retried, up to the bound

    check = cloud_for(tenant).test_connection()
    assert check.ok is False
    assert f"127.0.0.1:{port}" in check.message and "Cannot reach" in check.message


def test_connection_check_succeeds_with_the_right_keys(cloud_tenant):
    check = cloud_for(cloud_tenant).test_connection()
    assert check.ok is True, check.message
    assert "Connected" in check.message and check.request_id


# --- retries ----------------------------------------------------------------------------------

def test_reads_ride_through_a_cloud_that_throttles_half_the_requests(
        tenant, localcloud_factory, device, fast_retries):
    product_id, name = device
    flaky = localcloud_factory(faults="RequestLimitExceeded:0.5")
    connect(tenant, flaky)
    tenant.refresh_from_db()
    cloud = cloud_for(tenant, priority="background")

    results = [cloud.describe_device(product_id, name) for _ in range(12)]

    assert all(r.device_name == name for r in results)
    assert sent(tenant, "DescribeDevice", "throttles") > 0
    assert sent(tenant, "DescribeDevice", "retries") == sent(tenant, "DescribeDevice", "errors")
    assert sent(tenant, "DescribeDevice") == 12 + sent(tenant, "DescribeDevice", "retries")


def test_retries_are_bounded_and_end_in_throttled(tenant, localcloud_factory, device, settings):
    settings.IOTVIDEO_POLICIES = {"interactive": {"backoff_base": 0.01, "backoff_cap": 0.02,
                                                  "max_attempts": 3}}
    product_id, name = device
    connect(tenant, localcloud_factory(faults="RequestLimitExceeded:1"))
    tenant.refresh_from_db()

    with pytest.raises(errors.Throttled) as caught:
        cloud_for(tenant).describe_device(product_id, name)

    assert caught.value.retryable is True and caught.value.request_id
    assert sent(tenant, "DescribeDevice") == 3
    assert sent(tenant, "DescribeDevice", "throttles") == 3


def test_after_internal_errors_reads_retry_but_plain_writes_are_sent_once(
        tenant, localcloud_factory, device, settings):
    settings.IOTVIDEO_POLICIES = {"interactive": {"backoff_base": 0.01, "backoff_cap": 0.02,
                                                  "max_attempts": 3}}
    product_id, name = device
    connect(tenant, localcloud_factory(faults="InternalError:1"))
    tenant.refresh_from_db()
    cloud = cloud_for(tenant)

    with pytest.raises(errors.Unavailable):
        cloud.describe_device(product_id, name)
    with pytest.raises(errors.Unavailable):
        cloud.delete_device(product_id, name)
    with pytest.raises(errors.Unavailable):
        cloud.create_cloud_storage(product_id, name, package_id="yc1m7d",
                                   order_id=f"o-{uuid.uuid4().hex}")

    assert sent(tenant, "DescribeDevice") == 3
    assert sent(tenant, "DeleteDevice") == 1  # may have happened: not re-sent blindly
    assert sent(tenant, "CreateCloudStorage") == 3  # idempotent on its OrderId


def test_a_purchase_retried_through_faults_buys_the_package_once(
        tenant, localcloud_factory, device, fast_retries):
    product_id, name = device
    connect(tenant, localcloud_factory(faults="RequestLimitExceeded:0.3,InternalError:0.3"))
    tenant.refresh_from_db()
    order_id = f"order-{uuid.uuid4().hex}"

    cloud = cloud_for(tenant, priority="background")
    cloud.create_cloud_storage(product_id, name, package_id="yc1m7d", order_id=order_id)
    # The task itself being retried later sends the same OrderId again.
    cloud.create_cloud_storage(product_id, name, package_id="yc1m7d", order_id=order_id)

    packages = cloud.describe_device_packages(product_id, name)
    assert [p.order_id for p in packages] == [order_id]
    assert packages[0].status == types.PackageStatus.IN_FORCE
    order = cloud.describe_cloud_storage_order(order_id)
    assert order.package_id == "yc1m7d" and order.expires_at > order.start_at


# --- rate limit -------------------------------------------------------------------------------

def test_a_bulk_job_is_held_below_the_limit_and_pages_keep_their_share(
        cloud_tenant, device, settings):
    settings.IOTVIDEO_RATE_PER_SECOND = 0.5  # refill slower than the test runs
    settings.IOTVIDEO_RATE_BURST = 5
    settings.IOTVIDEO_BACKGROUND_RESERVE = 0.4
    settings.IOTVIDEO_POLICIES = {"background": {"max_rate_wait": 0}}
    product_id, name = device
    background = cloud_for(cloud_tenant, priority="background")

    done = 0
    with pytest.raises(errors.Throttled) as caught:
        for _ in range(10):
            background.describe_device(product_id, name)
            done += 1
    assert caught.value.code == "PortalRateLimit"
    # The local-memory fallback counts per one-second window (rate 0.5 → one call a window);
    # Redis runs the real bucket (3 of its 5 tokens for background work).
    assert 1 <= done <= 3
    # The page still gets its call through.
    assert cloud_for(cloud_tenant).describe_device(product_id, name).device_name == name
    assert sent(cloud_tenant, "DescribeDevice", "throttles") == 1


# --- caching ----------------------------------------------------------------------------------

def test_a_second_viewer_reuses_the_signed_video_url(cloud_tenant, device):
    product_id, name = device
    cloud = cloud_for(cloud_tenant)
    day = cloud.describe_cloud_storage_time(product_id, name, day=dt.date.today())
    start = dt.datetime.now(tz=dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    end = start + dt.timedelta(minutes=30)

    first = cloud.signed_video_url(day.video_url, start=start, end=end)
    second = cloud_for(cloud_tenant).signed_video_url(day.video_url, start=start, end=end)

    assert second == first
    assert f"starttime_epoch={types.to_epoch(start)}" in first.url
    assert first.expires_at - dt.datetime.now(tz=dt.UTC) > dt.timedelta(minutes=55)
    assert sent(cloud_tenant, "GenerateSignedVideoURL") == 1

    # Another stretch of the day is another address: signed afresh.
    cloud.signed_video_url(day.video_url, start=start, end=end + dt.timedelta(minutes=1))
    assert sent(cloud_tenant, "GenerateSignedVideoURL") == 2


def test_day_timelines_are_cached_briefly(cloud_tenant, device):
    product_id, name = device
    cloud = cloud_for(cloud_tenant)
    for _ in range(3):
        cloud.describe_cloud_storage_dates(product_id, name)
        cloud.describe_cloud_storage_time(product_id, name, day=dt.date.today())
    assert sent(cloud_tenant, "DescribeCloudStorageDate") == 1
    assert sent(cloud_tenant, "DescribeCloudStorageTime") == 1


@pytest.fixture
def web_site():
    """A plain web server (not the IoT Video API) answering every POST with an HTML page."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        status = 200

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"<html><body>Welcome to nginx!</body></html>"
            self.send_response(self.server.status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [200, 404])
def test_an_address_that_is_not_a_cloud_is_explained(tenant, web_site, status):
    from tests.factories import CloudConnectionFactory

    web_site.status = status
    CloudConnectionFactory(tenant=tenant, endpoint=f"http://127.0.0.1:{web_site.server_port}")
    tenant.refresh_from_db()
    check = cloud_for(tenant).test_connection()
    assert check.ok is False
    assert "not as an IoT Video cloud" in check.message
    with pytest.raises(errors.Unavailable):
        cloud_for(tenant).describe_products()
    # A web page will not turn into the API by asking again; an HTTP error might pass.
    assert sent(tenant, "DescribeProducts") == (2 if status == 200 else 4)
