"""Fault injection for resilience tests: LOCALCLOUD_FAULTS="RequestLimitExceeded:0.2,InternalError:0.05,latency_ms:300"
makes that share of API calls fail with that code, and every call wait that long."""
import random
import time
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from localcloud.api.errors import CloudError

_MESSAGES = {
    "RequestLimitExceeded": "The request rate limit has been exceeded; retry later.",
    "InternalError": "An internal error occurred; retry later.",
}


@dataclass(frozen=True)
class Faults:
    failures: list[tuple[str, float]] = field(default_factory=list)
    latency_ms: int = 0


def parse(spec: str) -> Faults:
    failures: list[tuple[str, float]] = []
    latency_ms = 0
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, raw = item.partition(":")
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not sep or value < 0:
            raise ImproperlyConfigured(
                f"LOCALCLOUD_FAULTS item {item!r} must be `Code:share` or `latency_ms:N`."
            )
        if name == "latency_ms":
            latency_ms = int(value)
        elif value > 1:
            raise ImproperlyConfigured(f"LOCALCLOUD_FAULTS share for {name} must be ≤ 1.")
        else:
            failures.append((name, value))
    return Faults(failures=failures, latency_ms=latency_ms)


def apply(faults: Faults) -> None:
    """Sleep for the configured latency, then maybe raise one of the configured errors."""
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    roll = random.random()
    for code, share in faults.failures:
        if roll < share:
            raise CloudError(code, _MESSAGES.get(code, f"Injected fault {code}."))
        roll -= share
