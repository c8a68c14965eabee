"""The fleet page, the device API list and the cloud sync at scale, on PostgreSQL.

    python bench/fleet_bench.py [--database-url postgres://postgres@127.0.0.1:5432/portal]
        [--devices 100000] [--sync-devices 10000] [--port 8181] [--iterations 40]
        [--keep] [--reuse]

Seeds its own databases (<name>_fleet_bench for the portal, <name>_fleet_bench_cloud for the
localcloud it starts; both dropped and re-created): one tenant with 100,000 devices in 10
products (bulk insert; tags, nicknames, owners, online state and packages spread over them).
Then it measures in-process through Django's test client (middleware, view, template, as a
browser would get them, with DEBUG off): the fleet page's first page, a filtered and searched
page, the 1,000th page (keyset cursor), the API list; and, against a live `runlocalcloud`
holding 10,000 devices, the sync (products + paged DescribeDevices + bulk writes), then the
package reads of 500 devices. Prints p50/p95 and the machine; never fails. Targets are in
issue 6 and docs/benchmarks.md."""
import argparse
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from bench.stats import machine, percentile  # noqa: E402

PRODUCTS = 10
PAGE = 50


def with_db_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def setup_django(database_url: str) -> None:
    from cryptography.fernet import Fernet

    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("FERNET_KEYS", Fernet.generate_key().decode())
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Production's static storage (hashed names from a manifest), collected into a scratch dir.
    os.environ["STATIC_ROOT"] = tempfile.mkdtemp(prefix="fleet-bench-static-")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", verbosity=0, interactive=False)


