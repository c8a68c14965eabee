"""CloudCall counters: one row per tenant, action and minute; old rows pruned."""
import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from portal.iotvideo import observe
from portal.iotvideo.models import CloudCall

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def nothing_left_pending():
    """Counts a test buffered are written inside that test, never after its database is gone."""
    observe.flush()
    yield
    observe.flush()


def test_calls_in_the_same_minute_add_up_in_one_row(tenant):
    at = timezone.now().replace(second=10)
    observe.record(tenant_id=tenant.pk, action="DescribeDevices", calls=1, duration_ms=30, at=at)
    observe.record(tenant_id=tenant.pk, action="DescribeDevices", calls=1, errors=1, throttles=1,
                   retries=1, duration_ms=50, at=at.replace(second=50))

    [row] = CloudCall.objects.filter(tenant=tenant)
    assert (row.calls, row.errors, row.throttles, row.retries, row.duration_ms) == (2, 1, 1, 1, 80)
    assert row.minute == at.replace(second=0, microsecond=0)


def test_a_new_minute_prunes_rows_older_than_two_days(tenant, other_tenant):
    now = timezone.now()
    observe.record(tenant_id=tenant.pk, action="A", calls=1, at=now - dt.timedelta(days=3))
    observe.record(tenant_id=other_tenant.pk, action="A", calls=1, at=now - dt.timedelta(days=3))
    observe.record(tenant_id=tenant.pk, action="A", calls=1, at=now)
    assert CloudCall.objects.filter(tenant=tenant).count() == 1
    assert CloudCall.objects.filter(tenant=other_tenant).count() == 1  # not ours to prune


def test_counting_never_breaks_the_callers_transaction(tenant):
    with transaction.atomic():
        # A negative count breaks the table's CHECK constraint: the write fails inside.
        observe.record(tenant_id=tenant.pk, action="A", calls=-5)
        tenant.name = "still writable"
        tenant.save()
    tenant.refresh_from_db()
    assert tenant.name == "still writable"


def test_outside_tests_counts_are_buffered_and_written_together(tenant, settings):
    settings.IOTVIDEO_CALL_LOG_FLUSH_SECONDS = 3600
    observe.flush()
    for _ in range(5):
        observe.record(tenant_id=tenant.pk, action="Buffered", calls=1, duration_ms=10)
    assert not CloudCall.objects.filter(tenant=tenant, action="Buffered").exists()

    observe.flush()

    [row] = CloudCall.objects.filter(tenant=tenant, action="Buffered")
    assert (row.calls, row.duration_ms) == (5, 50)


def test_counts_of_a_tenant_deleted_meanwhile_are_dropped(tenant, other_tenant, settings):
    settings.IOTVIDEO_CALL_LOG_FLUSH_SECONDS = 3600
    observe.flush()
    observe.record(tenant_id=other_tenant.pk, action="A", calls=1)
    other_tenant.delete()
    observe.flush()
    assert not CloudCall.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_quiet_worker_still_writes_its_counts_after_a_few_seconds(tenant, settings):
    import time

    settings.IOTVIDEO_CALL_LOG_FLUSH_SECONDS = 0.5
    observe.flush()
    observe.record(tenant_id=tenant.pk, action="Quiet", calls=2)  # and then nothing more
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not CloudCall.objects.filter(action="Quiet").exists():
        time.sleep(0.1)
    assert CloudCall.objects.get(action="Quiet").calls == 2
