"""simulate_device: a camera that records real media and uploads it through localcloud's device
API — a past window as fast as it can (backfill, the default) or live until stopped."""
import os
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from localcloud.simulator.camera import MODES, Camera
from localcloud.simulator.cloud_api import CloudApiError, device_psk
from localcloud.simulator.device_client import DeviceApiError, DeviceClient
from localcloud.simulator.media import MediaSpec


def _size(value: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in value.lower().split("x"))
    except ValueError:
        raise ValueError(value)
    return width, height


class Command(BaseCommand):
    help = _("Simulate a camera: make real H.264/AAC or MJPEG/AAC media and upload it to a "
             "cloud through the device API.")
    # It only talks HTTP to a cloud; the project's checks (database, caches) are not its concern
    # and cost a second at every start.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--cloud", required=True,
                            help=_("the cloud's base URL, e.g. http://127.0.0.1:8010"))
        parser.add_argument("--product", required=True, help=_("ProductId"))
        parser.add_argument("--device", required=True, help=_("DeviceName"))
        parser.add_argument("--psk", help=_("the device PSK (default: looked up with "
                                            "DescribeDevice using the API key pair)"))
        parser.add_argument("--mode", required=True, choices=MODES)
        parser.add_argument("--start", type=int,
                            help=_("Unix time the backfill starts at (default now - duration)"))
        parser.add_argument("--duration", type=int,
                            help=_("seconds to record (required for a backfill; live runs "
                                   "until stopped when omitted)"))
        parser.add_argument("--realtime", action="store_true",
                            help=_("stream live as a camera would, until stopped (Ctrl-C)"))
        parser.add_argument("--event-every", type=int, default=120,
                            help=_("seconds between event starts (default 120)"))
        parser.add_argument("--channel", type=int, default=0, help=_("channel (NVR), default 0"))
        parser.add_argument("--fps", type=int, default=15, help=_("video frame rate (default 15)"))
        parser.add_argument("--size", type=_size, default=(640, 360),
                            help=_("picture size WxH (default 640x360)"))
        parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                            help=_("processes encoding a long backfill side by side "
                                   "(default: up to 2, one per CPU)"))
        parser.add_argument("--time-zone", default=None,
                            help=_("time zone of the clock in the picture "
                                   "(default LOCALCLOUD_TIME_ZONE)"))
        parser.add_argument("--secret-id", default=None,
                            help=_("API SecretId for the PSK lookup (default LOCALCLOUD_SECRET_ID)"))
        parser.add_argument("--secret-key", default=None,
                            help=_("API SecretKey for the PSK lookup (default LOCALCLOUD_SECRET_KEY)"))

    def handle(self, *args, **opts):
        duration = opts["duration"]
        realtime = opts["realtime"]
        if duration is not None and duration < 1:
            raise CommandError(_("--duration must be at least 1 second."))
        if not realtime and duration is None:
            raise CommandError(_("--duration is required for a backfill (or add --realtime)."))
        if realtime and opts["start"] is not None:
            raise CommandError(_("--start is for backfills; a live camera records from now."))
        if opts["event_every"] < 1:
            raise CommandError(_("--event-every must be at least 1 second."))
        if opts["workers"] < 1:
            raise CommandError(_("--workers must be at least 1."))
        if opts["channel"] < 0:
            raise CommandError(_("--channel must not be negative."))
        width, height = opts["size"]
        try:
            spec = MediaSpec(width=width, height=height, fps=opts["fps"],
                             time_zone=opts["time_zone"] or settings.LOCALCLOUD_TIME_ZONE)
        except (ValueError, KeyError) as exc:
            raise CommandError(_("Bad media settings: %(reason)s") % {"reason": exc})

        psk = opts["psk"] or self._lookup_psk(opts)
        try:
            client = DeviceClient(cloud=opts["cloud"], product_id=opts["product"],
                                  device_name=opts["device"], psk=psk)
        except ValueError as exc:
            raise CommandError(str(exc))
        verbose = opts["verbosity"] >= 2
        stop = threading.Event()
        camera = Camera(client=client, mode=opts["mode"], spec=spec, channel=opts["channel"],
                        event_every=opts["event_every"], workers=opts["workers"], stop=stop,
                        log=(lambda line: self.stdout.write(line)) if verbose else lambda _l: None)

        try:
            if realtime:
                # Ctrl-C / SIGTERM end the live run cleanly: the segment in progress is dropped,
                # an open event is closed as partial.
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, lambda *_a: stop.set())
                self.stdout.write(_("%(device)s is live (%(mode)s); Ctrl-C stops it.")
                                  % {"device": opts["device"], "mode": opts["mode"]})
                report = camera.live(duration=duration)
            else:
                start = opts["start"] if opts["start"] is not None else int(time.time()) - duration
                report = camera.backfill(start=start, duration=duration)
        except DeviceApiError as exc:
            raise CommandError(_("The cloud refused %(device)s: %(reason)s")
                               % {"device": opts["device"], "reason": exc})
        segments = ngettext("%(count)d segment", "%(count)d segments",
                            report.segments) % {"count": report.segments}
        events = ngettext("%(count)d event", "%(count)d events",
                          report.events) % {"count": report.events}
        self.stdout.write(
            _("%(device)s: %(segments)s, %(events)s, %(seconds)d s of %(mode)s media "
              "(%(mb).1f MB) in %(wall).1f s (%(speed).0f× real time)%(stopped)s.")
            % {"device": opts["device"], "segments": segments, "events": events,
               "seconds": report.media_seconds, "mode": opts["mode"],
               "mb": report.bytes / 1e6, "wall": report.wall_seconds, "speed": report.speed,
               "stopped": _(", stopped") if report.interrupted else ""})

    def _lookup_psk(self, opts) -> str:
        secret_id = opts["secret_id"] or settings.LOCALCLOUD_SECRET_ID
        secret_key = opts["secret_key"] or settings.LOCALCLOUD_SECRET_KEY
        try:
            return device_psk(cloud=opts["cloud"], product_id=opts["product"],
                              device_name=opts["device"], secret_id=secret_id,
                              secret_key=secret_key)
        except CloudApiError as exc:
            raise CommandError(_("Cannot look up the PSK of %(device)s: %(reason)s")
                               % {"device": opts["device"], "reason": exc})
