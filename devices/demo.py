"""The fleet's demo step of `manage.py seed_demo`: products, devices with nicknames, packages
of every kind with their orders, footage, end-user grants, then the fleet sync.

Everything goes through the cloud API (`portal.iotvideo`) and through the cloud's own tools run
as commands (`simulate_device` uploads footage through the device API, `localcloud_backdate`
moves packages into the past): the portal never imports localcloud.

Idempotent. Products and devices are found by name, purchases by their token, backdating is
skipped once the package already starts in the past, and footage is only recorded for a device
that has no recording day yet. Its windows are anchored to the moment the device's package was
bought (not to "now"), so even a repeated upload is the same media the cloud already holds.

Two days of continuous footage are 17,280 ten-second segments per camera; the device API takes
them one request each, which on a small machine is far more than the two minutes a seed may
take. The seed therefore records the last `DEMO_FULLTIME_SECONDS` (half an hour) before the
purchase and the same stretch a day earlier (the calendar shows two days at once), and
`cameras()` — the
Procfile's `cameras` process — fills the rest of the two days in the background and then keeps
the "online" devices live (heartbeats, fresh recordings)."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from devices import services
from devices.models import Device, Product, StreamKind, SyncRun
from devices.order_models import Order, OrderState, PackagePrice, StartMode
from devices.packages import services as package_services
from portal import iotvideo
from portal.iotvideo.types import PackageStatus
from portal.models import Role

log = logging.getLogger(__name__)

BASE_DIR = Path(settings.BASE_DIR)
DAY = 86400
VIDEO_PRODUCT = "Demo HD Camera C1"
LOCK_PRODUCT = "Demo Smart Lock L2"
# What the tenant charges, in cents of its currency (the orders and spend pages show these).
PRICES = {"yc1m7d": 3900, "yc1m3d": 2500, "ye1m7d": 1900, "ye1m3d": 1200, "ye1w7d": 600}


@dataclass(frozen=True)
class Buy:
    package_id: str
    back: int = 0  # seconds the package is moved into the past after the purchase
    start_mode: str = StartMode.END


@dataclass(frozen=True)
class DemoDevice:
    product: str  # VIDEO_PRODUCT / LOCK_PRODUCT
    name: str
    nickname: str
    location: str
    tags: tuple[str, ...]
    buys: tuple[Buy, ...] = ()
    footage: str = ""  # "fulltime" / "event" / "picture" / "" (none)
    online: bool = False
    viewer: bool = False  # granted to the demo viewer


# 27 days back on a 30-day package: it expires in 3 days. 10 days back on a 7-day one: expired.
FLEET = (
    DemoDevice(VIDEO_PRODUCT, "cam0001", "Front door", "Entrance", ("home", "outdoor"),
               (Buy("yc1m7d", back=3 * DAY),), "fulltime", online=True, viewer=True),
    DemoDevice(VIDEO_PRODUCT, "cam0002", "Back garden", "Garden", ("home", "outdoor"),
               (Buy("yc1m7d", back=3 * DAY), Buy("yc1m7d")), "fulltime", online=True),
    DemoDevice(VIDEO_PRODUCT, "cam0003", "Living room", "Ground floor", ("home", "indoor"),
               (Buy("ye1m7d", back=DAY),), "event", online=True, viewer=True),
    DemoDevice(VIDEO_PRODUCT, "cam0004", "Garage", "Garage", ("home",),
               (Buy("ye1m3d", back=27 * DAY),), "event"),
    DemoDevice(VIDEO_PRODUCT, "cam0005", "Shop floor", "Store 12", ("shop",),
               (Buy("ye1w7d", back=10 * DAY),)),
    DemoDevice(VIDEO_PRODUCT, "cam0006", "Warehouse", "Store 12", ("shop", "indoor")),
    DemoDevice(VIDEO_PRODUCT, "cam0007", "Reception", "Office", ("office",),
               (Buy("ye1m7d", back=DAY), Buy("ye1m3d")), "event", online=True),
    DemoDevice(VIDEO_PRODUCT, "cam0008", "Nursery", "First floor", ("home", "indoor"),
               (Buy("yc1m3d", back=40 * DAY),)),
    DemoDevice(LOCK_PRODUCT, "lock0001", "Main entrance", "Entrance", ("home", "lock"),
               (Buy("ye1m7d", back=DAY),), "picture", online=True, viewer=True),
    DemoDevice(LOCK_PRODUCT, "lock0002", "Side gate", "Garden", ("home", "lock"),
               (Buy("ye1m3d", back=27 * DAY),), "picture"),
    DemoDevice(LOCK_PRODUCT, "lock0003", "Apartment 3B", "Block B", ("rental", "lock"),
               (Buy("ye1w7d", back=10 * DAY),)),
    DemoDevice(LOCK_PRODUCT, "lock0004", "Apartment 5A", "Block A", ("rental", "lock")),
)


def _knob(name: str, default: int) -> int:
    return int(getattr(settings, name, None) or os.environ.get(name) or default)


def footage_settings() -> dict:
    """How much footage, and how it is encoded. Small pictures at a low frame rate keep the seed
    fast; the clock in the picture still reads to the second."""
    return {
        # Per block, two blocks per camera. Half an hour uploads in about 10-15 s (120-190×
        # real time at 320x180, 5 fps); an hour per block took the seed to 90 s on a busy
        # 2-core machine, too close to its two minutes.
        "fulltime_seconds": _knob("DEMO_FULLTIME_SECONDS", 1800),
        "fulltime_days": _knob("DEMO_FULLTIME_DAYS", 2),  # what cameras() fills in
        "event_seconds": _knob("DEMO_EVENT_SECONDS", 2 * 3600),
        "event_every": _knob("DEMO_EVENT_EVERY", 900),
        "size": getattr(settings, "DEMO_VIDEO_SIZE", None) or os.environ.get("DEMO_VIDEO_SIZE") or "320x180",
        "fps": _knob("DEMO_VIDEO_FPS", 5),
        "parallel": _knob("DEMO_PARALLEL", 3),
    }


def localcloud_env() -> dict[str, str]:
    """The environment of the localcloud commands the seed runs (backdate, a temporary server,
    simulated cameras). By default this process's own; tests point it at their cloud."""
    env = dict(os.environ)
    env.update(getattr(settings, "DEMO_LOCALCLOUD_ENV", None) or {})
    return env


