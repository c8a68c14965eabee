"""Per-tenant, per-action rate limit for calls to the cloud, kept in Django's cache.

Tencent limits each API action per account (20 requests/s for the iotvideo actions); going
over it gets RequestLimitExceeded for *every* caller of that account, so a bulk purchase of a
thousand devices could stall everybody's playback pages. The bucket refills at the cloud's
documented rate and holds only a small burst; background work (Celery) may not take the last
part of the burst, so an interactive page always finds a token at once, and it wins every
refill a background caller is waiting for (it needs one token, background needs more). Under a
saturating bulk job background work therefore runs at the full rate less what pages take.

With Redis (production) the bucket is one small Lua script: the read-refill-take happens
atomically on the server, is shared by every web and worker process, and uses the server's
clock. Other caches (local memory in the embedded default) get a lock-free fixed-window
counter built on the cache's atomic add/incr: cruder at window edges, but one process only
talks to one cloud, and the limit is set well below the cloud's.
"""
from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

INTERACTIVE = "interactive"
BACKGROUND = "background"
PRIORITIES = (INTERACTIVE, BACKGROUND)

# Tencent documents 20 requests/s per action and account for the iotvideo API. The bucket
# refills at exactly that rate. Its size is kept small: right after a quiet spell at most
# rate + burst requests can leave within one second, and the few the cloud may count over its
# limit come back as RequestLimitExceeded, which the client re-sends (a refused request was
# never carried out). A bigger bucket would only make that first second worse.
DEFAULT_RATE = 20.0
DEFAULT_BURST = 5.0
# Background work may only take tokens while more than this share of the bucket remains.
DEFAULT_BACKGROUND_RESERVE = 0.4

_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local queue = tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', key, 'tokens', 'ts', 'turn')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
local turn = tonumber(state[3]) or 0
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens - 1 >= reserve then
  tokens = tokens - 1
