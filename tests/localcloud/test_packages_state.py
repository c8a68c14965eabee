"""The package state machine over time, in-process with time-machine (the live server is a
separate process whose clock a test cannot move; test_api_packages.py covers it live)."""
from datetime import UTC, date, datetime

import pytest
import time_machine

from localcloud import packages
from localcloud.api.errors import CloudError
from localcloud.models import Device, Package, Product

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = 86400
MONTH = 30 * DAY


def ts(dt: datetime) -> int:
    return int(dt.timestamp())


@pytest.fixture
def traveller():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _product(**fields) -> Product:
    now = ts(T0)
    return Product.objects.create(product_id=fields.pop("product_id", "PROD000001"),
                                  product_name="p", created_at=now, updated_at=now, **fields)


def _device(product: Product, name: str = "cam0001") -> Device:
    return Device.objects.create(product=product, device_name=name, psk="k", created_at=ts(T0))


@pytest.fixture
def device(db):
    return _device(_product())


def buy(device, package_id, order_id, **kw):
    package, created = packages.package_create(device=device, package_id=package_id,
                                               order_id=order_id, **kw)
    return package


def in_force(device, channel_id=0):
    return packages.package_in_force(device=device, channel_id=channel_id, at=packages.clock.now())


def status(order_id):
    return packages.order_get(order_id=order_id)[1]


def test_first_package_starts_now_with_period_and_retention_from_its_id(device, traveller):
    package = buy(device, "yc1m7d", "o1")
    assert (package.start_time, package.expire_time) == (ts(T0), ts(T0) + MONTH)
    assert (package.cs_type, package.shift_duration, package.price, package.amount) == (1, 7, 2500, 2500)
    state = packages.storage_state(device=device, channel_id=0)
    assert (state.status, state.cs_type, state.expire_time, state.shift_duration) == (
        1, 1, ts(T0) + MONTH, 7)
    assert buy(device, "ye1y30d", "o2").duration == 365 * DAY
    assert buy(device, "ye1w7d", "o3").duration == 7 * DAY


def test_a_second_purchase_queues_and_starts_when_the_first_expires(device, traveller):
    first = buy(device, "yc1m7d", "o1")
    second = buy(device, "ye1m30d", "o2")  # default: at the end of the queue
    assert second.start_time == first.expire_time
    assert (status("o1"), status("o2")) == (packages.IN_FORCE, packages.WAITING)

    traveller.move_to(datetime.fromtimestamp(first.expire_time - 1, UTC))
    assert in_force(device).order_id == "o1"
    traveller.move_to(datetime.fromtimestamp(first.expire_time, UTC))
    assert in_force(device).order_id == "o2"
    assert (status("o1"), status("o2")) == (packages.EXPIRED, packages.IN_FORCE)
    state = packages.storage_state(device=device, channel_id=0)
    assert (state.cs_type, state.shift_duration, state.expire_time) == (2, 30, second.expire_time)

    traveller.move_to(datetime.fromtimestamp(second.expire_time, UTC))
    assert in_force(device) is None
    assert packages.storage_state(device=device, channel_id=0).status == 0


def test_end_queues_behind_every_package_bought(device, traveller):
    buy(device, "yc1m7d", "o1")
    buy(device, "yc1m7d", "o2", queue="end")
    third = buy(device, "yc1w7d", "o3", queue="end")
    assert third.start_time == ts(T0) + 2 * MONTH


def test_front_starts_now_and_the_interrupted_package_resumes_with_its_time_left(device, traveller):
    buy(device, "yc1m7d", "o1")
    buy(device, "yc1m7d", "o2")  # queued behind o1
    traveller.shift(10 * DAY)
    front = buy(device, "ye1w7d", "o3", queue="front")
    assert (front.start_time, front.expire_time) == (ts(T0) + 10 * DAY, ts(T0) + 17 * DAY)
    assert in_force(device).order_id == "o3"
    assert (status("o1"), status("o2"), status("o3")) == (
        packages.WAITING, packages.WAITING, packages.IN_FORCE)

    traveller.shift(7 * DAY)  # o3 over: o1 resumes with its 20 days left
    assert in_force(device).order_id == "o1"
    assert Package.objects.get(order_id="o1").expire_time == ts(T0) + 37 * DAY
    traveller.shift(20 * DAY)
    assert in_force(device).order_id == "o2"
    assert Package.objects.get(order_id="o2").expire_time == ts(T0) + 67 * DAY