def _manage(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args],  # noqa: S603 (fixed argv, no shell)
                          cwd=BASE_DIR, env=localcloud_env(), capture_output=True, text=True,
                          timeout=timeout)


def _say(demo, line: str) -> None:
    if getattr(demo, "stdout", None) is not None:
        demo.stdout.write(line)
    else:
        log.info(line)


# --- a temporary localcloud when none is running -------------------------------------------

def _answers(url: str) -> bool:
    # Any JSON POST gets a cloud API answer (an auth error), which proves the cloud is there.
    try:
        return "Response" in requests.post(url.rstrip("/") + "/", json={}, timeout=2).text
    except requests.RequestException:
        return False


class TemporaryCloud:
    """Starts `runlocalcloud` at `url` when nothing answers there, and stops it on exit."""

    def __init__(self, url: str):
        self.url = url
        self.process = None

    def __enter__(self):
        if _answers(self.url):
            return self
        parts = urlsplit(self.url)
        self.process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            [sys.executable, "manage.py", "runlocalcloud", "--host", parts.hostname or "127.0.0.1",
             "--port", str(parts.port or 80)],
            cwd=BASE_DIR, env=localcloud_env(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while not _answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"localcloud did not start at {self.url}; is the port taken?")
            time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            # The server leads its own process group, so its gunicorn workers stop with it.
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None


class _Stages:
    def __init__(self, demo):
        self.demo, self.last = demo, time.monotonic()

    def done(self, what: str) -> None:
        now = time.monotonic()
        _say(self.demo, f"  {what}: {now - self.last:.1f} s")
        self.last = now


# --- the step -----------------------------------------------------------------------------

