"""Retention on a real Celery worker process: the beat-scheduled task, sent to a worker,
removes what is past its retention (rows and files) and keeps the rest."""
import os
import time
import uuid

import pytest
import time_machine

from localcloud import storage
from localcloud.device import services
from localcloud.models import Device, Package, Product, Segment, Span
from localcloud.tasks import retention_purge_task
from tests.devices.factories_packages import Worker, shared_database, wait_for
from tests.localcloud import media_factory as media

pytestmark = [pytest.mark.slow]
DAY = 86400


def _files(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, names in os.walk(root) for f in names)


def test_a_real_worker_purges_what_is_past_retention(transactional_db, tmp_path, settings):
    queue = f"lcret-{uuid.uuid4().hex[:8]}"
    media_root = tmp_path / "media"
    media_root.mkdir()
    settings.LOCALCLOUD_MEDIA_ROOT = media_root
    storage.media_storage.cache_clear()
    now = int(time.time())
    old, recent = now - 10 * DAY, now - 600
    body = media.ts_segment(10)
    try:
        with shared_database(tmp_path) as database_url:
            product = Product.objects.create(product_id=f"RET{uuid.uuid4().hex[:7]}",
                                             product_name="cams", created_at=old, updated_at=old)
            device = Device.objects.create(product=product, device_name="cam1", psk="psk",
                                           created_at=old)
            Package.objects.create(order_id=uuid.uuid4().hex, device=device, package_id="yc1m3d",
                                   cs_type=1, shift_duration=3, duration=30 * DAY,
                                   start_time=old - 60, expire_time=old + 30 * DAY,
                                   created_at=old, updated_at=old)
            for start in (old, old + 10, recent):
                with time_machine.travel(start + 10, tick=False):
                    services.segment_upload(device=device, channel_id=0, start=start,
                                            end=start + 10, body=body)
            assert len(_files(media_root)) == 3

            worker = Worker(database_url=database_url, queue=queue,
                            log_path=tmp_path / "worker.log",
                            env={"LOCALCLOUD_MEDIA_ROOT": str(media_root)}).start()
            try:
                retention_purge_task.apply_async(queue=queue)
                wait_for(lambda: Segment.objects.count() == 1, timeout=90,
                         message=worker.log()[-3000:])
                wait_for(lambda: len(_files(media_root)) == 1, timeout=30,
                         message=worker.log()[-3000:])
            finally:
                worker.stop()
            assert list(Segment.objects.values_list("start_time", flat=True)) == [recent]
            assert list(Span.objects.values_list("start_time", "end_time")) == \
                [(recent, recent + 10)]
    finally:
        storage.media_storage.cache_clear()