def test_nested_front_purchases(device, traveller):
    buy(device, "yc1m7d", "o1")
    traveller.shift(DAY)
    buy(device, "yc1w7d", "o2", queue="front")
    traveller.shift(DAY)
    buy(device, "yc1w7d", "o3", queue="front")
    assert in_force(device).order_id == "o3"
    traveller.shift(7 * DAY)
    assert in_force(device).order_id == "o2"  # its 6 days left
    traveller.shift(6 * DAY - 1)
    assert in_force(device).order_id == "o2"
    traveller.shift(1)
    assert in_force(device).order_id == "o1"  # its 29 days left
    assert Package.objects.get(order_id="o1").expire_time == packages.clock.now() + 29 * DAY


def test_override_replaces_the_package_in_force_and_keeps_the_queue(device, traveller):
    buy(device, "yc1m7d", "o1")
    buy(device, "yc1m7d", "o2")
    traveller.shift(5 * DAY)
    new = buy(device, "yc1y30d", "o3", override=True)
    now = packages.clock.now()
    assert in_force(device).order_id == "o3"
    assert status("o1") == packages.EXPIRED
    assert Package.objects.get(order_id="o1").expire_time == now
    o2 = Package.objects.get(order_id="o2")
    assert (o2.start_time, o2.expire_time) == (new.expire_time, new.expire_time + MONTH)


def test_override_with_package_queue_is_refused(device, traveller):
    with pytest.raises(CloudError) as exc:
        buy(device, "yc1m7d", "o1", override=True, queue="front")
    assert exc.value.code == "InvalidParameter"
    with pytest.raises(CloudError) as exc:
        buy(device, "yc1m7d", "o1", queue="middle")
    assert exc.value.code == "InvalidParameterValue"
    assert not Package.objects.exists()


def test_the_same_order_id_twice_is_one_package(device, traveller):
    first, created = packages.package_create(device=device, package_id="yc1m7d", order_id="o1")
    again, created_again = packages.package_create(device=device, package_id="yc1m7d", order_id="o1")
    assert created and not created_again
    assert again.pk == first.pk
    assert Package.objects.count() == 1


def test_a_used_order_id_for_another_purchase_is_refused(device, traveller):
    buy(device, "yc1m7d", "o1")
    other = _device(device.product, "cam0002")
    for kwargs in ({"device": device, "package_id": "ye1m7d"},
                   {"device": other, "package_id": "yc1m7d"}):
        with pytest.raises(CloudError) as exc:
            packages.package_create(order_id="o1", **kwargs)
        assert exc.value.code == "InvalidParameterValue"
        assert "o1" in exc.value.message
    assert Package.objects.count() == 1


def test_unknown_package_id(device, traveller):
    with pytest.raises(CloudError) as exc:
        buy(device, "yc9m7d", "o1")
    assert exc.value.code == "InvalidParameterValue"
    assert "yc9m7d" in exc.value.message


def test_picture_stream_devices_hold_only_event_packages(db, traveller):
    lock = _device(_product(product_id="LOCK000001", category_id=595))
    with pytest.raises(CloudError) as exc:
        buy(lock, "yc1m7d", "o1")
    assert exc.value.code == "UnsupportedOperation"
    assert buy(lock, "ye1m7d", "o2").cs_type == 2
    assert buy(lock, "lye1m7d", "o3").cs_type == 2


def test_free_package_once_per_device(device, traveller):
    package = buy(device, "ye1w3d", "f1", free=True)
    assert (package.duration, package.shift_duration, package.amount, package.is_free) == (
        7 * DAY, 3, 0, True)
    assert buy(device, "ye1w3d", "f1", free=True).pk == package.pk  # a retry, not a second trial
    with pytest.raises(CloudError) as exc:
        buy(device, "lye1w3d", "f2", free=True)
    assert exc.value.code == "UnsupportedOperation"
    with pytest.raises(CloudError) as exc:
        buy(device, "yc1m7d", "f3", free=True)
    assert exc.value.code == "InvalidParameterValue"
    with pytest.raises(CloudError) as exc:
        buy(device, "ye1w3d", "p1")  # the trial id is not for sale
    assert exc.value.code == "InvalidParameterValue"