def seed_demo(demo) -> None:
    began = time.monotonic()
    tenant = demo.tenant
    connection = tenant.cloud
    # A local connection's endpoint is the cloud's base URL (seed_demo sets it).
    with TemporaryCloud(connection.endpoint):
        admin = demo.users[Role.ADMIN]
        staff = demo.users.get(Role.STAFF, admin)
        stage = _Stages(demo)
        products = _products(tenant, admin)
        devices = _devices(tenant, admin, products)
        _prices(tenant, admin)
        stage.done("products and devices")
        anchors = _packages(tenant, staff, devices)
        stage.done("packages and orders")
        _footage_and_heartbeats(demo, tenant, devices, anchors)
        stage.done("footage and heartbeats")
        _grants(tenant, admin, demo.users.get(Role.VIEWER), devices)
        _sync(tenant)
        stage.done("grants and fleet sync")
    _say(demo, f"Fleet demo: {len(FLEET)} devices, packages, orders and footage "
               f"ready in {time.monotonic() - began:.0f} s.")


def _cloud(tenant):
    return iotvideo.cloud_for(tenant, priority="background")


def _mirror(tenant) -> None:
    """Products and devices as the cloud lists them, so what exists is found, not made again."""
    run = SyncRun.objects.create(tenant=tenant, status=SyncRun.Status.RUNNING,
                                 started_at=timezone.now())
    services.tenant_sync(tenant=tenant, run=run)
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.DONE, finished_at=timezone.now())


def _products(tenant, admin) -> dict[str, Product]:
    _mirror(tenant)
    products = {}
    for name, kind in ((VIDEO_PRODUCT, StreamKind.VIDEO), (LOCK_PRODUCT, StreamKind.PICTURE)):
        product = (Product.objects.filter(tenant=tenant, name=name, removed_upstream=False)
                   .order_by("pk").first())
        if product is None:
            product = services.product_create(tenant=tenant, actor=admin, name=name,
                                              stream_kind=kind, low_power=False,
                                              description="Demo product")
        products[name] = product
    return products


def _devices(tenant, admin, products) -> dict[str, Device]:
    for name, product in products.items():
        wanted = [spec for spec in FLEET if spec.product == name]
        prefix = wanted[0].name.rstrip("0123456789")
        have = set(Device.objects.filter(tenant=tenant, product=product, removed_upstream=False)
                   .values_list("name", flat=True))
        numbers = [int(n[len(prefix):]) for n in have
                   if n.startswith(prefix) and n[len(prefix):].isdigit()]
        # CreateBatch numbers on from the highest name with the prefix.
        missing = len(wanted) - max(numbers, default=0)
        if missing > 0:
            services.device_batch_create(tenant=tenant, actor=admin, product=product,
                                         prefix=prefix, count=missing)
    devices = {}
    for spec in FLEET:
        device = Device.objects.get(tenant=tenant, product=products[spec.product], name=spec.name)
        if (device.nickname, device.location, device.tags) != (spec.nickname, spec.location,
                                                               sorted(spec.tags)):
            services.device_update(device=device, actor=admin, nickname=spec.nickname,
                                   tags=list(spec.tags), notes="", location=spec.location)
        devices[spec.name] = device
    return devices


def _prices(tenant, admin) -> None:
    for package_id, cents in PRICES.items():
        if not PackagePrice.objects.filter(tenant=tenant, package_id=package_id).exists():
            package_services.price_set(tenant=tenant, user=admin, package_id=package_id,
                                       price_cents=cents, currency=tenant.currency)


_STATES = {PackageStatus.WAITING: OrderState.QUEUED, PackageStatus.EXPIRED: OrderState.EXPIRED,
           PackageStatus.IN_FORCE: OrderState.ACTIVE}


def _buy(tenant, staff, device, spec: DemoDevice, index: int) -> Order:
    buy = spec.buys[index]
    purchase, _created = package_services.purchase_direct(
        tenant=tenant, user=staff, package_id=buy.package_id, start_mode=buy.start_mode,
        device_ids=[device.pk], token=f"demo-{spec.name}-{index + 1}")
    order = purchase.orders.get()
    if order.is_open:
        # The seed needs the package now (the next purchase queues behind it, footage needs it
        # in force), so it submits here instead of waiting for a worker. The task queued by the
        # purchase then finds the order done and does nothing.
        claimed = package_services.order_claim(order_pk=order.pk)
        if claimed is not None:
            order = package_services.order_submit(order=claimed)
    if order.state == OrderState.FAILED:
        raise RuntimeError(f"The demo purchase of {buy.package_id} for {spec.name} failed: "
                           f"{order.failure_reason}")
    return order


