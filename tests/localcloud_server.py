"""A live localcloud for tests: `manage.py runlocalcloud` as a real subprocess on a free port,
with its own database (and media directory), so tests talk to it over HTTP exactly as the
portal does in production. See docs/testing.md."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from tests.utils import subprocess_env

BASE_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60  # seconds; migrations on a busy 2-core machine can take a while


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_database_url() -> str:
    """The DATABASE_URL the test run was started with ('' when it uses the SQLite default)."""
    return os.environ.get("DATABASE_URL", "")


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def _recreate_postgres_database(url: str, name: str) -> str:
    """Drop and create database `name` on the server of `url`; return its URL."""
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _drop_orphaned_databases(url: str, prefix: str) -> None:
    """Drop localcloud test databases left by test runs that were killed before cleaning up."""
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"])]
        for name in names:
            pid = name[len(prefix):].split("_")[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_database(*, label: str, workdir: Path) -> tuple[str, bool]:
    """A fresh database for one localcloud: (DATABASE_URL, is_postgres)."""
    test_url = _test_database_url()
    if _is_postgres(test_url):
        # The pytest process id keeps parallel runs (xdist workers, several checkouts, CI jobs
        # sharing a server) from dropping each other's database.
        base = urlsplit(test_url).path.lstrip("/") or "portal"
        prefix = f"{base}_localcloud_test_"
        _drop_orphaned_databases(test_url, prefix)
        name = f"{prefix}{os.getpid()}" + (f"_{label}" if label else "")
        return _recreate_postgres_database(test_url, name), True
    return f"sqlite:///{workdir / 'localcloud.sqlite3'}", False


@dataclass
class LocalcloudServer:
    """One running runlocalcloud process."""

    port: int
    database_url: str
    media_root: Path
    workdir: Path
    secret_id: str
    secret_key: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    owns_database: bool = False
    owns_workdir: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"runlocalcloud-{self.port}.log"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run another manage.py command against this localcloud's database."""
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self._env(),
            capture_output=True, text=True, check=check, timeout=120,
        )

    def _env(self) -> dict[str, str]:
        return subprocess_env(
            DATABASE_URL=self.database_url,
            MEDIA_ROOT=str(self.media_root.parent),
            LOCALCLOUD_MEDIA_ROOT=str(self.media_root),
            LOCALCLOUD_PUBLIC_URL=self.url,
            LOCALCLOUD_SECRET_ID=self.secret_id,
            LOCALCLOUD_SECRET_KEY=self.secret_key,
            LOCALCLOUD_WORKERS=os.environ.get("LOCALCLOUD_TEST_WORKERS", "1"),
            LOCALCLOUD_THREADS=os.environ.get("LOCALCLOUD_TEST_THREADS", "8"),
            LOCALCLOUD_ACCESS_LOG="-",
            **self.env,
        )

    def migrate(self) -> None:
        # Only localcloud's tables: the cloud never reads the portal's.
        self.manage("migrate", "--noinput", "localcloud")

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self._log_file = log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runlocalcloud", "--host", "127.0.0.1",
             "--port", str(self.port)],
            cwd=BASE_DIR, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.log()
                self.stop()
                raise RuntimeError(f"runlocalcloud exited with {self.process.returncode}:\n{output}")
            try:
                req = urllib.request.Request(self.url + "/", data=b"{}", method="POST",
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=2) as resp:
                    if "Response" in json.loads(resp.read()):
                        return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.2)
        output = self.log()
        self.stop()
        raise RuntimeError(f"runlocalcloud did not answer within {START_TIMEOUT}s:\n{output}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # The server leads its own process group (start_new_session): its workers stop too.
            # SIGINT is gunicorn's quick shutdown; a test has no requests worth draining.
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if getattr(self, "_log_file", None):
            self._log_file.close()
        if self.owns_database and _is_postgres(self.database_url):
            _drop_postgres_database(self.database_url)
        if self.owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_localcloud(*, label: str = "", faults: str = "", env: dict[str, str] | None = None,
                     share_with: LocalcloudServer | None = None) -> LocalcloudServer:
    """Start a localcloud. With `share_with`, the new server uses that one's database and media
    (another door into the same cloud, e.g. with faults); otherwise it gets fresh ones."""
    extra = dict(env or {})
    if faults:
        extra["LOCALCLOUD_FAULTS"] = faults
    workdir = Path(tempfile.mkdtemp(prefix="localcloud-test-"))
    if share_with is not None:
        server = LocalcloudServer(
            port=free_port(), database_url=share_with.database_url,
            media_root=share_with.media_root, workdir=workdir,
            secret_id=share_with.secret_id, secret_key=share_with.secret_key,
            env=extra, owns_workdir=True,
        )
    else:
        database_url, _ = make_database(label=label, workdir=workdir)
        media_root = workdir / "media" / "localcloud"
        media_root.mkdir(parents=True)
        server = LocalcloudServer(
            port=free_port(), database_url=database_url, media_root=media_root, workdir=workdir,
            secret_id=settings.LOCALCLOUD_SECRET_ID, secret_key=settings.LOCALCLOUD_SECRET_KEY,
            env=extra, owns_database=True, owns_workdir=True,
        )
        server.migrate()
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    return server


def sdk_client_for(server: LocalcloudServer, *, secret_id: str | None = None,
                   secret_key: str | None = None, timeout: int = 30):
    """An unmodified official IotvideoClient pointed at `server` over plain HTTP."""
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.iotvideo.v20211125.iotvideo_client import IotvideoClient

    cred = credential.Credential(secret_id or server.secret_id, secret_key or server.secret_key)
    http = HttpProfile(protocol="http", endpoint=server.endpoint, reqTimeout=timeout)
    return IotvideoClient(cred, "ap-guangzhou", ClientProfile(httpProfile=http))


def tc3_headers(*, host: str, action: str, body: bytes, secret_id: str, secret_key: str,
                timestamp: int | None = None, version: str = "2021-11-25",
                content_type: str = "application/json") -> dict[str, str]:
    """Headers of a TC3-HMAC-SHA256 signed request, computed from the reference's recipe (not
    the SDK's code), for requests the SDK cannot make: crafted timestamps, raw bodies."""
    import hashlib
    import hmac
    from datetime import UTC, datetime

    timestamp = int(time.time()) if timestamp is None else timestamp
    day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join([
        "POST", "/", "", f"content-type:{content_type}\nhost:{host}\n", "content-type;host",
        hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{day}/iotvideo/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])

    def _hmac(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), day), "iotvideo"), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
                         f"SignedHeaders=content-type;host, Signature={signature}",
        "Content-Type": content_type,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": version,
        "X-TC-Region": "ap-guangzhou",
    }


