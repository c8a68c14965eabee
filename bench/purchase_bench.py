"""Benchmark: a bulk cloud-storage purchase for N devices (default 1,000) against a live
localcloud, submitted by real Celery worker processes; measures the wall time from confirm to
the last order in force, per-order latency, and checks the cloud holds no duplicate package.

Seeds its own data in a temporary directory (SQLite portal database, kombu filesystem broker,
localcloud with its own SQLite database) and cleans up. Prints a table; never fails a build.

    python bench/purchase_bench.py [--devices 1000] [--workers 2] [--concurrency 4]
                                   [--rate R] [--chunk N] [--port 8201]
                                   [--postgres postgres://USER@HOST:5432] [--redis redis://HOST:6379]
                                   [--db-prefix purchase_bench] [--redis-dbs 13,14]

With --postgres the portal and localcloud get fresh databases `<prefix>_portal` and
`<prefix>_cloud` on that server (dropped at the end); with --redis the broker and the cache (so
the rate limit is shared by every worker process) are the two Redis databases of --redis-dbs.

The client keeps to the project's own per-action limit (Tencent's documented 20 requests/s);
--rate overrides it (IOTVIDEO_RATE_PER_SECOND) to see what the rest of the pipeline could do.
localcloud has no limit of its own. --chunk is PACKAGES_SUBMIT_CHUNK (orders per task).
"""
import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_ID = "AKIDpurchasebench000000000000000000"
SECRET_KEY = "purchasebenchsecretkey00000000000"


def _env(workdir: Path, args, **extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": f"{workdir}{os.pathsep}{BASE_DIR}",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "VAR_DIR": str(workdir / "var"),
        "DATABASE_URL": _database_url(args, workdir, "portal"),
        "CELERY_BROKER_URL": f"{args.redis}/{args.redis_dbs[0]}" if args.redis else "filesystem://",
        "REDIS_URL": f"{args.redis}/{args.redis_dbs[1]}" if args.redis else "",
        "SECRET_KEY": "purchase-bench-" + os.urandom(8).hex(),
        "FERNET_KEYS": "DnlwqjAFSzJTmSNUb8mhdVy_NP0wmuXobdAdS6FXg7k=",
        "LOCALCLOUD_SECRET_ID": SECRET_ID,
        "LOCALCLOUD_SECRET_KEY": SECRET_KEY,
        "PACKAGES_QUEUE": "purchase-bench",
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
    })
    env.update(extra)
    return env


def _database_url(args, workdir: Path, name: str) -> str:
    if args.postgres:
        return f"{args.postgres}/{args.db_prefix}_{name}"
    return f"sqlite:///{workdir / (name + '.sqlite3')}"


def _postgres_recreate(args, *, drop_only: bool = False) -> None:
    import psycopg

    with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as db:
        for name in ("portal", "cloud"):
            db.execute(f"DROP DATABASE IF EXISTS {args.db_prefix}_{name} WITH (FORCE)")
            if not drop_only:
                db.execute(f"CREATE DATABASE {args.db_prefix}_{name}")


def _redis_flush(args) -> None:
    """Databases 13 and 14 belong to this bench: empty them, so no message of an earlier run
    (e.g. a sweep scheduled for later) is left behind or picked up."""
    if args.redis:
        import redis

        for number in args.redis_dbs:
            redis.Redis.from_url(f"{args.redis}/{number}").flushdb()


def _settings_module(workdir: Path, args) -> None:
    # Only what the command line overrides; everything else is the project's settings.
    lines = ["from portal.settings import *  # noqa"]
    if args.rate:
        lines.append(f"IOTVIDEO_RATE_PER_SECOND = {args.rate}")
    if args.chunk:
        lines.append(f"PACKAGES_SUBMIT_CHUNK = {args.chunk}")
    (workdir / "bench_settings.py").write_text("\n".join(lines) + "\n")


