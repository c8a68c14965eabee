"""Retention: delete recordings older than their package's retention days (counted from the
recording's own time), index rows first, then files, in bounded batches."""
from celery import shared_task
from django.db import transaction

from localcloud import clock, index
from localcloud.models import DeviceNonce, Event, Segment
from localcloud.storage import media_delete

NONCE_KEEP_SECONDS = 600  # twice the device API's timestamp window


def retention_purge_batch(*, now: int, batch_size: int) -> int:
    """Purge one batch of expired segments and events; return how many rows went."""
    with transaction.atomic():
        segment_rows = list(
            Segment.objects.filter(purge_at__gt=0, purge_at__lte=now).order_by("purge_at")
            .values("id", "device_id", "channel_id", "start_time", "end_time", "path")
            [:batch_size]
        )
        names = index.segments_delete(segment_rows)
        events = list(Event.objects.filter(purge_at__gt=0, purge_at__lte=now)
                      .order_by("purge_at")[:batch_size])
        if events:
            from localcloud.api.recordings import events_delete

            events_delete(events)
        # Files after the commit: a crash in between leaves an unindexed file, never an index
        # row pointing at nothing.
        transaction.on_commit(lambda: [media_delete(name) for name in names])
    return len(segment_rows) + len(events)


def retention_purge(*, batch_size: int = 500, max_batches: int = 100) -> int:
    now = clock.now()
    total = 0
    for _ in range(max_batches):
        purged = retention_purge_batch(now=now, batch_size=batch_size)
        total += purged
        if purged == 0:
            break
    DeviceNonce.objects.filter(seen_at__lt=now - NONCE_KEEP_SECONDS).delete()
    return total


@shared_task(name="localcloud.retention_purge", ignore_result=True)
def retention_purge_task(batch_size: int = 500, max_batches: int = 100) -> int:
    # Safe to run twice at once: each batch deletes by primary key what it read; a row the
    # other run already deleted simply is not there any more.
    return retention_purge(batch_size=batch_size, max_batches=max_batches)