def signed_post(server: LocalcloudServer, action: str, body: bytes | dict | None = None, *,
                secret_id: str | None = None, secret_key: str | None = None,
                **header_options):
    """POST a raw signed request; returns the `requests` response (HTTP status, headers, JSON)."""
    import requests

    raw = json.dumps(body or {}).encode() if not isinstance(body, bytes) else body
    headers = tc3_headers(host=server.endpoint, action=action, body=raw,
                          secret_id=secret_id or server.secret_id,
                          secret_key=secret_key or server.secret_key, **header_options)
    return requests.post(server.url + "/", data=raw, headers=headers, timeout=30)


def sdk_call(client, action: str, **params):
    """client.<Action>(<Action>Request from params) with the official SDK's models."""
    from tencentcloud.iotvideo.v20211125 import models

    request = getattr(models, f"{action}Request")()
    request.from_json_string(json.dumps(params))
    return getattr(client, action)(request)


def new_product(client, **fields) -> str:
    """Create a product through the API; returns its ProductId."""
    params = {"ProductName": "test camera", "DeviceType": 1, "ProductVaildYears": 1,
              "Features": ["ypsxth", "spdxth"], "ChipOs": "default", "ChipManufactureId": "default",
              "ChipId": "default", "ProductDescription": "made by a test", **fields}
    return sdk_call(client, "CreateProduct", **params).Data.ProductId


def new_devices(client, product_id: str, count: int = 1, prefix: str = "cam") -> list[str]:
    """Create a batch of devices through the API; returns their names."""
    sdk_call(client, "CreateBatch", ProductId=product_id, DevNum=count, DevPre=prefix)
    names = []
    offset = 0
    while True:
        page = sdk_call(client, "DescribeDevices", ProductId=product_id, Offset=offset, Limit=100,
                        DeviceName=prefix)
        names += [d.DeviceName for d in page.Devices]
        offset += 100
        if offset >= page.TotalCount:
            return sorted(n for n in names if n.startswith(prefix))