def _packages(tenant, staff, devices) -> dict[str, int]:
    """Buys each device's first package, moves those that belong in the past back (one
    localcloud_backdate for all), then buys the packages that queue behind them. Returns, per
    device, the Unix time its first package was bought: footage is anchored there, so it is
    the same on every run."""
    cloud = _cloud(tenant)
    anchors, firsts = {}, []
    for spec in FLEET:
        if spec.buys:
            order = _buy(tenant, staff, devices[spec.name], spec, 0)
            bought = int((order.submitted_at or order.created_at).timestamp())
            anchors[spec.name] = bought - bought % 10
            firsts.append((spec, order, bought))
    infos = {order.order_id: cloud.describe_cloud_storage_order(order.order_id)
             for _spec, order, _bought in firsts}
    # Not moved yet while the package still starts about when it was bought.
    shifts = {order.order_id: spec.buys[0].back for spec, order, _bought in firsts
              if spec.buys[0].back
              and infos[order.order_id].start_at.timestamp() > time.time() - spec.buys[0].back / 2}
    if shifts:
        result = _manage("localcloud_backdate", *[f"{oid}={back}" for oid, back in shifts.items()])
        if result.returncode:
            raise RuntimeError(f"localcloud_backdate failed: {result.stderr.strip()[-500:]}")
    for spec, order, bought in firsts:
        back = spec.buys[0].back
        if back:
            info = (cloud.describe_cloud_storage_order(order.order_id) if order.order_id in shifts
                    else infos[order.order_id])
            # The portal's order says what the cloud now says, bought when the package started.
            Order.objects.filter(pk=order.pk).update(
                start_at=info.start_at, expires_at=info.expires_at,
                state=_STATES.get(info.status, order.state),
                created_at=dt.datetime.fromtimestamp(bought - back, tz=dt.UTC))
    for spec in FLEET:
        for index in range(1, len(spec.buys)):
            _buy(tenant, staff, devices[spec.name], spec, index)
    return anchors


# --- footage --------------------------------------------------------------------------------

def _simulate(device: Device, mode: str, *extra: str) -> list[str]:
    opts = footage_settings()
    # The PSK is passed on the command line to save each camera a lookup; these are demo
    # devices on the local machine.
    return ["simulate_device", "--cloud", device.tenant.cloud.endpoint,
            "--product", device.product.product_id, "--device", device.name,
            "--psk", device.psk_for_demo, "--mode", mode, "--size", opts["size"],
            "--fps", str(opts["fps"]), "--workers", "1", *extra]


def footage_windows(spec: DemoDevice, anchor: int) -> list[tuple[int, int]]:
    """(start, duration) of the footage the seed records for a device."""
    opts = footage_settings()
    if spec.footage == "fulltime":
        seconds = opts["fulltime_seconds"]
        # The stretch before the purchase and the same stretch a day earlier: two calendar days.
        return [(anchor - seconds, seconds), (anchor - DAY - seconds, seconds)]
    if spec.footage in ("event", "picture"):
        return [(anchor - opts["event_seconds"], opts["event_seconds"])]
    return []


def _run_jobs(jobs: list[list[str]], parallel: int, demo=None) -> None:
    def run(args):
        result = _manage(*args)
        return args, result

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        for args, result in pool.map(run, jobs):
            if result.returncode:
                raise RuntimeError(f"{' '.join(args[:1] + args[5:7])} failed: "
                                   f"{(result.stderr or result.stdout).strip()[-800:]}")
            if demo is not None:  # the simulator's summary: what it uploaded, how fast
                _say(demo, "    " + result.stdout.strip().splitlines()[-1])


def _attach_psks(tenant, devices) -> None:
    cloud = _cloud(tenant)
    by_product: dict[str, dict[str, str]] = {}
    for device in devices.values():
        pid = device.product.product_id
        if pid not in by_product:
            listing = services._read_all(
                lambda offset, pid=pid: cloud.describe_devices(pid, offset=offset, limit=100))
            by_product[pid] = {info.device_name: info.psk for info in listing}
        device.psk_for_demo = by_product[pid].get(device.name, "")


