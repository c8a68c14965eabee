"""Setup for the packages tests: a tenant wired to the live localcloud, devices made in the
cloud (CreateProduct / CreateBatch through the official SDK) and mirrored as Device rows, and
what the cloud holds for an order (read back through the SDK)."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from tencentcloud.iotvideo.v20211125 import models as sdk

from devices.models import Device, Product, StreamKind
from devices.order_models import PackagePrice
from portal.models import CloudConnection
from tests.factories import CloudConnectionFactory
from tests.utils import subprocess_env


def connect(tenant, localcloud) -> CloudConnection:
    """Points the tenant's cloud connection at the live localcloud."""
    CloudConnection.objects.filter(tenant=tenant).delete()
    return CloudConnectionFactory(tenant=tenant, kind=CloudConnection.Kind.LOCAL,
                                  endpoint=localcloud.url, secret_id=localcloud.secret_id,
                                  secret=localcloud.secret_key)


def _call(client, action: str, params: dict):
    request = getattr(sdk, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def cloud_devices(sdk_client, tenant, *, count: int = 2, picture: bool = False,
                  low_power: bool = False, name: str = "cam") -> list[Device]:
    """`count` devices of a new product in localcloud, mirrored for `tenant`."""
    response = _call(sdk_client, "CreateProduct", {
        "ProductName": f"{name}-{uuid.uuid4().hex[:6]}", "DeviceType": 1,
        "ProductVaildYears": 1, "Features": ["Video"], "ChipOs": "linux",
        "ChipManufactureId": "ti", "ChipId": "x1", "ProductDescription": "",
        **({"CategoryId": 595} if picture else {}),
    })
    product_id = response.Data.ProductId
    prefix = f"d{uuid.uuid4().hex[:6]}"
    _call(sdk_client, "CreateBatch", {"ProductId": product_id, "DevNum": count, "DevPre": prefix})
    names = []
    offset = 0
    while True:
        page = _call(sdk_client, "DescribeDevices",
                     {"ProductId": product_id, "Offset": offset, "Limit": 100})
        names += [d.DeviceName for d in page.Devices]
        offset += 100
        if offset >= page.TotalCount:
            break
    product = Product.objects.create(
        tenant=tenant, product_id=product_id, name=name,
        category_id=595 if picture else 0, low_power=low_power,
        stream_kind=StreamKind.PICTURE if picture else StreamKind.VIDEO)
    Device.objects.bulk_create([Device(tenant=tenant, product=product, name=n) for n in names])
    return list(Device.objects.filter(product=product).select_related("product").order_by("name"))


def mirror_only_device(tenant, *, name: str = "ghost", picture: bool = False,
                       low_power: bool = False) -> Device:
    """A Device row with no device behind it in the cloud (for checks that never call it)."""
    product = Product.objects.create(
        tenant=tenant, product_id=f"P{uuid.uuid4().hex[:9].upper()}", name="mirror",
        low_power=low_power, stream_kind=StreamKind.PICTURE if picture else StreamKind.VIDEO)
    return Device.objects.create(tenant=tenant, product=product, name=name)


def price(tenant, package_id: str, cents: int, currency: str = "CNY") -> PackagePrice:
    return PackagePrice.objects.create(tenant=tenant, package_id=package_id, price_cents=cents,
                                       currency=currency)


def cloud_packages(sdk_client, device: Device) -> list:
    """The device's packages as the cloud lists them (DescribeDevicePackages, all pages)."""
    packages, offset = [], 0
    while True:
        page = _call(sdk_client, "DescribeDevicePackages", {
            "ProductId": device.product.product_id, "DeviceName": device.name,
            "Offset": offset, "Limit": 100})
        packages += page.Packages or []
        offset += 100
        if offset >= (page.TotalCount or 0):
            return packages


# --- a real Celery worker on the test's database ----------------------------------------------

@contextlib.contextmanager
def shared_database(tmp_path):
    """A database URL a child process can open and that this test process uses too.

    PostgreSQL: pytest-django's test database itself (use with transactional_db so rows are
    committed). SQLite: the test database lives in memory, out of a child's reach, so the
    default connection is swapped for a migrated file for the length of the test and put back
    afterwards (the in-memory one stays open meanwhile, so the other tests keep their schema).
    """
    settings_dict = connection.settings_dict
    if settings_dict["ENGINE"] != "django.db.backends.sqlite3":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        yield f"postgres://{auth}{host}{port}/{settings_dict['NAME']}"
        return
    path = tmp_path / "shared.sqlite3"
    in_memory = connections["default"]
    file_db = in_memory.__class__({**settings_dict, "NAME": str(path)}, "default")
    connections._connections.default = file_db
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield f"sqlite:///{path}"
    finally:
        file_db.close()
        connections._connections.default = in_memory


class Worker:
    """`celery -A portal worker` as a real child process (its own session, so SIGKILL reaches
    the pool's children too) consuming one queue, on the given database."""

    def __init__(self, *, database_url: str, queue: str, log_path, concurrency: int = 2,
                 env: dict | None = None):
        self.args = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", queue,
                     "-c", str(concurrency), "--pool", "prefork", "-l", "info",
                     "--without-gossip", "--without-mingle", "--without-heartbeat",
                     "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"]
        self.env = subprocess_env(DATABASE_URL=database_url, PACKAGES_QUEUE=queue,
                                  **(env or {}))
        self.log_path = log_path
        self.process = None

    def start(self) -> "Worker":
        # Open for the life of the process (closed in stop()), so no `with` block.
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(self.args, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        cwd=str(settings.BASE_DIR))
        return self

    def kill(self) -> None:
        """SIGKILL to the worker and its pool: no shutdown, no acks, no cleanup."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(predicate, *, timeout: float, interval: float = 0.25, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(message or "condition not met in time")
