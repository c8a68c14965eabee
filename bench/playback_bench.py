"""Playback in a real browser: from a click on an event to its first decoded frame, and the
JavaScript the playback page ships.

    python bench/playback_bench.py [--port 8230] [--iterations 15]

Seeds its own throw-away SQLite database, starts `manage.py runlocalcloud` (port P) and the
portal (`manage.py runserver`, port P+1), records footage with `simulate_device` (a
video-stream camera with ten events, a picture-stream camera with three), then drives Debian's
headless chromium with Playwright: log in as an end user, open the camera's page fresh, click
an event, and time the click until the video presents its first frame
(requestVideoFrameCallback) — and for the picture-stream camera, until the canvas has drawn
its first MJPEG frame. The page's scripts are measured gzip-compressed (level 9, as whitenoise
serves them). Prints p50/p95 and the machine; never fails. Targets are in issue 8 and
docs/benchmarks.md."""
import argparse
import gzip
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from bench.stats import machine, percentile  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "bench-password-not-secret-1"


def start(cmd: list[str], env: dict, log_path: Path, ready_url: str, *, post: bool = False):
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "manage.py", *cmd], cwd=BASE_DIR, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(ready_url, data=b"{}" if post else None,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=2):  # noqa: S310 (our own local server)
                return process
        except urllib.error.HTTPError:
            return process  # it answers: that is all we wait for
        except OSError:
            time.sleep(0.3)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit(f"{cmd[0]} did not start; see {log_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8230)
    parser.add_argument("--iterations", type=int, default=15)
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        raise SystemExit("chromium is not installed (scripts/install-browser installs it)")

    cloud_url = f"http://127.0.0.1:{args.port}"
    portal_url = f"http://127.0.0.1:{args.port + 1}"
    workdir = Path(tempfile.mkdtemp(prefix="playback-bench-"))
    env = dict(
        os.environ, DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}", VAR_DIR=str(workdir),
        MEDIA_ROOT=str(workdir / "media"), LOCALCLOUD_MEDIA_ROOT=str(workdir / "media" / "lc"),
        DJANGO_SETTINGS_MODULE="portal.settings", DEBUG="1", LOCALCLOUD_ACCESS_LOG=os.devnull,
        SECRET_KEY=secrets.token_urlsafe(40), LOG_LEVEL="WARNING",
        LOCALCLOUD_PUBLIC_URL=cloud_url, LOCALCLOUD_CORS_ORIGINS=portal_url,
        MEDIA_ORIGINS=cloud_url,
    )
    env.pop("REDIS_URL", None)  # the embedded default: local-memory cache
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=BASE_DIR, env=env,
                   check=True, capture_output=True)
    processes = [start(["runlocalcloud", "--host", "127.0.0.1", "--port", str(args.port)], env,
                       workdir / "cloud.log", cloud_url + "/", post=True)]
    try:
        processes.append(start(["runserver", "--noreload", f"127.0.0.1:{args.port + 1}"], env,
                               workdir / "portal.log", portal_url + "/accounts/login/"))
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "VAR_DIR", "MEDIA_ROOT",
                                               "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY",
                                               "LOG_LEVEL")})
        os.environ.pop("REDIS_URL", None)
        video_id, picture_id, day, user = seed(env, cloud_url)
        run_browser(args, portal_url, video_id, picture_id, day, user)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)