def seed(n_devices: int):
    """One tenant, its admin, 10 products and n devices written with bulk_create."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from devices.models import Device, PackageState, Product, tag_index_for
    from portal.models import Membership, Role, Tenant

    tenant = Tenant.objects.create(name="Bench fleet", slug="bench-fleet")
    admin = get_user_model().objects.create_user("bench-admin", "admin@bench.example", None)
    Membership.objects.create(user=admin, tenant=tenant, role=Role.ADMIN)
    owners = []
    for i in range(20):
        user = get_user_model().objects.create_user(f"owner{i}", f"owner{i}@bench.example", None)
        Membership.objects.create(user=user, tenant=tenant, role=Role.VIEWER)
        owners.append(user)
    products = [Product.objects.create(tenant=tenant, product_id=f"BENCH{i:05d}", name=f"Model {i}",
                                       stream_kind="picture" if i % 5 == 0 else "video")
                for i in range(PRODUCTS)]
    rng = random.Random(6)
    now = timezone.now()
    tags_pool = ["garden", "roof", "door", "garage", "vip", "north", "south", "shop", "hall", "lab"]
    batch = []
    for i in range(n_devices):
        tags = rng.sample(tags_pool, rng.randint(0, 3))
        state = rng.choice([PackageState.NONE, PackageState.ACTIVE, PackageState.ACTIVE,
                            PackageState.EXPIRED])
        batch.append(Device(
            tenant=tenant, product=products[i % PRODUCTS], name=f"cam{i:06d}",
            nickname=f"Camera {rng.choice(['front', 'back', 'side', 'hall'])} {i}" if i % 3 else "",
            tags=tags, tag_index=tag_index_for(tags), online=1 if rng.random() < 0.4 else 0,
            last_seen_at=now - timezone.timedelta(minutes=rng.randint(0, 60 * 24 * 30))
            if rng.random() < 0.9 else None,
            package_state=state, package_type=rng.choice([1, 2]) if state != PackageState.NONE else None,
            package_retention_days=rng.choice([3, 7, 30]) if state != PackageState.NONE else None,
            package_expires_at=(now + timezone.timedelta(days=rng.randint(1, 365)))
            if state == PackageState.ACTIVE else (now - timezone.timedelta(days=rng.randint(1, 90))
                                                  if state == PackageState.EXPIRED else None),
            owner=owners[i % 20] if i % 4 == 0 else None, packages_synced_at=now, synced_at=now))
        if len(batch) == 5000:
            Device.objects.bulk_create(batch)
            batch = []
    Device.objects.bulk_create(batch)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return tenant, admin


def measure(label, fn, iterations):
    fn()  # warm up (connections, template loading)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return label, percentile(times, 0.5), percentile(times, 0.95)


def web_benchmarks(tenant, admin, iterations):
    from django.test import Client

    from devices import selectors

    client = Client()
    client.force_login(admin)
    # The 1,000th page: its cursor is the key of the last row of page 999.
    qs = selectors.device_list(tenant=tenant, user=admin, role="admin", filters={"removed": False})
    row = qs.order_by("name", "id")[min(999 * PAGE, qs.count() - PAGE) - 1]
    cursor = selectors._encode_cursor(row.name, row.pk)

    def get(url, expect=200):
        def run():
            response = client.get(url)
            assert response.status_code == expect, (url, response.status_code)
            return response
        return run

    first_name = selectors.device_page(qs, sort="name", cursor=cursor, size=PAGE).items[0].name
    results = [
        measure("fleet page, first page (50 rows)", get("/devices/"), iterations),
        measure("fleet page, filtered + searched", get(
            "/devices/?q=front&package=active&online=online&tag=garden&sort=-last_seen"), iterations),
        measure(f"fleet page, 1,000th page (starts at {first_name})",
                get(f"/devices/?cursor={cursor}"), iterations),
        measure("fleet page, htmx partial, first page",
                lambda: client.get("/devices/", headers={"HX-Request": "true"}), iterations),
        measure("API list /api/v1/devices/ (50 rows)", get("/api/v1/devices/"), iterations),
        measure("API list, filtered + searched", get(
            "/api/v1/devices/?q=front&package=expiring&days=30&kind=video"), iterations),
    ]
    return results


def start_localcloud(database_url: str, port: int, workdir: Path):
    from tests.utils import subprocess_env  # the same environment a test's child gets

    secret_id, secret_key = "AKIDfleetbench000000000000000000000", "fleetbenchsecretkey0000000000000"
    env = subprocess_env(
        DATABASE_URL=database_url, MEDIA_ROOT=str(workdir), LOCALCLOUD_MEDIA_ROOT=str(workdir / "lc"),
        LOCALCLOUD_PUBLIC_URL=f"http://127.0.0.1:{port}", LOCALCLOUD_SECRET_ID=secret_id,
        LOCALCLOUD_SECRET_KEY=secret_key, LOCALCLOUD_WORKERS="2", LOCALCLOUD_THREADS="8")
    env.pop("DEBUG", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "localcloud"],
                   cwd=BASE_DIR, env=env, check=True, capture_output=True)
    log = open(workdir / "localcloud.log", "ab")  # noqa: SIM115 (closed by the caller's exit)
    proc = subprocess.Popen([sys.executable, "manage.py", "runlocalcloud", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=BASE_DIR, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=2).read()
            break
        except OSError:
            time.sleep(0.3)
    return proc, secret_id, secret_key


def sync_benchmark(tenant, database_url, port, n_devices):
    from devices import services
    from devices.models import Device, SyncRun
    from portal.iotvideo import cloud_for
    from portal.models import CloudConnection

    cloud_url = with_db_name(database_url, urlsplit(database_url).path.lstrip("/") + "_cloud")
    recreate_database(cloud_url)
    workdir = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    proc, secret_id, secret_key = start_localcloud(cloud_url, port, workdir)
    try:
        conn = CloudConnection(tenant=tenant, endpoint=f"http://127.0.0.1:{port}", secret_id=secret_id)
        conn.secret_key = secret_key
        conn.save()
        tenant.refresh_from_db()
        cloud = cloud_for(tenant, priority="background")
        product = cloud.create_product("bench sync", features=["Video"], chip_os="linux",
                                       chip_manufacture_id="ti", chip_id="x1")
        made = 0
        start = time.perf_counter()
        while made < n_devices:
            count = min(1000, n_devices - made)
            cloud.create_batch(product.product_id, count=count, prefix=f"s{made // 1000:02d}")
            made += count
        seed_s = time.perf_counter() - start
        run = SyncRun.objects.create(tenant=tenant)
        start = time.perf_counter()
        services.tenant_sync(tenant=tenant, run=run)
        sync_s = time.perf_counter() - start
        run.refresh_from_db()
        synced = Device.objects.filter(tenant=tenant, product__product_id=product.product_id).count()
        # Package reads: one call per device, throttled by the client's rate limit.
        sample = list(Device.objects.filter(tenant=tenant, product__product_id=product.product_id)
                      .select_related("product")[:500])
        start = time.perf_counter()
        read, failures = services.devices_packages_refresh(tenant=tenant, devices=sample)
        packages_s = time.perf_counter() - start
        # A second sync with nothing changed upstream: what the beat pays every 15 minutes.
        run2 = SyncRun.objects.create(tenant=tenant)
        start = time.perf_counter()
        services.tenant_sync(tenant=tenant, run=run2)
        resync_s = time.perf_counter() - start
        return {"seed_s": seed_s, "sync_s": sync_s, "synced": synced, "added": run.devices_added,
                "packages_s": packages_s, "packages_read": read, "failures": len(failures),
                "resync_s": resync_s}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        drop_database(cloud_url)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"))
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--sync-devices", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the database a previous --keep run left, without seeding "
                             "it again (new migrations are applied)")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("The fleet benchmark runs on PostgreSQL (--database-url postgres://…).")
    base = urlsplit(args.database_url).path.lstrip("/") or "portal"
    url = with_db_name(args.database_url, f"{base}_fleet_bench")
    load_start = os.getloadavg()
    if not args.reuse:
        recreate_database(url)
    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    start = time.perf_counter()
    if args.reuse:
        from django.contrib.auth import get_user_model

        from portal.models import Tenant

        tenant = Tenant.objects.get(slug="bench-fleet")
        admin = get_user_model().objects.get(username="bench-admin")
        args.devices = tenant.devices.count()
    else:
        tenant, admin = seed(args.devices)
    seed_s = time.perf_counter() - start
    results = web_benchmarks(tenant, admin, args.iterations)
    sync = sync_benchmark(tenant, url, args.port, args.sync_devices) if args.sync_devices else None
    from django.db import connections

    from portal.iotvideo import observe

    observe.flush()  # the cloud-call counters now, not at exit into a dropped database
    connections.close_all()
    if not args.keep:
        drop_database(url)

    load_end = os.getloadavg()
    print(f"\nFleet benchmark — {machine()}")
    seeded = "reused, not seeded" if args.reuse else f"seeded in {seed_s:.1f} s"
    print(f"PostgreSQL, {args.devices:,} devices in one tenant ({seeded}), "
          f"{args.iterations} requests each; load average (1/5/15 min) "
          f"{' '.join(f'{x:.2f}' for x in load_start)} at the start, "
          f"{' '.join(f'{x:.2f}' for x in load_end)} at the end\n")
    print(f"| {'measurement':<52} | {'p50 ms':>8} | {'p95 ms':>8} |")
    print(f"|{'-' * 54}|{'-' * 10}|{'-' * 10}|")
    for label, p50, p95 in results:
        print(f"| {label:<52} | {p50:8.1f} | {p95:8.1f} |")
    if sync:
        print(f"\nSync from a live localcloud: {sync['synced']:,} devices mirrored "
              f"({sync['added']:,} added) in {sync['sync_s']:.1f} s "
              f"(creating them in the cloud took {sync['seed_s']:.1f} s); "
              f"a second sync with nothing changed: {sync['resync_s']:.1f} s; "
              f"packages of {sync['packages_read']} devices read in {sync['packages_s']:.1f} s "
              f"({sync['failures']} failures).")


if __name__ == "__main__":
    main()
