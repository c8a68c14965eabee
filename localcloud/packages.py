"""The cloud-storage package state machine: purchase (Override / PackageQueue front/end),
queueing, expiry, transfer, reset. Times are Unix seconds from localcloud.clock."""
from localcloud.models import Device, Package


def package_in_force(*, device: Device, channel_id: int, at: int) -> Package | None:
    """The package that judges an upload or a recording made at `at`, if any."""
    return (
        Package.objects.filter(device=device, channel_id=channel_id, cancelled=False,
                               start_time__lte=at, expire_time__gt=at)
        .order_by("start_time")
        .first()
    )