def _footage_and_heartbeats(demo, tenant, devices, anchors) -> None:
    cloud = _cloud(tenant)
    _attach_psks(tenant, devices)
    opts = footage_settings()
    jobs, recorded = [], []
    for spec in FLEET:
        if not spec.footage:
            continue
        device = devices[spec.name]
        if cloud.describe_cloud_storage_dates(device.product.product_id, device.name):
            continue  # recorded on an earlier run
        recorded.append(device)
        for start, duration in footage_windows(spec, anchors[spec.name]):
            jobs.append(_simulate(device, spec.footage, "--start", str(start), "--duration",
                                  str(duration), "--event-every", str(opts["event_every"])))
    # The longest jobs first, so the pool's last slot is not left with a long one.
    jobs.sort(key=lambda args: args[args.index("--mode") + 1] != "fulltime")
    began = time.monotonic()
    _run_jobs(jobs, opts["parallel"], demo)
    for device in recorded:  # the "nothing recorded yet" answers above are stale now
        cloud.forget_recordings(device.product.product_id, device.name)
    if jobs:
        _say(demo, f"  footage: {len(jobs)} recordings uploaded in {time.monotonic() - began:.0f} s")
    _heartbeats([devices[spec.name] for spec in FLEET if spec.online])


# A device is online for 90 s after a heartbeat. One child process sends them all through the
# device API (the portal itself does not speak the device side); the PSKs go in on stdin.
_HEARTBEAT = """
import json, sys
from localcloud.simulator.device_client import DeviceClient
for d in json.load(sys.stdin):
    DeviceClient(cloud=d["cloud"], product_id=d["product"], device_name=d["device"],
                 psk=d["psk"]).heartbeat()
"""


def _heartbeats(devices: list[Device]) -> None:
    payload = json.dumps([{"cloud": d.tenant.cloud.endpoint, "product": d.product.product_id,
                           "device": d.name, "psk": d.psk_for_demo} for d in devices])
    result = subprocess.run([sys.executable, "-c", _HEARTBEAT],  # noqa: S603 (fixed code)
                            input=payload, cwd=BASE_DIR, env=localcloud_env(),
                            capture_output=True, text=True, timeout=120)
    if result.returncode:
        raise RuntimeError(f"heartbeats failed: {result.stderr.strip()[-500:]}")


def _grants(tenant, admin, viewer, devices) -> None:
    if viewer is None:
        return
    for spec in FLEET:
        if spec.viewer:
            services.grant_create(tenant=tenant, actor=admin, device=devices[spec.name], user=viewer)


def _sync(tenant) -> None:
    """The fleet sync, as the worker runs it: the mirror, each device's packages, the orders."""
    _mirror(tenant)
    devices = list(Device.objects.filter(tenant=tenant, removed_upstream=False)
                   .select_related("product"))
    services.devices_packages_refresh(tenant=tenant, devices=devices)
    package_services.orders_reconcile(tenant=tenant)


# --- the Procfile's `cameras` process -------------------------------------------------------

def _gaps(cloud, device: Device, start: int, end: int) -> list[tuple[int, int]]:
    """The stretches of [start, end) the device has no recording for."""
    pid = device.product.product_id
    spans = []
    for day in cloud.describe_cloud_storage_dates(pid, device.name):
        spans += [(int(s.start.timestamp()), int(s.end.timestamp()))
                  for s in cloud.describe_cloud_storage_time(pid, device.name, day=day).spans]
    gaps, at = [], start
    for span_start, span_end in sorted(spans):
        if span_start > at:
            gaps.append((at, min(span_start, end)))
        at = max(at, span_end)
        if at >= end:
            break
    if at < end:
        gaps.append((at, end))
    # Shorter than a segment is the seam between two recordings, not a gap.
    return [(s, e) for s, e in gaps if e - s >= 10]


