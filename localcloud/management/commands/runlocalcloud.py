"""Serve localcloud (cloud API, device ingest, signed media) with gunicorn: threaded workers,
no autoreloader. The process replaces itself with gunicorn so signals reach the server."""
import os
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from localcloud.api import faults


class Command(BaseCommand):
    help = "Serve localcloud: the IoT Video cloud API at /, the device API and signed media."
    # The checks would import the portal's URLs (which this server does not serve) just to
    # exec gunicorn afterwards; skipping them halves the start-up time.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8010)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("LOCALCLOUD_WORKERS", 2)),
                            help="worker processes (default 2, env LOCALCLOUD_WORKERS)")
        parser.add_argument("--threads", type=int, default=int(os.environ.get("LOCALCLOUD_THREADS", 8)),
                            help="threads per worker (default 8, env LOCALCLOUD_THREADS)")
        parser.add_argument("--timeout", type=int, default=60)

    def handle(self, *args, host, port, workers, threads, timeout, **options):
        if not 0 < port < 65536:
            raise CommandError(f"--port must be between 1 and 65535, not {port}.")
        if workers < 1 or threads < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        # Refuse a bad configuration here, with a clear message, rather than in a worker loop.
        try:
            faults.parse(settings.LOCALCLOUD_FAULTS)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc))
        env = dict(os.environ, LOCALCLOUD_SERVER="1")
        # glibc gives every thread that allocates its own malloc arena; with 16 threads each
        # holding a 256 KB upload that added ~50 MB of RSS per worker. Two arenas cost no
        # measurable throughput here. An operator's own setting wins.
        env.setdefault("MALLOC_ARENA_MAX", "2")
        argv = [
            sys.executable, "-m", "gunicorn", "localcloud.wsgi:application",
            "--bind", f"{host}:{port}",
            "--workers", str(workers),
            "--threads", str(threads),
            "--worker-class", "gthread",
            # Load the app once in the master: an import error stops the server at once, and
            # workers share the loaded code.
            "--preload",
            "--timeout", str(timeout),
            # Uploads of up to a few MB stream through; keep-alive helps the SDK's session.
            "--keep-alive", "5",
            "--error-logfile", "-",
            # Its default control socket is one fixed path per user: parallel instances clash.
            "--no-control-socket",
        ]
        # One line per request costs about 5 % of an ingest worker's CPU (gunicorn formats it
        # even for /dev/null): "off" writes none.
        access_log = os.environ.get("LOCALCLOUD_ACCESS_LOG", "-")
        if access_log != "off":
            argv += ["--access-logfile", access_log]
        self.stdout.write(f"localcloud listening on http://{host}:{port}/ "
                          f"({workers} workers × {threads} threads)")
        self.stdout.flush()
        sys.stdout.flush()
        os.execve(sys.executable, argv, env)  # noqa: S606 (fixed argv, no shell)