def test_nvr_channels_hold_their_own_packages(db, traveller):
    nvr = _device(_product(product_id="NVR0000001", device_type=2))
    buy(nvr, "yc1m7d", "c1", channel_id=1)
    buy(nvr, "ye1m3d", "c2", channel_id=2)
    assert in_force(nvr, 1).order_id == "c1"
    assert in_force(nvr, 2).order_id == "c2"
    assert in_force(nvr, 0) is None


def test_channels_only_for_nvr(device, traveller):
    with pytest.raises(CloudError) as exc:
        buy(device, "yc1m7d", "o1", channel_id=1)
    assert exc.value.code == "InvalidParameterValue"
    assert "NVR" in exc.value.message


def test_transfer_moves_live_packages_to_a_device_without_one(device, traveller):
    buy(device, "yc1m7d", "o1")
    buy(device, "yc1m7d", "o2")
    target = _device(device.product, "cam0002")
    assert packages.packages_transfer(source=device, target=target) == 2
    assert in_force(device) is None
    assert in_force(target).order_id == "o1"
    with pytest.raises(CloudError) as exc:
        packages.packages_transfer(source=device, target=target)
    assert exc.value.code == "UnsupportedOperation"  # the source has nothing left
    third = _device(device.product, "cam0003")
    buy(third, "yc1m7d", "o3")
    with pytest.raises(CloudError) as exc:
        packages.packages_transfer(source=third, target=target)
    assert exc.value.code == "UnsupportedOperation"
    assert "already has a package" in exc.value.message


def test_transfer_of_full_time_to_picture_stream_is_refused(device, traveller):
    buy(device, "yc1m7d", "o1")
    lock = _device(_product(product_id="LOCK000001", category_id=595))
    with pytest.raises(CloudError) as exc:
        packages.packages_transfer(source=device, target=lock)
    assert exc.value.code == "UnsupportedOperation"


def test_reset_clears_every_package(device, traveller):
    buy(device, "yc1m7d", "o1")
    buy(device, "yc1m7d", "o2")
    packages.packages_reset(device=device, channel_id=0)
    assert in_force(device) is None
    assert packages.device_packages(device=device, channel_id=0, offset=0, limit=10) == (0, [])
    assert (status("o1"), status("o2")) == (packages.EXPIRED, packages.EXPIRED)
    # After a reset the next purchase starts at once.
    assert buy(device, "ye1m7d", "o3").start_time == packages.clock.now()


def test_device_packages_lists_with_status(device, traveller):
    buy(device, "yc1m7d", "o1")
    buy(device, "ye1m7d", "o2")
    total, page = packages.device_packages(device=device, channel_id=0, offset=0, limit=10)
    assert total == 2
    assert [(p.order_id, s) for p, s in page] == [("o1", packages.IN_FORCE), ("o2", packages.WAITING)]
    traveller.shift(MONTH)
    _, page = packages.device_packages(device=device, channel_id=0, offset=0, limit=10)
    assert [(p.order_id, s) for p, s in page] == [("o1", packages.EXPIRED), ("o2", packages.IN_FORCE)]


def test_consume_stats_count_paid_packages_in_the_date_range(device, traveller):
    buy(device, "yc1m7d", "o1")
    buy(device, "yc1m7d", "o2")
    buy(device, "ye1w3d", "f1", free=True)
    stats = packages.consume_stats(start=date(2026, 3, 1), end=date(2026, 3, 1))
    assert [(s.package_id, s.count, s.price) for s in stats] == [("yc1m7d", 2, 2500)]
    assert stats[0].package_name == "全时7天存储月套餐"
    assert packages.consume_stats(start=date(2026, 3, 2), end=date(2027, 3, 2)) == []


def test_consume_stats_dates_at_most_a_year_apart(db):
    assert packages.consume_stats(start=date(2025, 3, 1), end=date(2026, 3, 1)) == []
    with pytest.raises(CloudError) as exc:
        packages.consume_stats(start=date(2025, 3, 1), end=date(2026, 3, 2))
    assert exc.value.code == "InvalidParameterValue"
    with pytest.raises(CloudError) as exc:
        packages.consume_stats(start=date(2026, 3, 2), end=date(2026, 3, 1))
    assert exc.value.code == "InvalidParameterValue"
    packages.consume_stats(start=date(2024, 2, 29), end=date(2025, 2, 28))
    with pytest.raises(CloudError):
        packages.parse_date("StartDate", "2026-02-30")
