""""Sync now" end to end: the admin's click queues the task, a real Celery worker process runs
it against a live localcloud, and the htmx progress partial shows the finished run."""
import uuid

import pytest

from devices.models import Device, SyncRun
from portal.iotvideo import cloud_for
from portal.models import Role
from tests.devices.factories_packages import Worker, shared_database, wait_for
from tests.devices.test_fleet_support import connect
from tests.factories import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.slow]


def test_sync_now_runs_on_a_real_worker_and_reports_progress(transactional_db, tmp_path, settings,
                                                             localcloud, client_for):
    queue = f"devtest-{uuid.uuid4().hex[:8]}"
    settings.DEVICES_QUEUE = queue
    with shared_database(tmp_path) as database_url:
        tenant = TenantFactory()
        admin = MembershipFactory(tenant=tenant, role=Role.ADMIN).user
        connect(tenant, localcloud)
        cloud = cloud_for(tenant)
        name = f"wk-{uuid.uuid4().hex[:6]}"
        product = cloud.create_product(name, features=["Video"], chip_os="linux",
                                       chip_manufacture_id="ti", chip_id="x1")
        cloud.create_batch(product.product_id, count=5, prefix=name[-5:])

        worker = Worker(database_url=database_url, queue=queue, log_path=tmp_path / "worker.log",
                        env={"DEVICES_QUEUE": queue}).start()
        try:
            client = client_for(admin)
            response = client.post("/devices/sync/", headers={"HX-Request": "true"})
            assert response.status_code == 200
            assert b"<progress" in response.content or b"Last sync" in response.content
            run = SyncRun.objects.get(tenant=tenant)
            wait_for(lambda: SyncRun.objects.filter(pk=run.pk, status__in=["done", "failed"]).exists(),
                     timeout=90, message=worker.log()[-3000:])
            run.refresh_from_db()
            assert run.status == "done", run.error
            assert Device.objects.filter(tenant=tenant, product__product_id=product.product_id).count() == 5
            # The packages of the new devices are read by the follow-up task on the same worker.
            wait_for(lambda: not Device.objects.filter(tenant=tenant, packages_synced_at__isnull=True).exists(),
                     timeout=90, message=worker.log()[-3000:])
            partial = client.get("/devices/sync/", headers={"HX-Request": "true"})
            assert b"Last sync" in partial.content and b"every 1s" not in partial.content
        finally:
            worker.stop()
