"""localcloud's recording index, playlists and ingest under load, on PostgreSQL.

    python bench/localcloud_bench.py [--database-url postgres://postgres@127.0.0.1:5432/portal]
        [--port 8120] [--iterations 200] [--ingest-seconds 20] [--workers 2] [--threads 16]
        [--ingest-only]

Seeds its own database (<name>_localcloud_bench, dropped and re-created): one device with 30
days of full-time 10 s segments (259,200, a 10 s gap every hour so a day holds ~24 spans) and
1,000,000 events across 100 devices (one of them holds 100,010, so a 10,000th page of 10
exists). Then it starts `manage.py runlocalcloud` and measures through the official SDK and
plain HTTP: DescribeCloudStorageTime (one day), DescribeCloudStorageDate, the 24 h playlist
(gzip), one segment, DescribeCloudStorageEvents at the 1st and the 10,000th page, and ingest of
256 KB segments from 32 concurrent devices with the server's RSS. Prints a table with p50/p95
and the machine; never fails. Targets are in the issue and in docs/benchmarks.md."""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from bench.stats import cpu_probe_us, machine, percentile, timed  # noqa: E402

DAY = 86400
SEGMENT_SECONDS = 10
SEGMENTS = 259_200
SPAN_SEGMENTS = 359  # then a 10 s gap: about one span per hour
EVENTS = 1_000_000
EVENT_DEVICES = 100
BIG_DEVICE_EVENTS = 100_010
INGEST_DEVICES = 32
INGEST_BYTES = 256 * 1024


