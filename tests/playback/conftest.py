"""Fixtures for playback: cameras in the session's live localcloud with real footage from
`simulate_device` (run as a child process), and the portal's mirror rows of them."""
import time
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from devices.models import Device as PortalDevice
from devices.models import DeviceGrant, PackageState, Product, StreamKind
from tests.factories import CloudConnectionFactory
from tests.localcloud.device_http import Camera, provision, sdk_call

CLOUD_TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


@dataclass
class Footage:
    camera: Camera
    mode: str
    start: int  # Unix seconds
    end: int
    every: int

    @property
    def day(self):
        """The day of the footage in the cloud's (and the test tenant's) zone."""
        return datetime.fromtimestamp(self.start, CLOUD_TZ).date()


def clear_of_midnight(duration: int) -> None:
    """Wait out the cloud's midnight when footage starting now would straddle it: the tests
    reason about one day, and footage cannot be back-dated."""
    now = datetime.now(CLOUD_TZ)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    if (midnight - now).total_seconds() < duration + 30:
        time.sleep((midnight - now).total_seconds() + 1)


def buy(sdk_client, camera: Camera, package: str) -> int:
    """Buy `package` now; the Unix time it comes into force. Packages cannot be bought
    back-dated and the cloud judges a recording by the package in force at the recording's
    time, so footage starts when its package does (the cloud takes recordings up to 5 min
    ahead of its clock, which is how a backfill of a few minutes fits)."""
    order_id = uuid.uuid4().hex
    sdk_call(sdk_client, "CreateCloudStorage", ProductId=camera.product_id,
             DeviceName=camera.device_name, PackageId=package, OrderId=order_id)
    return sdk_call(sdk_client, "DescribeCloudStorageOrder", OrderId=order_id)["StartTime"]


def simulate(server, camera: Camera, *, mode: str, start: int, duration: int, every: int = 60):
    """Record and upload real media for `camera` with the simulator, as a separate process."""
    done = server.manage(
        "simulate_device", "--cloud", server.url, "--product", camera.product_id,
        "--device", camera.device_name, "--psk", camera.psk, "--mode", mode,
        "--start", str(start), "--duration", str(duration), "--event-every", str(every),
        "--size", "320x180", "--fps", "10", check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="session")
def event_footage(localcloud, sdk_client) -> Footage:
    """A video-stream camera with four events (and gaps between them)."""
    camera = provision(sdk_client, localcloud)
    clear_of_midnight(200)
    start = buy(sdk_client, camera, "ye1m3d")
    simulate(localcloud, camera, mode="event", start=start, duration=200, every=50)
    return Footage(camera, "event", start, start + 200, 50)


@pytest.fixture(scope="session")
def fulltime_footage(localcloud, sdk_client) -> Footage:
    """A video-stream camera that recorded 90 s without a break."""
    camera = provision(sdk_client, localcloud)
    clear_of_midnight(90)
    start = buy(sdk_client, camera, "yc1m3d")
    simulate(localcloud, camera, mode="fulltime", start=start, duration=90)
    return Footage(camera, "fulltime", start, start + 90, 0)


@pytest.fixture(scope="session")
def picture_footage(localcloud, sdk_client) -> Footage:
    """A picture-stream camera (category 595) with three MJPEG + AAC events."""
    camera = provision(sdk_client, localcloud, picture=True)
    clear_of_midnight(60)
    start = buy(sdk_client, camera, "ye1m3d")
    simulate(localcloud, camera, mode="picture", start=start, duration=60, every=20)
    return Footage(camera, "picture", start, start + 60, 20)


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    # These tests are about playback, not about the client's rate limit.
    settings.IOTVIDEO_RATE_PER_SECOND = 1000
    settings.IOTVIDEO_RATE_BURST = 1000


@pytest.fixture
def cloud_tenant(tenant, localcloud):
    CloudConnectionFactory(tenant=tenant, kind="local", endpoint=localcloud.url,
                           secret_id=localcloud.secret_id, secret=localcloud.secret_key)
    tenant.time_zone = "Asia/Shanghai"
    tenant.save()
    return tenant


@pytest.fixture
def mirror(cloud_tenant):
    """mirror(footage, online=1, package_state="active", grant_to=None) -> the portal's Device."""

    def make(footage: Footage, *, tenant=None, online: int = 1,
             package_state: str = PackageState.ACTIVE, grant_to=None) -> PortalDevice:
        tenant = tenant or cloud_tenant
        picture = footage.mode == "picture"
        product, _ = Product.objects.get_or_create(
            tenant=tenant, product_id=footage.camera.product_id,
            defaults={"name": f"Product {footage.camera.product_id}",
                      "category_id": 595 if picture else 0,
                      "stream_kind": StreamKind.PICTURE if picture else StreamKind.VIDEO},
        )
        device = PortalDevice.objects.create(
            tenant=tenant, product=product, name=footage.camera.device_name, online=online,
            package_state=package_state, nickname=f"{footage.mode} cam",
        )
        if grant_to is not None:
            DeviceGrant.objects.create(device=device, user=grant_to)
        return device

    return make