def cameras(stop=None) -> None:
    """Keep the demo alive while `make run` runs: the online devices stream live (heartbeats,
    new recordings), and the full-time cameras' two days are filled in behind the seed, the
    newest hour first. Stops its cameras on SIGINT / SIGTERM. Never exits on its own, because
    the process runner stops everything when one of its processes ends."""
    import threading

    from portal.models import Tenant

    stop = stop or threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_a: stop.set())
    children: list[subprocess.Popen] = []

    def start(args: list[str]) -> subprocess.Popen:
        child = subprocess.Popen([sys.executable, "manage.py", *args],  # noqa: S603 (fixed argv)
                                 cwd=BASE_DIR, env=localcloud_env(), start_new_session=True)
        children.append(child)
        return child

    threading.Thread(target=_announce, args=(stop,), daemon=True).start()
    try:
        tenant = Tenant.objects.filter(slug="demo", cloud__isnull=False).first()
        if tenant is None:
            print("cameras: no demo tenant yet (run manage.py seed_demo); idle.", flush=True)
        else:
            # The cloud starts beside this process; give it the time it takes.
            deadline = time.monotonic() + 90
            while not _answers(tenant.cloud.endpoint) and time.monotonic() < deadline:
                if stop.wait(1):
                    return
            _cameras(tenant, stop, start)
    except Exception:  # a broken demo camera must not take the web site down with it
        log.exception("cameras: stopped filling in footage")
    stop.wait()
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGINT)  # the simulator closes open events cleanly
    # The process runner kills this process 5 s after asking it to stop; its cameras (in their
    # own sessions) must be gone by then, not left running without it.
    deadline = time.monotonic() + 3.5
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()


def _announce(stop, url: str = "http://127.0.0.1:8000/") -> None:
    """Once the web site answers, say where to go and how to log in: the last thing a person
    starting `make run` should read, after the other processes' start-up lines."""
    from portal.management.commands.seed_demo import DEMO_USERS

    while not stop.is_set():
        try:
            requests.get(url, timeout=2)
            break
        except requests.RequestException:
            stop.wait(1)
    if stop.is_set():
        return
    lines = ["", "=" * 64, f"  The demo is running: open {url}", "  Log in as:"]
    for username, (role, password) in DEMO_USERS.items():
        lines.append(f"    {str(role.label):<7} {username:<8} password {password}")
    lines += ["  localcloud (the embedded cloud): http://127.0.0.1:8010/",
              "  Ctrl-C stops everything.", "=" * 64, ""]
    print("\n".join(lines), flush=True)


def _cameras(tenant, stop, start) -> None:
    opts = footage_settings()
    devices = {d.name: d for d in Device.objects.filter(
        tenant=tenant, product__name__in=[VIDEO_PRODUCT, LOCK_PRODUCT], removed_upstream=False)
        .select_related("product", "tenant__cloud")}
    specs = [spec for spec in FLEET if spec.name in devices]
    _attach_psks(tenant, devices)
    live_from = int(time.time())
    for spec in specs:
        if spec.online and spec.footage:
            start(_simulate(devices[spec.name], spec.footage, "--realtime",
                            "--event-every", str(opts["event_every"])))
    print(f"cameras: {sum(s.online for s in specs)} demo devices live", flush=True)
    cloud = _cloud(tenant)
    chunks = []
    for spec in specs:
        if spec.footage != "fulltime":
            continue
        device = devices[spec.name]
        first = Order.objects.filter(tenant=tenant, device=device,
                                     purchase__token=f"demo-{spec.name}-1").first()
        if first is None or first.submitted_at is None:
            continue
        anchor = int(first.submitted_at.timestamp())
        window_start = anchor - anchor % 10 - opts["fulltime_days"] * DAY
        for gap_start, gap_end in _gaps(cloud, device, window_start, live_from):
            end = gap_end
            while end > gap_start:
                chunks.append((device, max(gap_start, end - 3600), end))
                end -= 3600
    # An hour at a time, newest first and the cameras in turn: what a visitor looks at first
    # fills in first, and a stop loses at most the hour in progress.
    chunks.sort(key=lambda chunk: -chunk[2])
    for device, begin, end in chunks:
        child = start(_simulate(device, "fulltime", "--start", str(begin),
                                "--duration", str(end - begin)))
        while child.poll() is None and not stop.wait(1):
            pass
        if stop.is_set():
            return
    if chunks:
        print(f"cameras: the full-time cameras have their {opts['fulltime_days']} days of footage",
              flush=True)
