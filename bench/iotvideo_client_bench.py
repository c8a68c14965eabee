"""What the cloud client (portal.iotvideo) costs and saves, against a live localcloud.

    python bench/iotvideo_client_bench.py [--port 8162] [--iterations 200]

Seeds its own throw-away SQLite database (portal and localcloud tables), starts two
`manage.py runlocalcloud` processes on it — a healthy one and one answering half of all
requests with RequestLimitExceeded — and measures through `cloud_for(tenant)`:
the raw SDK call vs the same read through the client (rate limit, log line, CloudCall counter),
signed video URLs on a cache miss vs a hit, 20 thumbnails one by one vs one batch, and reads
through the throttling cloud with the background retry policy. Prints a table with p50/p95
and the machine; never fails."""
import argparse
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

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from bench.stats import machine, percentile, timed  # noqa: E402


def start_server(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 (the process writes to it until it is stopped)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runlocalcloud", "--host", "127.0.0.1", "--port", str(port)],
        cwd=BASE_DIR, env={**env, "LOCALCLOUD_PUBLIC_URL": f"http://127.0.0.1:{port}"},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=2):  # noqa: S310 (our own local server)
                return process
        except OSError:
            time.sleep(0.3)
    os.killpg(process.pid, signal.SIGTERM)
    raise SystemExit(f"runlocalcloud on port {port} did not start; see {log_path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8162)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="iotvideo-bench-"))
    env = dict(
        os.environ, DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}", VAR_DIR=str(workdir),
        MEDIA_ROOT=str(workdir / "media"), LOCALCLOUD_MEDIA_ROOT=str(workdir / "media" / "lc"),
        DJANGO_SETTINGS_MODULE="portal.settings", DEBUG="1", LOCALCLOUD_ACCESS_LOG=os.devnull,
        SECRET_KEY=secrets.token_urlsafe(40), LOG_LEVEL="WARNING",
    )
    env.pop("REDIS_URL", None)  # the embedded default: local-memory cache
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=BASE_DIR, env=env,
                   check=True, capture_output=True)
    healthy = start_server(env, args.port, workdir / "healthy.log")
    flaky = start_server({**env, "LOCALCLOUD_FAULTS": "RequestLimitExceeded:0.5"},
                         args.port + 1, workdir / "flaky.log")
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "VAR_DIR", "MEDIA_ROOT",
                                           "DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY",
                                           "LOG_LEVEL")})
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    import datetime as dt

    from django.conf import settings
    from django.db.models import Sum

    from portal.iotvideo import cloud_for, observe
    from portal.iotvideo.models import CloudCall
    from portal.models import CloudConnection, Tenant

    # The bench measures the client, not the limiter: give it room (the limiter is bypassed
    # only by raising its rate; every call still takes a token).
    settings.IOTVIDEO_RATE_PER_SECOND = 10_000
    settings.IOTVIDEO_RATE_BURST = 10_000

    def tenant_on(port: int, slug: str) -> Tenant:
        tenant = Tenant.objects.create(name=slug, slug=slug)
        conn = CloudConnection(tenant=tenant, kind="local", endpoint=f"http://127.0.0.1:{port}",
                               secret_id=settings.LOCALCLOUD_SECRET_ID)
        conn.secret_key = settings.LOCALCLOUD_SECRET_KEY
        conn.save()
        tenant.refresh_from_db()
        return tenant

    rows = []
    n = args.iterations
    try:
        tenant = tenant_on(args.port, "bench")
        cloud = cloud_for(tenant)
        product = cloud.create_product("bench cam", features=["Video"], chip_os="linux",
                                       chip_manufacture_id="ti", chip_id="x1")
        pid = product.product_id
        cloud.create_batch(pid, count=1, prefix="b")
        name = cloud.describe_devices(pid).items[0].device_name
        cloud.create_cloud_storage(pid, name, package_id="ye1m7d", order_id=uuid.uuid4().hex)
        subprocess.run(
            [sys.executable, "manage.py", "simulate_device", "--cloud",
             f"http://127.0.0.1:{args.port}", "--product", pid, "--device", name,
             "--mode", "event", "--start", str(int(time.time()) + 1), "--duration", "200",
             "--event-every", "10", "--fps", "5", "--size", "160x96"],
            cwd=BASE_DIR, env=env, check=True, capture_output=True)
        now = dt.datetime.now(tz=dt.UTC)
        events = cloud.describe_cloud_storage_events(
            pid, name, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(hours=1),
            size=20).events
        thumbs = [e.thumbnail for e in events][:20]

        from tencentcloud.iotvideo.v20211125 import models as sdk_models

        raw_req = sdk_models.DescribeDeviceRequest()
        raw_req.ProductId, raw_req.DeviceName = pid, name
        sdk = cloud.sdk
        rows.append(("DescribeDevice, raw SDK", timed(lambda: sdk.DescribeDevice(raw_req), n)))
        rows.append(("DescribeDevice, through the client",
                     timed(lambda: cloud.describe_device(pid, name), n)))

        video_url = cloud.describe_cloud_storage_time(pid, name, day=now.date()).video_url
        base = int(now.timestamp()) - 3600
        counter = iter(range(10**6))
        rows.append(("signed_video_url, cache miss", timed(
            lambda: cloud.signed_video_url(video_url, start=base, end=base + 60 + next(counter)),
            n)))
        rows.append(("signed_video_url, cache hit", timed(
            lambda: cloud.signed_video_url(video_url, start=base, end=base + 60), n)))

        def one_by_one():
            fresh = cloud_for(tenant_on(args.port, f"t{uuid.uuid4().hex[:8]}"))
            for t in thumbs:
                fresh.describe_thumbnail(pid, name, t)

        def batched():
            fresh = cloud_for(tenant_on(args.port, f"t{uuid.uuid4().hex[:8]}"))
            fresh.describe_thumbnails(pid, name, thumbs)

        rows.append((f"{len(thumbs)} thumbnails one by one, cold", timed(one_by_one, 20)))
        rows.append((f"{len(thumbs)} thumbnails in one batch, cold", timed(batched, 20)))
        rows.append((f"{len(thumbs)} thumbnails, warm cache",
                     timed(lambda: cloud.describe_thumbnails(pid, name, thumbs), n)))

        flaky_tenant = tenant_on(args.port + 1, "flaky")
        background = cloud_for(flaky_tenant, priority="background")
        failures = 0

        def through_throttling():
            nonlocal failures
            try:
                background.describe_device(pid, name)
            except Exception:
                failures += 1

        rows.append(("DescribeDevice, cloud throttles 50 %, background",
                     timed(through_throttling, 100)))
        observe.flush()
        sums = CloudCall.objects.filter(tenant=flaky_tenant).aggregate(
            calls=Sum("calls"), throttles=Sum("throttles"))
    finally:
        for process in (healthy, flaky):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)

    print(f"\nportal.iotvideo client bench · {machine()} · local-memory cache, SQLite\n")
    print(f"{'measure':<52} {'n':>5} {'p50 ms':>9} {'p95 ms':>9}")
    for label, values in rows:
        print(f"{label:<52} {len(values):>5} {percentile(values, .5):>9.2f} "
              f"{percentile(values, .95):>9.2f}")
    print(f"\nthrottling cloud: 101 reads, {failures} failed after retries, "
          f"{sums['calls']} requests sent, {sums['throttles']} throttled answers")


if __name__ == "__main__":
    main()
