"""Celery tasks of the packages feature: submit one order, reconcile, auto-renew, daily digest.
Each takes ids, re-reads rows and calls a service; all are safe to run twice."""
import logging
import random

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from devices.order_models import Order
from devices.packages import services
from portal.iotvideo import errors
from portal.models import Tenant

log = logging.getLogger(__name__)

MAX_RETRIES = 12


@shared_task(
    name="devices.packages.order_submit",
    bind=True,
    # The message is acknowledged only after the task ran, and given back when the worker
    # process dies, so a killed worker's order is run again (the claim and the cloud's OrderId
    # keep that from buying twice).
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
)
def order_submit(self, order_pk: int) -> str:
    order = services.order_claim(order_pk=order_pk)
    if order is None:
        return "skipped"  # done already, or another run holds it
    try:
        order = services.order_submit(order=order)
    except errors.CloudError as exc:
        if not exc.retryable:
            raise
        if self.request.retries >= MAX_RETRIES:
            services.order_give_up(order_pk=order_pk, exc=exc)
            return "failed"
        services.order_release(order=order)
        raise self.retry(exc=exc, countdown=_retry_countdown(self.request.retries))
    return order.state


def _retry_countdown(retries: int) -> float:
    # Backoff with jitter; throttling usually clears within seconds.
    return min(60, 2 ** retries) * random.uniform(0.5, 1.5)


def _submit_alone_later(order_pk: int, exc: errors.CloudError) -> None:
    queue = getattr(settings, "PACKAGES_QUEUE", None) or None
    order_submit.apply_async(args=[order_pk], queue=queue, countdown=_retry_countdown(0))


@shared_task(
    name="devices.packages.orders_submit",
    # As order_submit: a killed worker's chunk is given back (or, on a broker that drops it,
    # found by the stale-order sweep); every order in it is claimed on its own.
    acks_late=True,
    reject_on_worker_lost=True,
)
def orders_submit(order_pks: list[int]) -> dict[str, int]:
    """Submits a chunk of orders in one task (see services.orders_submit_many): part of a
    purchase, or stale orders queued again; an order the cloud cannot take now goes on alone
    as order_submit, with its retries."""
    return services.orders_submit_many(order_pks=order_pks, on_retryable=_submit_alone_later)


@shared_task(name="devices.packages.orders_dispatch", acks_late=True, reject_on_worker_lost=True)
def orders_dispatch(order_pks: list[int]) -> int:
    """Queues the chunks of a big purchase. Run twice, it queues them twice, which the claim
    makes harmless; lost midway, the stale-order sweep queues the rest."""
    services.orders_enqueue(order_pks=order_pks, direct=True)
    return len(order_pks)


@shared_task(name="devices.packages.orders_resume_stale")
def orders_resume_stale() -> int:
    return services.orders_resume_stale()


@shared_task(name="devices.packages.orders_reconcile")
def orders_reconcile() -> int:
    """Periodic: lost tasks are queued again, then every tenant's orders checked with the cloud."""
    services.orders_resume_stale()
    services.purchase_drafts_prune()
    corrected = 0
    for tenant in Tenant.objects.filter(orders__isnull=False).distinct():
        try:
            corrected += services.orders_reconcile(tenant=tenant)
        except errors.CloudError as exc:
            log.warning("reconcile %s: %s", tenant, exc.message)
    return corrected


@shared_task(name="devices.packages.auto_renew")
def auto_renew() -> int:
    renewed = 0
    for tenant in Tenant.objects.filter(devices__auto_renew=True).distinct():
        purchase = services.auto_renew_tenant(tenant=tenant)
        renewed += purchase.orders.count() if purchase else 0
    return renewed


@shared_task(name="devices.packages.expiry_digest")
def expiry_digest() -> int:
    sent = 0
    for tenant in Tenant.objects.filter(devices__isnull=False).distinct():
        sent += services.expiry_digest_send(tenant=tenant)
    return sent


@worker_ready.connect
def _resume_after_restart(sender=None, **kwargs):
    # A worker that starts after a crash picks up the orders the dead one held: now, when the
    # dead worker's leases have run out, and when pending orders count as lost (their messages
    # may have gone with it).
    if not Order.objects.filter(state__in=["pending", "submitting"]).exists():
        return
    queue = getattr(settings, "PACKAGES_QUEUE", None) or None
    lease = services.lease_seconds()
    for countdown in (0, lease + 2, services.PENDING_LEASES * lease + 2):
        orders_resume_stale.apply_async(countdown=countdown, queue=queue)
