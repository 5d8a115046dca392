"""Rate limits per credential: how many requests a credential made in the last minute, counted
by every worker and server together, and whether one more may pass.

The count is kept per second: a request passes while the counts of the current second and the 59
before it add up to less than the limit. A burst is counted exactly; over a sustained run the
window is between 59 and 60 seconds long, so at most 1/60 (under 2%) more than the limit passes
per minute. The counts live in Redis when REDIS_URL is set (one script, one round trip, Redis's
own clock), else in a small SQLite file that every worker of this machine shares
(RATE_LIMIT_PATH). Keys name the credential by its primary key, never by a value.

When the store fails, requests pass (fail open) and a warning is logged at most once a minute:
a rate limit protects capacity, not secrets (docs: README, "Rate limits").
"""

import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Decision:
    """What the counter said about one request of a limited credential."""

    allowed: bool
    limit: int
    remaining: int
    # Seconds until the count falls (a refused request may be sent again then).
    reset: int

    def headers(self):
        """The RateLimit fields of draft-ietf-httpapi-ratelimit-headers-07, and Retry-After when
        refused (RFC 9110 10.2.3)."""
        fields = {
            "RateLimit-Policy": f"{self.limit};w={WINDOW_SECONDS}",
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            fields["Retry-After"] = str(self.reset)
        return fields


def check(identity):
    """Count a request of `identity` against its credential's limit: the Decision, or None when the
    credential has no limit (nothing is counted then) or the store failed."""
    if identity.rate_limit is None:
        return None
    kind = "k" if identity.method == "api_key" else "c"
    return store().hit(f"{kind}{identity.credential_pk}", identity.rate_limit)


def decide(limit, buckets, now, allowed):
    """The Decision from the window's per-second counts `buckets` [(second, count)], oldest first,
    this request included if it passed, at time `now` (seconds)."""
    total = sum(count for _, count in buckets)
    if allowed:  # the count next falls when the oldest second leaves the window
        ends = buckets[0][0] + WINDOW_SECONDS
    else:  # the first moment the seconds still in the window add up to less than the limit
        ends, left = now, total
        for second, count in buckets:
            if left < limit:
                break
            left, ends = left - count, second + WINDOW_SECONDS
    return Decision(allowed, limit, max(limit - total, 0), max(1, math.ceil(ends - now)))


class _Warnings:
    """Logs a store failure at most once a minute per process: an outage must not flood the log."""

    def __init__(self):
        self.last = None

    def failed(self, error):
        now = time.monotonic()
        if self.last is None or now - self.last >= 60:
            self.last = now
            logger.warning(
                "Rate limits are not applied: the counter store failed (%s).", type(error).__name__
            )


warnings = _Warnings()

# KEYS[1]: the credential's hash {second: count}; ARGV[1]: its limit. Drops the seconds that left
# the window, counts this request if the window has room, and returns whether it did, Redis's
# time, and the window's seconds and counts.
_SCRIPT = """
local limit = tonumber(ARGV[1])
local time = redis.call('TIME')
local now = tonumber(time[1])
local counts = redis.call('HGETALL', KEYS[1])
local kept, total, stale = {}, 0, {}
for i = 1, #counts, 2 do
  local second, count = tonumber(counts[i]), tonumber(counts[i + 1])
  if second <= now - 60 then
    stale[#stale + 1] = counts[i]
  else
    kept[#kept + 1] = second
    kept[#kept + 1] = count
    total = total + count
  end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
local allowed = 0
if total < limit then
  allowed = 1
  redis.call('HINCRBY', KEYS[1], now, 1)
  redis.call('EXPIRE', KEYS[1], 61)
  kept[#kept + 1] = now
  kept[#kept + 1] = 1
end
return {allowed, time[1], time[2], kept}
"""


class RedisStore:
    """Counts in Redis, shared by every server: one EVALSHA per request."""

    def __init__(self, url, prefix):
        timeout = settings.RATE_LIMIT_TIMEOUT
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.script, self.prefix = client.register_script(_SCRIPT), prefix

    def hit(self, key, limit):
        try:
            allowed, seconds, microseconds, kept = self.script(
                keys=[f"{self.prefix}:ratelimit:{key}"], args=[limit]
            )
        except redis.RedisError as error:
            warnings.failed(error)
            return None
        seen = {}  # the request's own second may also be among the stored ones
        for second, count in zip(kept[::2], kept[1::2], strict=True):
            seen[int(second)] = seen.get(int(second), 0) + int(count)
        now = int(seconds) + int(microseconds) / 1_000_000
        return decide(limit, sorted(seen.items()), now, bool(allowed))


class SqliteStore:
    """Counts in a SQLite file shared by the workers of this machine: one short write transaction
    per request. Counters need no durability, so nothing waits for the disk."""

    PURGE_SECONDS = 60

    def __init__(self, path, clock=time.time):
        self.path, self.clock = str(path), clock
        self.local, self.purged_at = threading.local(), 0.0

    def _connection(self):
        # One connection per thread, and new ones in a forked worker: SQLite's may not be shared.
        connection = getattr(self.local, "connection", None)
        if connection is None or self.local.pid != os.getpid():
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS counts (key TEXT, second INTEGER, count INTEGER, "
                "PRIMARY KEY (key, second)) WITHOUT ROWID"
            )
            self.local.connection, self.local.pid = connection, os.getpid()
        return connection

    def hit(self, key, limit):
        now = self.clock()
        second = int(now)
        try:
            connection = self._connection()
            connection.execute("BEGIN IMMEDIATE")
            try:
                stale = second - WINDOW_SECONDS
                if now - self.purged_at >= self.PURGE_SECONDS:  # other credentials' old seconds too
                    connection.execute("DELETE FROM counts WHERE second <= ?", (stale,))
                    self.purged_at = now
                else:
                    connection.execute("DELETE FROM counts WHERE key = ? AND second <= ?", (key, stale))
                buckets = connection.execute(
                    "SELECT second, count FROM counts WHERE key = ? ORDER BY second", (key,)
                ).fetchall()
                allowed = sum(count for _, count in buckets) < limit
                if allowed:
                    connection.execute(
                        "INSERT INTO counts VALUES (?, ?, 1) "
                        "ON CONFLICT (key, second) DO UPDATE SET count = count + 1",
                        (key, second),
                    )
                    if buckets and buckets[-1][0] == second:
                        buckets[-1] = (second, buckets[-1][1] + 1)
                    else:
                        buckets.append((second, 1))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError) as error:
            warnings.failed(error)
            return None
        return decide(limit, buckets, now, allowed)

    def clear(self):
        self._connection().execute("DELETE FROM counts")


_store = None
_store_lock = threading.Lock()


def store():
    """The process's counter store, made on first use from the settings."""
    global _store
    if _store is None:
        with _store_lock:
            if _store is None:
                if settings.REDIS_URL:
                    _store = RedisStore(settings.REDIS_URL, settings.CACHES["default"].get("KEY_PREFIX", ""))
                else:
                    _store = SqliteStore(settings.RATE_LIMIT_PATH)
    return _store


def reset_store():
    """Forget the store, so the next use makes one from the settings again (tests)."""
    global _store
    _store = None
