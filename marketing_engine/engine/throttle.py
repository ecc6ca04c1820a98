"""A per-number send rate shared by every worker, kept in Redis.

Meta allows each phone number a fixed throughput (80 msg/s by default) and answers 130429 beyond
it. Campaign workers run as separate RQ jobs, possibly on several machines, so the pace must be
shared: each send reserves the next free slot of the number with one atomic Redis call (the
generic cell rate algorithm), then sleeps until that slot. Slots are spaced 1/rate apart, so no
one-second window ever holds more than ``rate`` sends, whatever the number of workers.
"""

from __future__ import annotations

import time

# KEYS[1]: the number's key. ARGV: interval (s), the longest a caller may wait (s).
# Returns the seconds to wait before sending, or -1 when the caller should come back later.
# "Now" is Redis' clock, not the caller's: workers on different machines must agree on it.
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
local slot = math.max(now, next_free)
if slot - now > max_wait then
	return '-1'
end
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', math.ceil((slot - now + interval) * 1000) + 1000)
return tostring(slot - now)
"""


class RedisRateLimiter:
	def __init__(self, redis_client, key: str, rate_per_second: float, *, max_wait: float = 5.0):
		if rate_per_second <= 0:
			raise ValueError("rate_per_second must be positive")
		self.redis = redis_client
		self.key = key
		self.interval = 1.0 / rate_per_second
		self.max_wait = max_wait
		self._reserve = redis_client.register_script(_RESERVE)
		self._penalize = redis_client.register_script(_PENALIZE)

	def reserve(self) -> float | None:
		"""Reserve the next slot: seconds until it, or None when it is more than ``max_wait``
		away (the number is saturated by other workers: do something else meanwhile)."""
		wait = float(self._reserve(keys=[self.key], args=[self.interval, self.max_wait]))
		return None if wait < 0 else wait

	def pause(self, seconds: float) -> None:
		"""Meta said 130429 (throughput): nobody sends on this number for ``seconds``."""
		self._penalize(keys=[self.key], args=[seconds])

	def acquire(self) -> bool:
		"""Block until this caller may send; False when the wait would exceed ``max_wait``."""
		wait = self.reserve()
		if wait is None:
			return False
		if wait > 0:
			time.sleep(wait)
		return True


# KEYS[1]: the number's key. ARGV: seconds. Pushes the next free slot at least that far ahead.
_PENALIZE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local next_free = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > next_free then
	redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""
