"""The per-tenant, per-action token bucket: on Redis (Lua, shared by every process) and on the
local-memory cache (the embedded default)."""
import time
import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings

from portal.iotvideo import ratelimit
from portal.iotvideo.ratelimit import BACKGROUND, INTERACTIVE, Limit, TokenBucket

REDIS_URL = "redis://127.0.0.1:6379/3"


def _redis_available() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
        return True
    except Exception:
        return False


BACKENDS = {
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
               "LOCATION": "ratelimit-test"},
    "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
}


@pytest.fixture(params=["locmem", "redis"])
def bucket(request):
    if request.param == "redis" and not _redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    with override_settings(CACHES={"default": BACKENDS["locmem"], "rl": BACKENDS[request.param]}):
        b = TokenBucket("rl")
        assert b.uses_redis == (request.param == "redis")
        yield b
        caches["rl"].close()


def _grants(bucket, key, limit, priority, n):
    return sum(1 for _ in range(n) if bucket.take(key, limit, priority) == 0)


def test_a_burst_beyond_the_limit_is_held_back(bucket):
    limit = Limit(rate=5, burst=5, background_reserve=0.4)
    key = uuid.uuid4().hex
    granted = _grants(bucket, key, limit, INTERACTIVE, 20)
    # Never more than the bucket (and a refill of at most one token while the loop runs).
    assert 5 <= granted <= 6
    assert bucket.take(key, limit, INTERACTIVE) > 0  # and it says how long to wait


def test_background_work_leaves_a_reserve_for_pages(bucket):
    limit = Limit(rate=5, burst=5, background_reserve=0.4)
    key = uuid.uuid4().hex
    background = _grants(bucket, key, limit, BACKGROUND, 20)
    interactive = _grants(bucket, key, limit, INTERACTIVE, 20)
    assert background <= 4  # only 60 % of the bucket
    assert interactive >= 1  # a page still gets through while a bulk job is saturating


def test_tenants_and_actions_have_separate_buckets(bucket):
    limit = Limit(rate=2, burst=2, background_reserve=0)
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    _grants(bucket, a, limit, INTERACTIVE, 10)
    assert bucket.take(b, limit, INTERACTIVE) == 0


def test_acquire_waits_for_a_token_then_gives_up_with_a_bound(settings):
    settings.IOTVIDEO_RATE_PER_SECOND = 2
    settings.IOTVIDEO_RATE_BURST = 2
    slept = []
    tenant_id = int(uuid.uuid4().int % 10**9)
    for _ in range(2):
        ratelimit.acquire(tenant_id=tenant_id, action="X", priority=INTERACTIVE, max_wait=0)
    with pytest.raises(ratelimit.RateLimited):
        ratelimit.acquire(tenant_id=tenant_id, action="X", priority=INTERACTIVE, max_wait=0,
                          sleep=slept.append)
    assert slept == []  # max_wait 0: refused at once, no sleeping
    # With time to wait it sleeps (here: pretends to) and then gets its token.
    waited = ratelimit.acquire(tenant_id=tenant_id, action="X", priority=INTERACTIVE,
                               max_wait=5, sleep=lambda s: __import__("time").sleep(s))
    assert 0 < waited <= 1.2


def _project_defaults(settings):
    for name in ("IOTVIDEO_RATE_PER_SECOND", "IOTVIDEO_RATE_BURST", "IOTVIDEO_RATE_LIMITS",
                 "IOTVIDEO_TENANT_RATE_LIMITS"):
        if hasattr(settings, name):
            delattr(settings, name)


def test_by_default_every_action_refills_at_tencents_documented_20_per_second(settings):
    _project_defaults(settings)
    limit = ratelimit.limit_for("CreateCloudStorage", "any-tenant")
    assert limit.rate == 20
    # A small bucket: after a quiet spell at most rate + burst calls leave within a second.
    assert 1 <= limit.burst <= 5


