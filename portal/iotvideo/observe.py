"""Observability of cloud calls: one structured log line per request, and per-minute counters
in CloudCall for the "Cloud calls" admin page."""
from __future__ import annotations

import datetime as dt
import logging

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger("portal.iotvideo")

KEEP_FOR = dt.timedelta(days=2)


def log_call(*, tenant_id: int, tenant_slug: str, action: str, priority: str, outcome: str,
             duration_ms: int, request_id: str = "", attempt: int = 1, code: str = "") -> None:
    fields = {
        "tenant": tenant_slug,
        "tenant_id": tenant_id,
        "action": action,
        "priority": priority,
        "outcome": outcome,
        "duration_ms": duration_ms,
        "request_id": request_id,
        "attempt": attempt,
        "code": code,
    }
    # key=value in the message for the plain console formatter; the same fields in `extra` for
    # a JSON formatter in production.
    text = " ".join(f"{k}={v}" for k, v in fields.items() if v not in ("", None))
    level = logging.INFO if outcome == "ok" else logging.WARNING
    logger.log(level, "cloud_call %s", text, extra={"cloud_call": fields})


def record(*, tenant_id: int, action: str, calls: int = 0, errors: int = 0, throttles: int = 0,
           retries: int = 0, duration_ms: int = 0, at: dt.datetime | None = None) -> None:
    """Add to the counters of (tenant, action, this minute). Never raises: losing a count is
    better than failing the call it counts."""
    from portal.iotvideo.models import CloudCall

    minute = (at or timezone.now()).replace(second=0, microsecond=0)
    deltas = {"calls": calls, "errors": errors, "throttles": throttles, "retries": retries,
              "duration_ms": max(0, duration_ms)}
    try:
        # A savepoint: a failed write must not poison the caller's transaction.
        with transaction.atomic():
            updated = CloudCall.objects.filter(
                tenant_id=tenant_id, action=action, minute=minute
            ).update(**{k: F(k) + v for k, v in deltas.items()})
            if updated:
                return
        try:
            with transaction.atomic():
                CloudCall.objects.create(tenant_id=tenant_id, action=action, minute=minute,
                                         **deltas)
        except DatabaseError:
            # Another process created this minute's row first: add to it instead.
            with transaction.atomic():
                CloudCall.objects.filter(
                    tenant_id=tenant_id, action=action, minute=minute
                ).update(**{k: F(k) + v for k, v in deltas.items()})
            return
        # A new minute row: a cheap moment to drop this tenant's rows nobody will look at.
        with transaction.atomic():
            CloudCall.objects.filter(tenant_id=tenant_id, minute__lt=minute - KEEP_FOR).delete()
    except DatabaseError:
        logger.warning("cloud_call_record_failed tenant_id=%s action=%s", tenant_id, action,
                       exc_info=True)
