"""Every cloud-storage package id the cloud knows, parsed into kind / period / retention, with
a human name, and the rules that say which device may take which package (and why not)."""
import re
from dataclasses import dataclass
from datetime import timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

FULL_TIME, EVENT, LOW_POWER_EVENT = "yc", "ye", "lye"
KIND_NAMES = {
    FULL_TIME: gettext_lazy("Full-time recording"),
    EVENT: gettext_lazy("Event recording"),
    LOW_POWER_EVENT: gettext_lazy("Low-power event recording"),
}
PERIOD_NAMES = {"w": gettext_lazy("1 week"), "m": gettext_lazy("1 month"), "y": gettext_lazy("1 year")}
# How long a package runs. The cloud decides the real dates (read back with
# DescribeCloudStorageOrder after the purchase); these only drive the review page's projection.
PERIOD_DAYS = {"w": 7, "m": 30, "y": 365}

# The ids of the API reference, in the order the price list and the forms show them.
PAID_PACKAGE_IDS = (
    "yc1w7d", "yc1m3d", "yc1m7d", "yc1m30d", "yc1y3d", "yc1y7d", "yc1y30d",
    "ye1w7d", "ye1m3d", "ye1m7d", "ye1m30d", "ye1y3d", "ye1y7d", "ye1y30d",
    "lye1m3d", "lye1m7d", "lye1m30d", "lye1y3d", "lye1y7d", "lye1y30d",
)
FREE_TRIAL_IDS = ("ye1w3d", "lye1w3d")

_ID = re.compile(r"^(yc|ye|lye)1([wmy])(3|7|30)d$")


@dataclass(frozen=True)
class Package:
    package_id: str
    kind: str  # FULL_TIME / EVENT / LOW_POWER_EVENT
    period: str  # "w" / "m" / "y"
    retention_days: int
    free_trial: bool = False

    @property
    def kind_name(self) -> str:
        return str(KIND_NAMES[self.kind])

    @property
    def period_name(self) -> str:
        return str(PERIOD_NAMES[self.period])

    @property
    def name(self) -> str:
        return _("%(kind)s, %(period)s, %(days)s days kept") % {
            "kind": self.kind_name, "period": self.period_name, "days": self.retention_days}

    @property
    def duration(self) -> timedelta:
        return timedelta(days=PERIOD_DAYS[self.period])

    @property
    def is_event(self) -> bool:
        return self.kind in (EVENT, LOW_POWER_EVENT)

    @property
    def cs_type(self) -> int:
        """DescribeCloudStorage's Type: 1 full-time, 2 event."""
        return 1 if self.kind == FULL_TIME else 2


def parse(package_id: str) -> Package | None:
    """The package for a known id, else None (unknown ids are refused, never guessed)."""
    if package_id not in PAID_PACKAGE_IDS and package_id not in FREE_TRIAL_IDS:
        return None
    match = _ID.match(package_id)
    kind, period, days = match.groups()
    return Package(package_id, kind, period, int(days), free_trial=package_id in FREE_TRIAL_IDS)


def paid_packages() -> list[Package]:
    return [parse(pid) for pid in PAID_PACKAGE_IDS]


def package_name(package_id: str) -> str:
    package = parse(package_id)
    return package.name if package else package_id


def ineligibility_reason(package: Package, device) -> str | None:
    """Why `device` cannot take `package`, in words for staff; None when it can."""
    product = device.product
    if device.removed_upstream:
        return _("The device no longer exists in the cloud.")
    if product.stream_kind == "picture" and not package.is_event:
        return _("Picture-stream devices can only hold event packages.")
    if package.kind == LOW_POWER_EVENT and not product.low_power:
        return _("Low-power packages are only for low-power (battery) products.")
    return None


def free_trial_for(device) -> Package:
    """The free trial the cloud grants this kind of device."""
    return parse("lye1w3d" if device.product.low_power else "ye1w3d")
