"""Retention: recordings older than their package's retention days (counted from the
recording's own time) go with their index rows and files, in bounded batches."""
import os

import pytest
import time_machine

from localcloud import storage, tasks
from localcloud.device import services
from localcloud.models import Device, Event, Package, Product, RecordingDay, Segment, Span
from localcloud.tasks import retention_purge_task
from tests.localcloud import media_factory as media

DAY = 86400
T0 = 1_790_000_000  # a fixed recording time (2026-09-21 in Shanghai)


@pytest.fixture
def media_root(tmp_path, settings):
    settings.LOCALCLOUD_MEDIA_ROOT = tmp_path
    storage.media_storage.cache_clear()
    yield tmp_path
    storage.media_storage.cache_clear()


@pytest.fixture
def purge(django_capture_on_commit_callbacks):
    """Run retention as the worker does, files deleted once the transaction commits."""

    def run(*, batch=None, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            if batch:
                return tasks.retention_purge_batch(batch_size=batch, **kwargs)
            return tasks.retention_purge(**kwargs)

    return run


@pytest.fixture(scope="module")
def seg10():
    return media.ts_segment(10)


def _device(*, picture: bool = False) -> Device:
    product = Product.objects.create(product_id=f"P{Product.objects.count():09d}",
                                     product_name="cams", created_at=T0, updated_at=T0,
                                     category_id=595 if picture else 0)
    return Device.objects.create(product=product, device_name="cam1", psk="psk", created_at=T0)


def _package(device, *, package_id="yc1m3d", cs_type=1, retention=3) -> Package:
    return Package.objects.create(
        order_id=f"o-{device.pk}-{package_id}", device=device, package_id=package_id,
        cs_type=cs_type, shift_duration=retention, duration=30 * DAY, start_time=T0 - 60,
        expire_time=T0 + 30 * DAY, created_at=T0, updated_at=T0)


def _files(root) -> list[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, names in os.walk(root) for f in names)


def _upload(device, start, body):
    with time_machine.travel(start + 10, tick=False):
        return services.segment_upload(device=device, channel_id=0, start=start,
                                       end=start + 10, body=body)


@pytest.mark.django_db
def test_old_segments_go_and_the_span_is_trimmed(media_root, seg10, purge):
    device = _device()
    _package(device, retention=3)
    for n in range(3):
        _upload(device, T0 + 10 * n, seg10)
    assert list(Span.objects.values_list("start_time", "end_time")) == [(T0, T0 + 30)]
    assert len(_files(media_root)) == 3

    # The first segment ended at T0+10: three days later it is gone, the others are not.
    with time_machine.travel(T0 + 10 + 3 * DAY, tick=False):
        assert purge() == 1
    assert list(Segment.objects.values_list("start_time", flat=True)) == [T0 + 10, T0 + 20]
    assert list(Span.objects.values_list("start_time", "end_time")) == [(T0 + 10, T0 + 30)]
    assert len(_files(media_root)) == 2
    assert RecordingDay.objects.count() == 1

    with time_machine.travel(T0 + 30 + 3 * DAY, tick=False):
        assert purge() == 2
    assert (Segment.objects.count(), Span.objects.count(), RecordingDay.objects.count()) == (0, 0, 0)
    assert _files(media_root) == []


@pytest.mark.django_db
def test_a_hole_punched_by_retention_splits_nothing_it_should_not(media_root, seg10, purge):
    # Retention is ordered by time, so only the oldest end of a span ever goes; the newer
    # neighbour keeps its own span.
    device = _device()
    _package(device, retention=7)
    _upload(device, T0, seg10)
    _upload(device, T0 + 10, seg10)
    _upload(device, T0 + 40, seg10)
    with time_machine.travel(T0 + 20 + 7 * DAY, tick=False):
        assert purge() == 2
    assert list(Span.objects.values_list("start_time", "end_time")) == [(T0 + 40, T0 + 50)]


@pytest.mark.django_db
def test_retention_counts_from_the_recordings_own_time(media_root, seg10, purge):
    # A backlog uploaded late keeps only what is still inside the window.
    device = _device()
    _package(device, retention=3)
    _upload(device, T0, seg10)
    with time_machine.travel(T0 + 3 * DAY - 60, tick=False):
        assert purge() == 0
    with time_machine.travel(T0 + 3 * DAY + 11, tick=False):
        assert purge() == 1


@pytest.mark.django_db
def test_purges_run_in_bounded_batches(media_root, seg10, purge):
    device = _device()
    _package(device, retention=3)
    for n in range(5):
        _upload(device, T0 + 20 * n, seg10)
    with time_machine.travel(T0 + 10 * DAY, tick=False):
        assert purge(batch=2, now=T0 + 10 * DAY) == 2
        assert Segment.objects.count() == 3
        assert purge(batch_size=2) == 3
    assert Segment.objects.count() == 0


@pytest.mark.django_db
def test_expired_events_go_with_thumbnail_video_and_audio(media_root,
                                                           django_capture_on_commit_callbacks):
    device = _device(picture=True)
    _package(device, package_id="ye1m7d", cs_type=2, retention=7)
    with time_machine.travel(T0 + 5, tick=False):
        services.picture_event_upload(device=device, channel_id=0, event_id="ring", start=T0,
                                      end=T0 + 2, fps=5, data="", video=media.mjpeg(2),
                                      audio=media.aac(2), thumbnail=None)
    assert len(_files(media_root)) == 3
    assert RecordingDay.objects.count() == 1
    with (time_machine.travel(T0 + 2 + 7 * DAY, tick=False),
          django_capture_on_commit_callbacks(execute=True)):
        retention_purge_task.apply()
    assert (Event.objects.count(), RecordingDay.objects.count()) == (0, 0)
    assert _files(media_root) == []


@pytest.mark.django_db
def test_the_task_is_registered_with_beat(settings):
    assert any(entry["task"] == "localcloud.retention_purge"
               for entry in settings.CELERY_BEAT_SCHEDULE.values())
    assert retention_purge_task.name == "localcloud.retention_purge"
