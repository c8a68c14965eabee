"""Celery tasks of the fleet: thin wrappers that take ids and call devices.services."""
from celery import shared_task
from django.conf import settings

from devices import services
from devices.models import SyncRun
from portal.iotvideo import errors as cloud_errors
from portal.models import Tenant


@shared_task(ignore_result=True)
def tenant_sync(run_id: int) -> None:
    """Run one queued sync (claimed atomically, so a redelivered task is harmless). A cloud
    error ends the run as failed with its message; the next scheduled sync tries again."""
    services.sync_run_execute(run_id=run_id)


@shared_task(ignore_result=True, autoretry_for=(cloud_errors.Throttled, cloud_errors.Unavailable),
             retry_backoff=5, retry_jitter=True, max_retries=5)
def tenant_packages_refresh(tenant_id: int) -> None:
    """Read the packages of the tenant's stale devices, a chunk per run; queues itself again
    while stale devices remain. Safe to run twice: it only overwrites mirror columns."""
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return
    read, remaining, _failures = services.tenant_packages_refresh(tenant=tenant)
    if remaining and read:
        tenant_packages_refresh.apply_async((tenant_id,), queue=settings.DEVICES_QUEUE)


@shared_task(ignore_result=True)
def sync_all_tenants() -> None:
    """Beat's entry point: queue a sync for every tenant with a cloud connection."""
    for tenant in Tenant.objects.filter(cloud__isnull=False).only("id"):
        services.sync_run_request(tenant=tenant)


__all__ = ["tenant_sync", "tenant_packages_refresh", "sync_all_tenants", "SyncRun"]
