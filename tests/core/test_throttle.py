"""The shared send rate, against a real Redis server."""

import itertools
import threading
import time
import uuid

import pytest

from marketing_engine.engine.throttle import RedisRateLimiter


def test_slots_are_spaced_by_the_rate(redis_server):
	limiter = RedisRateLimiter(redis_server, f"t:{uuid.uuid4()}", 50)
	waits = [limiter.reserve() for _ in range(10)]
	assert waits[0] == pytest.approx(0, abs=0.01)
	for earlier, later in itertools.pairwise(waits):
		assert later - earlier == pytest.approx(0.02, abs=0.005)


def test_many_threads_share_one_rate(redis_server):
	rate, duration = 100, 1.5
	key = f"t:{uuid.uuid4()}"
	sent: list[float] = []
	lock = threading.Lock()
	deadline = time.monotonic() + duration

	def worker():
		limiter = RedisRateLimiter(redis_server, key, rate)
		while time.monotonic() < deadline:
			if limiter.acquire():
				with lock:
					sent.append(time.monotonic())

	threads = [threading.Thread(target=worker) for _ in range(8)]
	for t in threads:
		t.start()
	for t in threads:
		t.join()
	sent.sort()
	# No one-second window holds more than the rate (plus one for the window's edges)...
	busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
	assert busiest <= rate + 1
	# ...and the rate is actually reached.
	assert len(sent) >= rate * duration * 0.9


def test_saturated_number_tells_the_caller_to_come_back(redis_server):
	limiter = RedisRateLimiter(redis_server, f"t:{uuid.uuid4()}", 10, max_wait=0.25)
	results = [limiter.reserve() for _ in range(5)]
	assert results[:3] == [
		pytest.approx(0, abs=0.01),
		pytest.approx(0.1, abs=0.01),
		pytest.approx(0.2, abs=0.01),
	]
	assert results[3] is None and results[4] is None


def test_rate_must_be_positive(redis_server):
	with pytest.raises(ValueError):
		RedisRateLimiter(redis_server, "t:x", 0)