# --- database -------------------------------------------------------------------------------
def recreate_database(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    name = (parts.path.lstrip("/") or "portal") + "_localcloud_bench"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def server_env(database_url: str, media_root: Path, port: int) -> dict:
    return dict(
        os.environ, DATABASE_URL=database_url, LOCALCLOUD_MEDIA_ROOT=str(media_root),
        LOCALCLOUD_PUBLIC_URL=f"http://127.0.0.1:{port}", DJANGO_SETTINGS_MODULE="portal.settings",
        # Production mode (DEBUG off: no per-query logging), with throw-away secrets.
        SECRET_KEY=os.environ.get("SECRET_KEY", secrets.token_urlsafe(40)), DEBUG="0",
        FERNET_KEYS=os.environ.get("FERNET_KEYS", _fernet_key()),
        LOCALCLOUD_ACCESS_LOG="off",  # an ingest server logs no line per upload
    )


def media_bodies():
    from tests.localcloud import media_factory

    segment = media_factory.ts_segment(SEGMENT_SECONDS)
    # Pad to 256 KB with MPEG-TS null packets (PID 0x1FFF): still a valid, decodable stream.
    null_packet = b"\x47\x1f\xff\x10" + b"\xff" * 184
    padded = segment + null_packet * ((INGEST_BYTES - len(segment)) // 188 + 1)
    return segment, padded


def seed(now: int, media_root: Path, segment: bytes, *, history: bool = True) -> dict:
    """The devices with their packages; with `history`, the 30 days of segments and the
    1,000,000 events the read rows measure."""
    from django.db import connection

    from localcloud import index
    from localcloud.models import (
        Device,
        Event,
        Package,
        Product,
        RecordingDay,
        Segment,
        Span,
    )
    from localcloud.storage import media_write

    media_write("bench/segment.ts", segment)
    product = Product.objects.create(product_id="BENCHPROD1", product_name="bench",
                                     created_at=now, updated_at=now)
    ingest_product = Product.objects.create(product_id="BENCHPROD2", product_name="bench ingest",
                                     created_at=now, updated_at=now)
    devices = Device.objects.bulk_create(
        [Device(product=product, device_name=f"cam{n:04d}", psk=secrets.token_hex(16),
                created_at=now) for n in range(EVENT_DEVICES)]
        + [Device(product=ingest_product, device_name=f"ingest{n:03d}", psk=secrets.token_hex(16),
                  created_at=now) for n in range(INGEST_DEVICES)])
    for device in devices:
        Package.objects.create(order_id=f"bench-{device.pk}", device=device, package_id="yc1y30d",
                               cs_type=1, shift_duration=30, duration=365 * DAY,
                               start_time=now - 40 * DAY, expire_time=now + 300 * DAY,
                               created_at=now, updated_at=now)
    main = devices[0]
    if not history:
        return {"main": main, "devices": devices, "ingest": devices[EVENT_DEVICES:]}

    # 259,200 segments ending now, a 10 s gap after every SPAN_SEGMENTS.
    total = SEGMENTS * SEGMENT_SECONDS + (SEGMENTS // SPAN_SEGMENTS) * SEGMENT_SECONDS
    first = (now - total - 60) // 10 * 10
    starts = [first + i * SEGMENT_SECONDS + (i // SPAN_SEGMENTS) * SEGMENT_SECONDS
              for i in range(SEGMENTS)]
    sha = hashlib.sha256(segment).hexdigest()
    t = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {Segment._meta.db_table} (device_id, channel_id, start_time, "
                         "end_time, duration_ms, path, size, sha256, retention_days, purge_at) "
                         "FROM STDIN") as copy:
            for s in starts:
                copy.write_row((main.pk, 0, s, s + SEGMENT_SECONDS, SEGMENT_SECONDS * 1000,
                                "bench/segment.ts", len(segment), sha, 30,
                                s + SEGMENT_SECONDS + 30 * DAY))
        spans, span_start, prev_end = [], starts[0], starts[0] + SEGMENT_SECONDS
        for s in starts[1:]:
            if s > prev_end:
                spans.append((span_start, prev_end))
                span_start = s
            prev_end = s + SEGMENT_SECONDS
        spans.append((span_start, prev_end))
        with cursor.copy(f"COPY {Span._meta.db_table} (device_id, channel_id, start_time, "
                         "end_time) FROM STDIN") as copy:
            for s, e in spans:
                copy.write_row((main.pk, 0, s, e))
        days = index.days_touched(starts[0], prev_end)
        RecordingDay.objects.bulk_create([RecordingDay(device=main, channel_id=0, day=d)
                                          for d in days])
        segments_s = time.perf_counter() - t

        t = time.perf_counter()
        per_device = [BIG_DEVICE_EVENTS] + [
            (EVENTS - BIG_DEVICE_EVENTS) // (EVENT_DEVICES - 1)
            + (1 if n < (EVENTS - BIG_DEVICE_EVENTS) % (EVENT_DEVICES - 1) else 0)
            for n in range(EVENT_DEVICES - 1)]
        with cursor.copy(f"COPY {Event._meta.db_table} (device_id, channel_id, event_id, "
                         "start_time, end_time, thumbnail, thumbnail_path, upload_status, data, "
                         "video_path, audio_path, retention_days, purge_at, frame_rate, "
                         "media_sha256) FROM STDIN") as copy:
            for device, count in zip(devices[:EVENT_DEVICES], per_device, strict=True):
                for k in range(count):
                    start = now - 5 * k - 5
                    copy.write_row((device.pk, 0, "motion", start, start + 4,
                                    f"motion-{start}-0.jpg", "", "Finished", "", "", "", 30,
                                    start + 4 + 30 * DAY, 0, ""))
        events_s = time.perf_counter() - t
        # VACUUM as well: a million freshly copied rows would otherwise wake autovacuum in the
        # middle of the measurements, which are meant to show a cloud in its steady state.
        cursor.execute("VACUUM ANALYZE")
    return {"main": main, "devices": devices, "spans": len(spans), "first": starts[0],
            "last_end": prev_end, "segments_s": segments_s, "events_s": events_s,
            "ingest": devices[EVENT_DEVICES:]}


# --- server ---------------------------------------------------------------------------------
def start_server(env: dict, port: int, workers: int, threads: int, log: Path):
    handle = open(log, "ab")  # noqa: SIM115 (closed by the caller)
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runlocalcloud", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--threads", str(threads)],
        cwd=BASE_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("POST", "/", body=b"{}", headers={"Content-Type": "application/json"})
            conn.getresponse().read()
            return process, handle
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"runlocalcloud did not start; see {log}")


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (gunicorn master + workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += children.get(p, [])
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (exited ones count as 0)."""
    total = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def database_backends(database_url: str) -> list[int]:
    """PIDs of the PostgreSQL backends serving this benchmark's database."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")]


def tree_memory_mb(pid: int) -> tuple[float, float]:
    """RSS and PSS of a process and all its descendants (gunicorn master + workers). RSS counts
    the pages the preloaded master shares with its forked workers once per process; PSS splits
    each shared page between the processes that map it, so its sum is the real footprint."""
    rss = pss = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            pass
    return rss / 1024, pss / 1024


# --- nginx, the static-file limit -----------------------------------------------------------
def start_nginx(root: Path, port: int):
    """nginx serving `root` as static files (gzip_static: video.m3u8.gz when the client accepts
    gzip), with its config, pid and logs in `root`'s parent. None when nginx is not installed."""
    binary = shutil.which("nginx")
    if binary is None:
        return None
    prefix = root.parent
    conf = prefix / "nginx.conf"
    conf.write_text(f"""
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    gzip_static on;
    types {{ application/vnd.apple.mpegurl m3u8; video/mp2t ts; }}
    client_body_temp_path {prefix}/nginx-tmp;
    proxy_temp_path {prefix}/nginx-tmp;
    fastcgi_temp_path {prefix}/nginx-tmp;
    uwsgi_temp_path {prefix}/nginx-tmp;
    scgi_temp_path {prefix}/nginx-tmp;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
    # nginx's workers drop to an unprivileged user when started as root: let them read.
    for path in (prefix, root):
        path.chmod(0o755)
    process = subprocess.Popen([binary, "-p", str(prefix), "-e", str(prefix / "nginx-error.log"),
                                "-c", str(conf)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
            return process
        except OSError:
            if process.poll() is not None:
                return None
            time.sleep(0.1)
    process.terminate()
    return None


# --- measurements ---------------------------------------------------------------------------
def sdk(port: int):
    from django.conf import settings
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.iotvideo.v20211125.iotvideo_client import IotvideoClient

    cred = credential.Credential(settings.LOCALCLOUD_SECRET_ID, settings.LOCALCLOUD_SECRET_KEY)
    http = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{port}", reqTimeout=60)
    client = IotvideoClient(cred, "ap-guangzhou", ClientProfile(httpProfile=http))

    def call(action: str, **params) -> dict:
        from tencentcloud.iotvideo.v20211125 import models

        request = getattr(models, f"{action}Request")()
        request.from_json_string(json.dumps(params))
        return json.loads(getattr(client, action)(request).to_json_string())

    return call


def http_get(port: int):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(url: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
        parts = urlsplit(url)
        conn.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                     headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), dict(response.getheaders())

    return get


def ingest(port: int, devices, body: bytes, seconds: float, server_pid: int,
           database_url: str) -> dict:
    """32 devices upload 256 KB segments as fast as the cloud takes them, for `seconds`. Also
    the CPU time each upload cost the server, PostgreSQL and this client: unlike the rate, the
    CPU per upload hardly moves with what else the machine is doing."""
    stop = time.monotonic() + seconds
    counts, errors, rss = [0] * len(devices), [0] * len(devices), []
    body_sha = hashlib.sha256(body).hexdigest()
    base_start = int(time.time()) - 20 * DAY

    def device_loop(n: int) -> None:
        device = devices[n]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = 0
        while time.monotonic() < stop:
            start = base_start + i * SEGMENT_SECONDS
            query = f"channel=0&start_time={start}&end_time={start + SEGMENT_SECONDS}"
            ts, nonce = str(int(time.time())), secrets.token_hex(12)
            message = "\n".join(["PUT", "/device/v1/segments", query, ts, nonce, body_sha])
            sig = hmac.new(device.psk.encode(), message.encode(), hashlib.sha256).hexdigest()
            conn.request("PUT", f"/device/v1/segments?{query}", body=body, headers={
                "Content-Type": "video/mp2t", "X-Device-Product": device.product.product_id,
                "X-Device-Name": device.device_name, "X-Device-Timestamp": ts,
                "X-Device-Nonce": nonce, "X-Device-Signature": sig})
            response = conn.getresponse()
            response.read()
            if response.status == 201:
                counts[n] += 1
            else:
                errors[n] += 1
            i += 1

    def sample_rss() -> None:
        while time.monotonic() < stop:
            rss.append(tree_memory_mb(server_pid))
            time.sleep(0.5)

    def cpu_now() -> dict[str, dict[int, float]]:
        return {"server": {p: cpu_seconds([p]) for p in process_tree(server_pid)},
                "postgres": {p: cpu_seconds([p]) for p in database_backends(database_url)}}

    sampler = threading.Thread(target=sample_rss)
    sampler.start()
    cpu_before, client_before = cpu_now(), time.process_time()
    began = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(devices)) as pool:
        list(pool.map(device_loop, range(len(devices))))
    elapsed = time.monotonic() - began
    cpu_after, client_cpu = cpu_now(), time.process_time() - client_before
    sampler.join()
    uploads = max(1, sum(counts) + sum(errors))
    cpu_ms = {who: 1000 * sum(t - cpu_before[who].get(p, 0.0) for p, t in cpu_after[who].items())
              / uploads for who in cpu_after}
    cpu_ms["client"] = 1000 * client_cpu / uploads
    return {"rate": sum(counts) / elapsed, "uploads": sum(counts), "errors": sum(errors),
            "rss_max": max((r for r, _ in rss), default=0.0),
            "pss_max": max((p for _, p in rss), default=0.0), "elapsed": elapsed,
            "cpu_ms": cpu_ms}


def measure_reads(args, seeded, now: int, segment: bytes, workdir: Path, rows: list,
                  notes: list) -> None:
    """The API, playlist, segment and events rows (and nginx's for comparison)."""
    from urllib.parse import urljoin

    from localcloud import index
    from localcloud.api.recordings import _cursor
    from localcloud.models import Event

    main_device = seeded["main"]
    call = sdk(args.port)
    get = http_get(args.port)
    ids = {"ProductId": "BENCHPROD1", "DeviceName": main_device.device_name}
    day = index.day_of(now - 15 * DAY)
    day_start, day_end = index.day_bounds(day)
    n = args.iterations

    # The API's fixed cost (TC3 signing and checking, the SDK, HTTP), for comparison.
    lat = timed(lambda: call("DescribeProduct", ProductId="BENCHPROD1"), n)
    rows.append(("floor: DescribeProduct (SDK)", f"{percentile(lat, .5):.1f}",
                 f"{percentile(lat, .95):.1f}", "the API's fixed cost"))
    answer = call("DescribeCloudStorageTime", Date=day.isoformat(), **ids)
    spans_in_day = len(answer["Data"]["TimeList"])
    lat = timed(lambda: call("DescribeCloudStorageTime", Date=day.isoformat(), **ids), n)
    rows.append(("DescribeCloudStorageTime, one day (SDK)", f"{percentile(lat, .5):.1f}",
                 f"{percentile(lat, .95):.1f}", f"≤ 15; {spans_in_day} spans in the day"))
    lat = timed(lambda: call("DescribeCloudStorageDate", **ids), n)
    rows.append(("DescribeCloudStorageDate (SDK)", f"{percentile(lat, .5):.1f}",
                 f"{percentile(lat, .95):.1f}", "≤ 10"))

    video_url = answer["Data"]["VideoURL"]
    signed = call("GenerateSignedVideoURL",
                  VideoURL=f"{video_url}?starttime_epoch={day_start}&endtime_epoch={day_end}",
                  ExpireTime=now + 3 * 3600)["SignedVideoURL"]
    status, body, headers = get(signed, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip", (status, body[:200])
    _, plain, _ = get(signed)
    segment_count = plain.count(b"#EXTINF")
    lat = timed(lambda: get(signed, {"Accept-Encoding": "gzip"}), max(50, n // 4))
    rows.append((f"24 h playlist, gzip, repeated ({segment_count} segments, "
                 f"{len(body) // 1024} KB of {len(plain) // 1024} KB)", f"{percentile(lat, .5):.1f}",
                 f"{percentile(lat, .95):.1f}", "≤ 15"))
    # Each new signed address is a new expiry (what the portal hands out): not in the cache of
    # signed addresses. Of the same window (as a player's day), and of a window never asked
    # for before (shifted by a few seconds: nothing of it is cached).
    for label, shift in [("first request of a new address", lambda k: 0),
                         ("first request of a new address and window", lambda k: k + 1)]:
        fresh = []
        for k in range(20):
            url = call("GenerateSignedVideoURL", VideoURL=f"{video_url}?starttime_epoch="
                       f"{day_start + shift(k)}&endtime_epoch={day_end}",
                       ExpireTime=now + 3600 + k)["SignedVideoURL"]
            t = time.perf_counter()
            status, _, _ = get(url, {"Accept-Encoding": "gzip"})
            fresh.append((time.perf_counter() - t) * 1000)
            assert status == 200, status
        rows.append((f"24 h playlist, gzip, {label}", f"{percentile(fresh, .5):.1f}",
                     f"{percentile(fresh, .95):.1f}", "≤ 15"))
    # Segment URIs may be relative to the playlist (resolved as a player does).
    first_segment = urljoin(signed, next(line for line in plain.decode().splitlines()
                                         if line and not line.startswith("#")))
    lat = timed(lambda: get(first_segment), n)
    rows.append((f"one segment ({len(segment) // 1024} KB)", f"{percentile(lat, .5):.1f}",
                 f"{percentile(lat, .95):.1f}", ""))

    # The same playlist and segment served by nginx as static files: the limit for HTTP
    # on this machine, so the table shows how far localcloud is from it.
    www = workdir / "www"
    www.mkdir()
    (www / "video.m3u8").write_bytes(plain)
    (www / "video.m3u8.gz").write_bytes(body)
    (www / "segment.ts").write_bytes(segment)
    nginx = start_nginx(www, args.nginx_port)
    if nginx is None:
        notes.append("nginx is not installed (or did not start): no nginx rows.")
    else:
        try:
            nget = http_get(args.nginx_port)
            status, zipped, nheaders = nget("/video.m3u8", {"Accept-Encoding": "gzip"})
            assert status == 200 and nheaders.get("Content-Encoding") == "gzip", status
            lat = timed(lambda: nget("/video.m3u8", {"Accept-Encoding": "gzip"}),
                        max(50, n // 4))
            rows.append(("nginx: the same 24 h playlist, gzip (static file)",
                         f"{percentile(lat, .5):.1f}", f"{percentile(lat, .95):.1f}",
                         "the static-file limit"))
            lat = timed(lambda: nget("/segment.ts"), n)
            rows.append((f"nginx: the same segment ({len(segment) // 1024} KB)",
                         f"{percentile(lat, .5):.1f}", f"{percentile(lat, .95):.1f}", ""))
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)

    events_range = {"StartTime": now - 30 * DAY, "EndTime": now, "Size": 10}
    lat = timed(lambda: call("DescribeCloudStorageEvents", **events_range, **ids), n)
    rows.append(("DescribeCloudStorageEvents, page 1 (SDK)", f"{percentile(lat, .5):.1f}",
                 f"{percentile(lat, .95):.1f}", "≤ 15"))
    # The cursor the 9,999th page hands out, read straight from the index.
    last = (Event.objects.filter(device=main_device, channel_id=0)
            .order_by("-start_time", "-pk").values_list("start_time", "pk")[99_989])
    context = _cursor(*last)
    page = call("DescribeCloudStorageEvents", Context=context, **events_range, **ids)
    assert len(page["Events"]) == 10, page
    lat = timed(lambda: call("DescribeCloudStorageEvents", Context=context,
                             **events_range, **ids), n)
    rows.append(("DescribeCloudStorageEvents, page 10,000 (SDK)",
                 f"{percentile(lat, .5):.1f}", f"{percentile(lat, .95):.1f}",
                 "as page 1"))

    # The same reads in this process, without HTTP, the SDK or TC3: the index's own cost.
    import localcloud.api.recordings  # noqa: F401 (registers the actions)
    from localcloud.api.registry import ACTIONS, Params
    from localcloud.media import playlists

    def local(action: str, **params):
        return ACTIONS[action](Params(params))

    for label, fn in [
        ("DescribeCloudStorageTime", lambda: local("DescribeCloudStorageTime",
                                                   Date=day.isoformat(), **ids)),
        ("DescribeCloudStorageDate", lambda: local("DescribeCloudStorageDate", **ids)),
        ("DescribeCloudStorageEvents, page 1",
         lambda: local("DescribeCloudStorageEvents", **events_range, **ids)),
        ("DescribeCloudStorageEvents, page 10,000",
         lambda: local("DescribeCloudStorageEvents", Context=context, **events_range, **ids)),
        ("24 h playlist, new address of a cached window", lambda: playlists.render(
            product_id="BENCHPROD1", device_name=main_device.device_name, channel_id=0,
            start=day_start, end=day_end, expires=now + 3600)),
        ("24 h playlist, nothing cached", lambda: (playlists._windows.entries.clear(),
                                                   playlists.render(
            product_id="BENCHPROD1", device_name=main_device.device_name, channel_id=0,
            start=day_start, end=day_end, expires=now + 3600))),
    ]:
        lat = timed(fn, max(20, n // 2))
        rows.append((f"in-process: {label}", f"{percentile(lat, .5):.1f}",
                     f"{percentile(lat, .95):.1f}", "no HTTP/SDK/TC3"))



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal"))
    parser.add_argument("--port", type=int, default=8120)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--ingest-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--nginx-port", type=int, default=None,
                        help="port for the nginx comparison (default --port + 1)")
    parser.add_argument("--ingest-only", action="store_true",
                        help="seed only the devices and measure only ingest (quick)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the seeded database and media directory afterwards")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for runlocalcloud, e.g. MALLOC_ARENA_MAX=2")
    args = parser.parse_args()
    if args.nginx_port is None:
        args.nginx_port = args.port + 1
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The benchmark runs on PostgreSQL: pass --database-url postgres://…")

    probe_before = cpu_probe_us()  # before anything of ours runs
    workdir = Path(tempfile.mkdtemp(prefix="localcloud-bench-"))
    media_root = workdir / "media"
    media_root.mkdir()
    database_url = recreate_database(args.database_url)
    env = server_env(database_url, media_root, args.port)
    env.update(item.split("=", 1) for item in args.server_env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "localcloud"],
                   cwd=BASE_DIR, env=env, check=True, capture_output=True)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "LOCALCLOUD_MEDIA_ROOT",
                                           "LOCALCLOUD_PUBLIC_URL", "DJANGO_SETTINGS_MODULE",
                                           "SECRET_KEY", "DEBUG", "FERNET_KEYS")})
    import django

    django.setup()

    now = int(time.time())
    segment, padded = media_bodies()
    seeded = seed(now, media_root, segment, history=not args.ingest_only)
    process, log = start_server(env, args.port, args.workers, args.threads,
                                workdir / "runlocalcloud.log")
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    try:
        if not args.ingest_only:
            measure_reads(args, seeded, now, segment, workdir, rows, notes)

        result = ingest(args.port, seeded["ingest"], padded, args.ingest_seconds, process.pid,
                        database_url)
        rows.append((f"ingest: {INGEST_DEVICES} devices × 256 KB segments, "
                     f"{args.ingest_seconds:.0f} s", f"{result['rate']:.0f}/s", "",
                     f"≥ 300/s; {result['uploads']} stored, {result['errors']} refused"))
        cpu = result["cpu_ms"]
        capacity = 2000 / sum(cpu.values())
        rows.append(("ingest CPU per upload: server / PostgreSQL / client (ms)",
                     f"{cpu['server']:.2f} / {cpu['postgres']:.2f} / {cpu['client']:.2f}", "",
                     f"2 cores ÷ their sum = {capacity:.0f} uploads/s with nothing else running"))
        rows.append(("runlocalcloud RSS during ingest (max, summed)",
                     f"{result['rss_max']:.0f} MB", "",
                     "≤ 300 MB; counts the master's pages shared with workers once per process"))
        rows.append(("runlocalcloud PSS during ingest (max, summed)",
                     f"{result['pss_max']:.0f} MB", "", "shared pages split: the real footprint"))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    probe_after = cpu_probe_us()  # the server stopped
    print(f"localcloud bench — {machine()}; load average at the start {load_before}, "
          f"at the end {load}; CPU probe {probe_before:.2f} µs before the run, "
          f"{probe_after:.2f} µs after it (sum(range(100)), lower is faster)")
    seeded_what = ("no history (--ingest-only)" if args.ingest_only else
                   f"{SEGMENTS:,} segments ({seeded['spans']} spans) in "
                   f"{seeded['segments_s']:.1f} s and {EVENTS:,} events in "
                   f"{seeded['events_s']:.1f} s")
    print(f"PostgreSQL; seeded {seeded_what}; "
          f"runlocalcloud {args.workers} workers × {args.threads} threads"
          + (f" ({', '.join(args.server_env)})" if args.server_env else ""))
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'p50 ms':>9}  {'p95 ms':>9}  target / note")
    for name, p50, p95, note in rows:
        print(f"{name:<{width}}  {p50:>9}  {p95:>9}  {note}")
    for note in notes:
        print(note)
    if not args.keep:
        from django.db import connections

        connections.close_all()
        drop_database(database_url)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
