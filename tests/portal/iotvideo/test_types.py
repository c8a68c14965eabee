import datetime as dt
import zoneinfo

import pytest

from portal.iotvideo.types import SignedURL, from_epoch, to_epoch


def test_epoch_round_trip_keeps_the_instant_whatever_the_zone():
    shanghai = dt.datetime(2026, 3, 1, 8, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    epoch = to_epoch(shanghai)
    assert epoch == int(dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC).timestamp())
    back = from_epoch(epoch)
    assert back == shanghai and back.tzinfo == dt.UTC


def test_zero_means_no_time():
    assert from_epoch(0) is None
    assert from_epoch(None) is None
    assert to_epoch(None) == 0


def test_ints_pass_through_and_naive_datetimes_are_refused():
    assert to_epoch(1_700_000_000) == 1_700_000_000
    with pytest.raises(ValueError):
        to_epoch(dt.datetime(2026, 1, 1))


def test_signed_url_validity():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    url = SignedURL(url="x", expires_at=now + dt.timedelta(minutes=5))
    assert url.valid_for(now) == dt.timedelta(minutes=5)
    assert url.valid_for(now + dt.timedelta(hours=1)) == dt.timedelta(0)
