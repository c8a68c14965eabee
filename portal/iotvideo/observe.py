"""Observability of cloud calls: one structured log line per request, and per-minute counters
in CloudCall for the "Cloud calls" admin page."""
from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, connections, transaction
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


# Counters are summed in memory and written at most every few seconds per process: a database
# commit per cloud call cost 10-25 ms (fsync) on top of a 20 ms call. A crash loses at most
# those few seconds of counts; the log lines have every call anyway.
_FIELDS = ("calls", "errors", "throttles", "retries", "duration_ms")
_lock = threading.Lock()
_pending: dict[tuple[int, str, dt.datetime], list[int]] = {}
_last_flush = time.monotonic()
_timer: threading.Timer | None = None


def _flush_interval() -> float:
    # Tests write at once: counts must land inside the test's own transaction, not leak into
    # the next test (whose tenant may even reuse the id).
    default = 0 if getattr(settings, "TESTING", False) else 5
    return float(getattr(settings, "IOTVIDEO_CALL_LOG_FLUSH_SECONDS", default))


def record(*, tenant_id: int, action: str, calls: int = 0, errors: int = 0, throttles: int = 0,
           retries: int = 0, duration_ms: int = 0, at: dt.datetime | None = None) -> None:
    """Add to the counters of (tenant, action, this minute). Never raises: losing a count is
    better than failing the call it counts."""
    minute = (at or timezone.now()).replace(second=0, microsecond=0)
    global _timer
    interval = _flush_interval()
    with _lock:
        row = _pending.setdefault((tenant_id, action, minute), [0] * len(_FIELDS))
        for i, value in enumerate((calls, errors, throttles, retries, max(0, duration_ms))):
            row[i] += value
        due = time.monotonic() - _last_flush >= interval
        if not due and _timer is None:
            # A worker may go quiet after a burst: a timer writes the counts anyway.
            _timer = threading.Timer(interval, _flush_from_timer)
            _timer.daemon = True
            _timer.start()
    if due:
        flush()


def _flush_from_timer() -> None:
    try:
        flush()
    finally:
        connections.close_all()  # this thread's own connections; it ends now


def flush() -> None:
    """Write this process's pending counters to CloudCall (the page calls it before reading)."""
    global _last_flush, _timer
    with _lock:
        pending = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
        if _timer is not None:
            _timer.cancel()  # no-op when flush() runs in the timer itself
            _timer = None
    for (tenant_id, action, minute), values in pending.items():
        _write(tenant_id, action, minute, dict(zip(_FIELDS, values, strict=True)))


def _write(tenant_id: int, action: str, minute: dt.datetime, deltas: dict[str, int]) -> None:
    from portal.iotvideo.models import CloudCall
    from portal.models import Tenant

    rows = CloudCall.objects.filter(tenant_id=tenant_id, action=action, minute=minute)
    increments = {k: F(k) + v for k, v in deltas.items()}
    try:
        # Savepoints: a failed write must not poison the caller's transaction.
        with transaction.atomic():
            if rows.update(**increments):
                return
        if not Tenant.objects.filter(pk=tenant_id).exists():
            return  # deleted since the call: nothing to count against
        try:
            with transaction.atomic():
                CloudCall.objects.create(tenant_id=tenant_id, action=action, minute=minute,
                                         **deltas)
        except DatabaseError:
            # Another process created this minute's row first: add to it instead.
            with transaction.atomic():
                rows.update(**increments)
            return
        # A new minute row: a cheap moment to drop this tenant's rows nobody will look at.
        with transaction.atomic():
            CloudCall.objects.filter(tenant_id=tenant_id, minute__lt=minute - KEEP_FOR).delete()
    except DatabaseError:
        logger.warning("cloud_call_record_failed tenant_id=%s action=%s", tenant_id, action,
                       exc_info=True)


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # the database may already be gone at interpreter exit
        logger.debug("cloud_call_flush_at_exit_failed", exc_info=True)


atexit.register(_flush_at_exit)
