"""Reads of the cloud-call counters for the "Cloud calls" page."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from portal.iotvideo.models import CloudCall


@dataclass(frozen=True)
class ActionStats:
    action: str
    calls: int
    errors: int
    throttles: int
    retries: int
    avg_ms: int

    @property
    def ok(self) -> int:
        return max(0, self.calls - self.errors)


@dataclass(frozen=True)
class HourStats:
    hour: dt.datetime  # aware UTC; templates show it in the user's zone
    calls: int
    errors: int
    throttles: int


_SUMS = {"calls_sum": Sum("calls"), "errors_sum": Sum("errors"),
         "throttles_sum": Sum("throttles"), "retries_sum": Sum("retries"),
         "duration_sum": Sum("duration_ms")}


def cloud_call_window(*, now: dt.datetime | None = None,
                      hours: int = 24) -> tuple[dt.datetime, dt.datetime]:
    now = now or timezone.now()
    return now - dt.timedelta(hours=hours), now


def cloud_call_stats_by_action(*, tenant, since: dt.datetime) -> list[ActionStats]:
    rows = (CloudCall.objects.filter(tenant=tenant, minute__gte=since)
            .values("action").annotate(**_SUMS).order_by("-calls_sum", "action"))
    return [
        ActionStats(
            action=r["action"], calls=r["calls_sum"] or 0, errors=r["errors_sum"] or 0,
            throttles=r["throttles_sum"] or 0, retries=r["retries_sum"] or 0,
            avg_ms=int((r["duration_sum"] or 0) / r["calls_sum"]) if r["calls_sum"] else 0,
        )
        for r in rows
    ]


def cloud_call_stats_by_hour(*, tenant, since: dt.datetime,
                             hours: int = 24) -> list[HourStats]:
    """One entry per hour of the window, empty hours included (a flat bar is information)."""
    rows = (CloudCall.objects.filter(tenant=tenant, minute__gte=since)
            .annotate(hour=TruncHour("minute", tzinfo=dt.UTC)).values("hour")
            .annotate(**_SUMS).order_by("hour"))
    by_hour = {r["hour"].astimezone(dt.UTC): r for r in rows}
    first = since.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    out = []
    for i in range(hours + 1):
        hour = first + dt.timedelta(hours=i)
        r = by_hour.get(hour, {})
        out.append(HourStats(hour=hour, calls=r.get("calls_sum") or 0,
                             errors=r.get("errors_sum") or 0,
                             throttles=r.get("throttles_sum") or 0))
    return out