def _manage(env, *args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            req = urllib.request.Request(url, data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=2) as resp:
                if "Response" in json.loads(resp.read()):
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("localcloud did not start")


def _stop(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _group_cpu(pgids) -> float:
    """CPU seconds (user + system) used so far by every process in these process groups
    (a worker and its pool children, localcloud and its workers); 0 without /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp, ..., utime (12th), stime (13th).
        if int(fields[2]) in pgids:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="pool size of each worker")
    parser.add_argument("--rate", type=float, default=0,
                        help="per-action limit of the client (default: the project's, 20/s)")
    parser.add_argument("--chunk", type=int, default=0,
                        help="orders per submission task (default: the project's)")
    parser.add_argument("--port", type=int, default=8201)
    parser.add_argument("--cloud-workers", type=int, default=2, help="localcloud processes")
    parser.add_argument("--postgres", default="", help="PostgreSQL server URL, no database")
    parser.add_argument("--redis", default="", help="Redis server URL, no database number")
    parser.add_argument("--db-prefix", default="purchase_bench",
                        help="with --postgres: databases <prefix>_portal and <prefix>_cloud")
    parser.add_argument("--redis-dbs", default="13,14",
                        help="with --redis: the broker's and the cache's database numbers")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    args.postgres, args.redis = args.postgres.rstrip("/"), args.redis.rstrip("/")
    args.redis_dbs = [int(n) for n in args.redis_dbs.split(",")][:2]

    workdir = Path(tempfile.mkdtemp(prefix="purchase-bench-"))
    _settings_module(workdir, args)
    if args.postgres:
        _postgres_recreate(args)
    _redis_flush(args)
    env = _env(workdir, args)
    cloud_db = _database_url(args, workdir, "cloud")
    cloud_env = _env(workdir, args, DATABASE_URL=cloud_db,
                     DJANGO_SETTINGS_MODULE="portal.settings",
                     LOCALCLOUD_PUBLIC_URL=f"http://127.0.0.1:{args.port}",
                     LOCALCLOUD_WORKERS=str(args.cloud_workers), LOCALCLOUD_THREADS="8")
    processes = []
    try:
        _manage(env, "migrate", "--noinput")
        _manage(cloud_env, "migrate", "--noinput", "localcloud")
        cloud = subprocess.Popen(
            [sys.executable, "manage.py", "runlocalcloud", "--port", str(args.port)],
            cwd=BASE_DIR, env=cloud_env, stdout=open(workdir / "localcloud.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(cloud)
        _wait_http(f"http://127.0.0.1:{args.port}/")

        os.environ.update(env)
        sys.path[:0] = [str(workdir), str(BASE_DIR)]
        import django

        django.setup()
        result = _run(args, workdir, env, processes, cloud_db)
    finally:
        for process in reversed(processes):
            _stop(process)
        _redis_flush(args)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
            if args.postgres:
                with contextlib.suppress(Exception):
                    from django.db import connections

                    connections.close_all()
                _postgres_recreate(args, drop_only=True)
    _print(args, result)


def _run(args, workdir, env, processes, cloud_db):
    from django.contrib.auth import get_user_model

    from devices.models import Device, Product
    from devices.order_models import Order, OrderState, PackagePrice
    from devices.packages import services
    from portal.iotvideo import cloud_for
    from portal.models import CloudConnection, Membership, Role, Tenant

    tenant = Tenant.objects.create(name="Bench Cameras", slug="bench")
    user = get_user_model().objects.create_user("bench-staff", "staff@example.com")
    Membership.objects.create(user=user, tenant=tenant, role=Role.STAFF)
    connection = CloudConnection(tenant=tenant, endpoint=f"http://127.0.0.1:{args.port}",
                                 secret_id=SECRET_ID)
    connection.secret_key = SECRET_KEY
    connection.save()
    PackagePrice.objects.create(tenant=tenant, package_id="ye1m7d", price_cents=300, currency="CNY")

    cloud = cloud_for(tenant)
    product = cloud.create_product("bench", features=["Video"], chip_os="linux",
                                   chip_manufacture_id="ti", chip_id="x1")
    cloud.create_batch(product.product_id, count=args.devices, prefix="bench")
    names, offset = [], 0
    while len(names) < args.devices:
        page = cloud.describe_devices(product.product_id, offset=offset, limit=100)
        names += [d.device_name for d in page.items]
        offset += 100
        if offset >= page.total:
            break
    mirror = Product.objects.create(tenant=tenant, product_id=product.product_id, name="bench")
    Device.objects.bulk_create([Device(tenant=tenant, product=mirror, name=n) for n in names])
    device_ids = list(Device.objects.filter(tenant=tenant).values_list("pk", flat=True))

    for i in range(args.workers):
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", "purchase-bench",
             "-c", str(args.concurrency), "--pool", "prefork", "-l", "warning",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"bench{i}@%h"],
            cwd=BASE_DIR, env=env, stdout=open(workdir / f"worker{i}.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT, start_new_session=True))
    time.sleep(3)  # let the workers connect before the clock starts

    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    worker_pgids = {p.pid for p in processes[1:]}
    cloud_pgids = {processes[0].pid}
    cpu_before = (_group_cpu(worker_pgids), _group_cpu(cloud_pgids), time.process_time())
    started = time.monotonic()
    purchase, _ = services.purchase_direct(tenant=tenant, user=user, package_id="ye1m7d",
                                           start_mode="end", device_ids=device_ids,
                                           token="bench-purchase")
    confirmed = time.monotonic()
    deadline = started + 600
    done_states = (OrderState.ACTIVE, OrderState.QUEUED, OrderState.FAILED)
    while time.monotonic() < deadline:
        done = Order.objects.filter(purchase=purchase, state__in=done_states).count()
        if done >= len(device_ids):
            break
        time.sleep(0.2)
    finished = time.monotonic()
    cpu = (_group_cpu(worker_pgids) - cpu_before[0], _group_cpu(cloud_pgids) - cpu_before[1],
           time.process_time() - cpu_before[2])

    orders = list(Order.objects.filter(purchase=purchase).values("state", "created_at", "updated_at"))
    latencies = [(o["updated_at"] - o["created_at"]).total_seconds() for o in orders
                 if o["state"] in (OrderState.ACTIVE, OrderState.QUEUED)]
    states = {}
    for o in orders:
        states[o["state"]] = states.get(o["state"], 0) + 1
    # Read straight from localcloud's database: a thousand DescribeDevicePackages calls would
    # measure the API, not the purchase.
    query = ("SELECT COUNT(*), COUNT(DISTINCT order_id), COUNT(DISTINCT device_id) "
             "FROM localcloud_package WHERE NOT cancelled")
    if cloud_db.startswith("sqlite:///"):
        with sqlite3.connect(cloud_db.removeprefix("sqlite:///")) as db:
            packages, distinct_orders, devices_with = db.execute(query).fetchone()
    else:
        import psycopg

        with psycopg.connect(cloud_db) as db:
            packages, distinct_orders, devices_with = db.execute(query).fetchone()
    from devices.packages.services import chunk_size
    from portal.iotvideo.ratelimit import limit_for

    limit = limit_for("CreateCloudStorage", tenant.slug)
    return {
        "limit": f"{limit.rate:g}/s, burst {limit.burst:g}", "chunk": chunk_size(),
        "orders": len(orders), "states": states, "load": load, "confirm_s": confirmed - started,
        "wall_s": finished - started, "p50": _pct(latencies, 0.5), "p95": _pct(latencies, 0.95),
        "max": max(latencies, default=0.0), "mean": statistics.mean(latencies) if latencies else 0.0,
        "cloud_packages": packages, "cloud_orders": distinct_orders,
        "cloud_devices": devices_with,
        "duplicates": packages - distinct_orders + (packages - devices_with),
        "cpu": cpu, "load_after": " ".join(f"{value:.1f}" for value in os.getloadavg()),
    }


def _print(args, r) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.system()}"
    rows = [
        ("devices", args.devices),
        ("worker processes × pool", f"{args.workers} × {args.concurrency} (prefork)"),
        ("client rate limit / action", r["limit"]),
        ("orders per submission task", r["chunk"]),
        ("localcloud processes", args.cloud_workers),
        ("load average before", r["load"]),
        ("database / broker", f"{'PostgreSQL' if args.postgres else 'SQLite'} / "
                              f"{'Redis' if args.redis else 'filesystem'}"),
        ("confirm (orders created + queued)", f"{r['confirm_s']:.2f} s"),
        ("confirm → every order done", f"{r['wall_s']:.2f} s"),
        ("throughput", f"{r['orders'] / r['wall_s']:.1f} orders/s" if r["wall_s"] else "-"),
        ("order latency p50 / p95 / max", f"{r['p50']:.2f} / {r['p95']:.2f} / {r['max']:.2f} s"),
        ("CPU s: workers / localcloud / confirm",
         " / ".join(f"{v:.1f}" for v in r["cpu"]) + f" ({1000 * sum(r['cpu']) / max(1, r['orders']):.0f} ms per order)"),
        ("load average after", r["load_after"]),
        ("order states", ", ".join(f"{k} {v}" for k, v in sorted(r["states"].items()))),
        ("packages in the cloud", f"{r['cloud_packages']} for {r['cloud_devices']} devices, "
                                  f"{r['cloud_orders']} distinct OrderIds"),
        ("duplicate packages", r["duplicates"]),
        ("machine", machine),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"\n{'metric'.ljust(width)} | value\n{'-' * width}-|------")
    for key, value in rows:
        print(f"{key.ljust(width)} | {value}")
    verdict = "≤ 60 s" if r["wall_s"] <= 60 else "> 60 s"
    print(f"\ntarget: {args.devices} devices ≤ 60 s with no duplicate → {verdict}, "
          f"{r['duplicates']} duplicates")


if __name__ == "__main__":
    main()