else
  wait = (reserve + 1 - tokens) / rate
  if queue == 1 then
    -- Each refused caller is told a later moment than the one before it, one refill apart,
    -- so waiting callers come back one at a time instead of all at every refill. A turn is
    -- only advice: the token still goes to whoever asks when there is one.
    local at = math.max(turn, now + wait)
    turn = at + 1 / rate
    wait = at - now
  end
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now), 'turn', tostring(turn))
redis.call('EXPIRE', key, math.ceil(burst / rate + math.max(0, turn - now)) + 10)
return tostring(wait)
"""


@dataclass(frozen=True)
class Limit:
    rate: float
    burst: float
    background_reserve: float

    def reserve_for(self, priority: str) -> float:
        """Tokens that must stay in the bucket after this caller takes one."""
        return self.burst * self.background_reserve if priority == BACKGROUND else 0.0


def limit_for(action: str, tenant_slug: str = "") -> Limit:
    """The limit of one action for one tenant. Most specific first: the tenant's own entry for
    the action, the tenant's "*" entry (IOTVIDEO_TENANT_RATE_LIMITS: a Tencent account whose
    quota was raised, or a localcloud of its own), the project's entry for the action
    (IOTVIDEO_RATE_LIMITS), then IOTVIDEO_RATE_PER_SECOND / IOTVIDEO_RATE_BURST."""
    tenant = (getattr(settings, "IOTVIDEO_TENANT_RATE_LIMITS", {}) or {}).get(tenant_slug) or {}
    overrides = getattr(settings, "IOTVIDEO_RATE_LIMITS", {}) or {}
    rate, burst = tenant.get(action) or tenant.get("*") or overrides.get(action) or (None, None)
    return Limit(
        rate=float(rate or getattr(settings, "IOTVIDEO_RATE_PER_SECOND", DEFAULT_RATE)),
        burst=float(burst or getattr(settings, "IOTVIDEO_RATE_BURST", DEFAULT_BURST)),
        background_reserve=float(getattr(settings, "IOTVIDEO_BACKGROUND_RESERVE",
                                         DEFAULT_BACKGROUND_RESERVE)),
    )


class TokenBucket:
    """take(key, limit, priority) → 0.0 when a token was taken, else seconds until one may be."""

    def __init__(self, cache_alias: str = "default"):
        self.cache = caches[cache_alias]
        self._script = None
        self._redis = self._redis_client()

    def _redis_client(self):
        try:
            from django.core.cache.backends.redis import RedisCache
        except ImportError:  # pragma: no cover - redis-py not installed
            return None
        if not isinstance(self.cache, RedisCache):
            return None
        return self.cache._cache.get_client(write=True)

    @property
    def uses_redis(self) -> bool:
        return self._redis is not None

    def take(self, key: str, limit: Limit, priority: str = INTERACTIVE, *,
             queue: bool = False) -> float:
        """queue=True: when refused, be told a turn behind the callers already waiting
        (Redis only). Only background callers queue: a page needs fewer tokens than they do
        and wins the next refill anyway."""
        reserve = limit.reserve_for(priority)
        if self._redis is not None:
            if self._script is None:
                self._script = self._redis.register_script(_LUA)
            full_key = self.cache.make_and_validate_key(f"iotv:bucket:{key}")
            return float(self._script(keys=[full_key],
                                      args=[limit.rate, limit.burst, reserve, int(queue)]))
        return self._take_windowed(key, limit, reserve)

    def _take_windowed(self, key: str, limit: Limit, reserve: float) -> float:
        # One-second windows holding at most `rate` calls (the bucket's steady state); the
        # burst is not modelled here. add() creates the counter only if missing and incr() is
        # atomic in every Django cache backend that matters (locmem, memcached, Redis).
        allowed = max(1.0, limit.rate * (1 - reserve / limit.burst) if limit.burst else limit.rate)
        now = time.time()
        window = int(now)
        counter = f"iotv:window:{key}:{window}"
        self.cache.add(counter, 0, timeout=5)
        try:
            used = self.cache.incr(counter)
        except ValueError:  # evicted between add and incr: count this call as the first
            self.cache.add(counter, 1, timeout=5)
            used = 1
        if used <= allowed:
            return 0.0
        # Give the slot back so a background caller hammering a full window does not eat the
        # interactive share of it.
        with contextlib.suppress(ValueError):
            self.cache.decr(counter)
        return max(0.01, window + 1 - now)


class RateLimited(Exception):
    def __init__(self, waited: float):
        self.waited = waited
        super().__init__(f"rate limited after waiting {waited:.2f}s")


# Django hands each thread its own cache connection, so each thread keeps its own bucket object
# (the bucket's state lives in the cache, not here).
_local = threading.local()


def bucket() -> TokenBucket:
    current = getattr(_local, "bucket", None)
    if current is None or current.cache is not caches["default"]:
        current = _local.bucket = TokenBucket()
    return current


def acquire(*, tenant_id: int, action: str, priority: str, max_wait: float,
            sleep=time.sleep, tenant_slug: str = "") -> float:
    """Take a token for (tenant, action), waiting up to max_wait seconds.

    Returns the seconds spent waiting; raises RateLimited when no token came in time.
    """
    limit = limit_for(action, tenant_slug)
    key = f"{tenant_id}:{action}"
    waited = 0.0
    b = bucket()
    # A background caller takes a turn once; when it comes back at its turn and still finds no
    # token (a page took it), it asks again without queueing behind everybody once more.
    queue = priority == BACKGROUND
    while True:
        wait = b.take(key, limit, priority, queue=queue)
        if wait <= 0:
            return waited
        if waited + wait > max_wait:
            raise RateLimited(waited)
        queue = False
        # A little jitter so processes that were refused together do not retry in lockstep
        # (queued callers were already told turns one refill apart); a millisecond more so a
        # caller back exactly at its turn does not find the token a hair short of whole.
        pause = wait + 0.001 + random.uniform(0, min(0.05, wait, 0.5 / limit.rate))
        sleep(pause)
        waited += pause