def test_a_tenant_with_a_raised_quota_gets_its_own_limits(settings):
    _project_defaults(settings)
    settings.IOTVIDEO_RATE_LIMITS = {"DescribeDevicePackages": (8, 4)}
    settings.IOTVIDEO_TENANT_RATE_LIMITS = {
        "big-fleet": {"*": (50, 10), "CreateCloudStorage": (100, 20)},
    }
    assert ratelimit.limit_for("CreateCloudStorage", "big-fleet").rate == 100
    assert ratelimit.limit_for("DescribeCloudStorageOrder", "big-fleet").rate == 50
    # The tenant's own "*" beats the project's per-action entry: it is the tenant's account.
    assert ratelimit.limit_for("DescribeDevicePackages", "big-fleet").rate == 50
    # Every other tenant keeps the project's limits.
    assert ratelimit.limit_for("CreateCloudStorage", "small").rate == 20
    assert ratelimit.limit_for("DescribeDevicePackages", "small").rate == 8
    assert ratelimit.limit_for("DescribeDevicePackages", "small").burst == 4


def test_background_work_never_takes_more_than_the_rate_plus_the_bucket(bucket):
    # A bulk job polling as fast as it can for 0.6 s: the bucket hands out at most its burst
    # plus what refilled meanwhile; the local-memory fallback at most its background share
    # (60 % of the rate) in each one-second window the loop touched.
    limit = Limit(rate=20, burst=5, background_reserve=0.4)
    key = uuid.uuid4().hex
    granted = 0
    started, first_window = time.monotonic(), int(time.time())
    while time.monotonic() - started < 0.6:
        if bucket.take(key, limit, BACKGROUND) == 0:
            granted += 1
        time.sleep(0.002)
    elapsed = time.monotonic() - started
    if bucket.uses_redis:
        assert 1 <= granted <= limit.burst + limit.rate * elapsed + 1
    else:
        windows = int(time.time()) - first_window + 1
        assert 1 <= granted <= 12 * windows
    # And a page arriving in the middle of it gets its token at once.
    assert bucket.take(key, limit, INTERACTIVE) == 0


def test_background_callers_waiting_on_redis_are_given_turns_one_refill_apart(bucket):
    if not bucket.uses_redis:
        pytest.skip("turns are kept by the Redis bucket only")
    limit = Limit(rate=20, burst=5, background_reserve=0.4)
    key = uuid.uuid4().hex
    _grants(bucket, key, limit, BACKGROUND, 10)  # a bulk job has drained it to the reserve
    waits = [bucket.take(key, limit, BACKGROUND, queue=True) for _ in range(6)]
    # Six processes refused together come back one at a time, not all at the next refill.
    gaps = [later - earlier for earlier, later in zip(waits, waits[1:], strict=False)]
    assert all(0.04 <= gap <= 0.06 for gap in gaps), waits
    assert waits[0] <= 1 / limit.rate + 0.01
    # A page is not queued behind them: it needs one token, and the reserve still holds two.
    assert bucket.take(key, limit, INTERACTIVE) == 0


def test_waiting_in_turn_still_never_exceeds_the_rate(settings):
    # Processes queueing for a token through acquire(): however many wait, the tokens handed
    # out stay within burst + rate × time (checked on whichever cache the settings give).
    import threading

    settings.IOTVIDEO_RATE_PER_SECOND = 20
    settings.IOTVIDEO_RATE_BURST = 5
    tenant_id, stamps = int(uuid.uuid4().int % 10**9), []
    started, first_window = time.monotonic(), int(time.time())

    def worker():
        while time.monotonic() - started < 0.8:
            ratelimit.acquire(tenant_id=tenant_id, action="Turns", priority=BACKGROUND, max_wait=5)
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = max(stamps) - started
    if ratelimit.bucket().uses_redis:
        assert len(stamps) <= 5 + 20 * elapsed + 1
    else:  # one-second windows of at most 60 % of the rate for background work
        assert len(stamps) <= 12 * (int(time.time()) - first_window + 1)
