"""localcloud_backdate: move the package of one or more orders back in time.

A demo and support tool. Packages bought through the API always start now or later, so a demo
(or a support case being reproduced) cannot otherwise show a package that expires in three
days, one that expired last week, or footage recorded yesterday: the device API judges each
upload by the package in force at the recording's own time."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from localcloud import clock
from localcloud.models import Package

MAX_SECONDS = 5 * 365 * 86400


class Command(BaseCommand):
    help = ("Shift the package of each OrderId back by N seconds (start, expiry and purchase "
            "time), as if it had been bought that much earlier. For demos and support only.")
    # Only the database is involved; skipping the checks saves a second per call.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("orders", nargs="+", metavar="ORDER_ID[=SECONDS]",
                            help="an OrderId, optionally with its own number of seconds")
        parser.add_argument("--seconds", type=int,
                            help="how far back to move the packages (1 s to 5 years)")

    def handle(self, *args, orders, seconds, **options):
        shifts = {}
        for item in orders:
            order_id, _sep, own = item.partition("=")
            try:
                shift = int(own) if own else seconds
            except ValueError:
                raise CommandError(f"`{item}`: the seconds after `=` must be a whole number.")
            if shift is None:
                raise CommandError(f"`{order_id}`: give --seconds or ORDER_ID=SECONDS.")
            if not 0 < shift <= MAX_SECONDS:
                raise CommandError(f"`{order_id}`: the shift must be between 1 and {MAX_SECONDS} "
                                   f"seconds, not {shift}.")
            shifts[order_id] = shift
        order_ids = list(shifts)
        with transaction.atomic():
            packages = {p.order_id: p for p in
                        Package.objects.select_for_update().filter(order_id__in=order_ids)}
            missing = [order_id for order_id in order_ids if order_id not in packages]
            if missing:
                # All or nothing: a half-applied list would leave the caller guessing.
                raise CommandError(f"Unknown OrderId: {', '.join(missing)}. Nothing was changed.")
            now = clock.now()
            for package in packages.values():
                shift = shifts[package.order_id]
                package.start_time -= shift
                package.expire_time -= shift
                # The purchase moves too, so consumption statistics count it on the earlier day.
                package.created_at -= shift
                package.updated_at = now
            Package.objects.bulk_update(list(packages.values()),
                                        ["start_time", "expire_time", "created_at", "updated_at"])
        for order_id in order_ids:
            package = packages[order_id]
            self.stdout.write(f"{order_id}: {package.package_id} now runs "
                              f"{package.start_time} → {package.expire_time} "
                              f"(moved back {shifts[order_id]} s)")