def seed(env: dict, cloud_url: str):
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from devices.models import Device, DeviceGrant, PackageState, Product, StreamKind
    from portal.iotvideo import cloud_for
    from portal.models import CloudConnection, Membership, Role, Tenant

    settings.IOTVIDEO_RATE_PER_SECOND = 1000
    settings.IOTVIDEO_RATE_BURST = 1000
    tenant = Tenant.objects.create(name="Bench", slug="bench", time_zone="Asia/Shanghai")
    conn = CloudConnection(tenant=tenant, kind="local", endpoint=cloud_url,
                           secret_id=settings.LOCALCLOUD_SECRET_ID)
    conn.secret_key = settings.LOCALCLOUD_SECRET_KEY
    conn.save()
    tenant.refresh_from_db()
    user = get_user_model().objects.create_user("bench-viewer", password=PASSWORD)
    Membership.objects.create(user=user, tenant=tenant, role=Role.VIEWER)
    cloud = cloud_for(tenant)
    ids = []
    for kind, category, package, mode, duration, every in (
            ("video", 0, "ye1m7d", "event", 200, 20),
            ("picture", 595, "ye1m7d", "picture", 60, 20)):
        product = cloud.create_product(f"bench {kind}", category_id=category, features=["Video"],
                                       chip_os="linux", chip_manufacture_id="ti", chip_id="x1")
        pid = product.product_id
        cloud.create_batch(pid, count=1, prefix="b")
        name = cloud.describe_devices(pid).items[0].device_name
        cloud.create_cloud_storage(pid, name, package_id=package, order_id=uuid.uuid4().hex)
        begin = int(time.time()) + 1
        subprocess.run(
            [sys.executable, "manage.py", "simulate_device", "--cloud", cloud_url,
             "--product", pid, "--device", name, "--mode", mode, "--start", str(begin),
             "--duration", str(duration), "--event-every", str(every)],
            cwd=BASE_DIR, env=env, check=True, capture_output=True)
        p = Product.objects.create(
            tenant=tenant, product_id=pid, name=f"bench {kind}", category_id=category,
            stream_kind=StreamKind.PICTURE if kind == "picture" else StreamKind.VIDEO)
        device = Device.objects.create(tenant=tenant, product=p, name=name, online=1,
                                       package_state=PackageState.ACTIVE)
        DeviceGrant.objects.create(device=device, user=user)
        ids.append(device.pk)
    import datetime as dt
    from zoneinfo import ZoneInfo

    day = dt.datetime.fromtimestamp(begin, ZoneInfo("Asia/Shanghai")).date().isoformat()
    return ids[0], ids[1], day, user.username


ARM_VIDEO = """() => {
  const v = document.querySelector('#player video');
  window.__t0 = null; window.__t1 = null;
  document.addEventListener('click', () => { window.__t0 = performance.now(); },
                            { capture: true, once: true });
  v.requestVideoFrameCallback(() => { window.__t1 = performance.now(); });
}"""
ARM_PICTURE = """() => {
  const c = document.querySelector('#picture-player canvas');
  window.__t0 = null; window.__t1 = null;
  document.addEventListener('click', () => { window.__t0 = performance.now(); },
                            { capture: true, once: true });
  new MutationObserver((list, obs) => { window.__t1 = performance.now(); obs.disconnect(); })
    .observe(c, { attributes: true, attributeFilter: ['data-frame'] });
}"""


def run_browser(args, portal_url, video_id, picture_id, day, username) -> None:
    from playwright.sync_api import sync_playwright

    video_ms, picture_ms = [], []
    scripts: dict[str, int] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(portal_url + "/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_load_state()

        for i in range(args.iterations + 1):
            page.goto(f"{portal_url}/cameras/{video_id}/?day={day}")
            page.wait_for_load_state("networkidle")
            cards = page.locator(".event-card")
            page.evaluate(ARM_VIDEO)
            cards.nth(i % cards.count()).locator(".event-play").click()
            page.wait_for_function("() => window.__t1 !== null", timeout=30_000)
            if i:  # the first round warms the server's imports and caches
                video_ms.append(page.evaluate("window.__t1 - window.__t0"))
        for entry in page.evaluate(
                "performance.getEntriesByType('resource')"
                ".filter(e => e.initiatorType === 'script' || e.name.endsWith('.js'))"
                ".map(e => e.name)"):
            path = urlsplit(entry).path
            if path.startswith("/static/"):
                source = BASE_DIR / "static" / path.removeprefix("/static/")
                if source.exists():
                    scripts[path] = len(gzip.compress(source.read_bytes(), compresslevel=9))

        for i in range(min(args.iterations, 10) + 1):
            page.goto(f"{portal_url}/cameras/{picture_id}/?day={day}")
            page.wait_for_load_state("networkidle")
            cards = page.locator(".event-card")
            page.evaluate(ARM_PICTURE)
            cards.nth(i % cards.count()).locator(".event-play").click()
            page.wait_for_function("() => window.__t1 !== null", timeout=30_000)
            if i:
                picture_ms.append(page.evaluate("window.__t1 - window.__t0"))
        browser.close()

    print(f"machine: {machine()}, chromium headless")
    print(f"{'measure':58} {'n':>4} {'p50':>9} {'p95':>9}")
    for label, values in (("click on an event → first decoded video frame (ms)", video_ms),
                          ("click on a picture-stream event → first canvas frame (ms)",
                           picture_ms)):
        print(f"{label:58} {len(values):>4} {percentile(values, .5):>9.0f} "
              f"{percentile(values, .95):>9.0f}")
    total = sum(scripts.values())
    print(f"\nJavaScript of the video-stream page, gzip -9: {total / 1024:.1f} KB")
    for path, size in sorted(scripts.items(), key=lambda kv: -kv[1]):
        print(f"  {path:50} {size / 1024:7.1f} KB")


if __name__ == "__main__":
    main()
