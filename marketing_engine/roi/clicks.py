"""Clicks on tracked links: kept in Redis by the redirect, written to the table by a job.

A click is a person waiting for a page. Writing its row in the request (an insert and a commit,
that is a log flush) held a redirect to three quarters of a bare request's rate; pushing it onto a
Redis list costs one round trip. A job on the short queue then writes waiting clicks as
WhatsApp Link Click rows in batches, usually within a second; the scheduler's minute catches up
when no job ran.

The list lives in the queue Redis, which never evicts (the cache Redis drops keys when full), so
a click waits there as safely as a background job does. Each click carries an id that is unique
in the table: a batch is written, committed, and only then taken off the list, one entry at a
time by value, so a job that dies halfway, or two jobs at once, write no click twice and lose
none. When the queue Redis cannot be reached, the redirect writes the row itself, as before.
"""

import json
import time

import frappe
import redis
from frappe.utils.background_jobs import get_redis_conn

from marketing_engine.background import site_now, with_reconnect

QUEUE = "short"
BATCH_SIZE = 500
# A writer's key lives while a job drains the list; the redirect enqueues a job only when there is
# none, so a burst of clicks costs one job. A job that dies leaves the key to expire.
WRITER_ALIVE_SECONDS = 15
LINGER_SECONDS = 2.0
POLL_SECONDS = 0.25  # while clicks stream in, batches of a quarter second's clicks
COLUMNS = ("click_id", "link", "message", "campaign", "drip_sequence", "phone", "clicked_at", "user_agent")

_queue_clients: dict[str, redis.Redis] = {}


def remember(link: dict, user_agent: str | None) -> None:
	"""Keep a person's click on ``link`` (a WhatsApp Link row) for the writer."""
	click = {
		"click_id": frappe.generate_hash(length=20),
		"link": link["name"],
		"message": link["message"],
		"campaign": link["campaign"],
		"drip_sequence": link["drip_sequence"],
		"phone": link["phone"],
		"clicked_at": str(site_now()),
		"user_agent": (user_agent or "")[:500],
	}
	try:
		pipe = queue_redis().pipeline(transaction=False)
		pipe.rpush(waiting_key(), json.dumps(click))
		pipe.set(writer_key(), 1, nx=True, ex=WRITER_ALIVE_SECONDS)
		_, no_writer_running = pipe.execute()
	except redis.RedisError:
		frappe.logger("marketing_engine").warning("Queue Redis unreachable: click written in the request")
		insert([click])
		frappe.db.commit()
		return
	if no_writer_running:
		try:
			frappe.enqueue("marketing_engine.roi.clicks.write_waiting", queue=QUEUE)
		except redis.RedisError:
			# The click is kept; the scheduler's minute writes it (write_stranded).
			frappe.logger("marketing_engine").warning("Click writer not enqueued", exc_info=True)


def write_waiting(linger: float = LINGER_SECONDS) -> int:
	"""The background job: write every waiting click. Returns how many.

	Once it has written some, it lingers a moment for more before it ends: clicks come in streams
	after a campaign, and a look at the list costs far less than the next job (an RQ job imports
	the app afresh)."""
	written = 0
	idle_since = None
	while True:
		queue_redis().expire(writer_key(), WRITER_ALIVE_SECONDS)
		batch = queue_redis().lrange(waiting_key(), 0, BATCH_SIZE - 1)
		if batch:
			written += with_reconnect(write_batch, batch)  # safe to repeat: a click_id is written once
			idle_since = None
			continue
		idle_since = idle_since or time.monotonic()
		if written and time.monotonic() - idle_since < linger:
			time.sleep(POLL_SECONDS)
			continue
		# Hand over: a click pushed after this look finds no key and enqueues a job, or this job
		# sees it here and goes on.
		queue_redis().delete(writer_key())
		if not queue_redis().llen(waiting_key()):
			return written
		if not queue_redis().set(writer_key(), 1, nx=True, ex=WRITER_ALIVE_SECONDS):
			return written  # a newer job took over
		idle_since = None


def write_stranded() -> None:
	"""The scheduler's minute: clicks left waiting by a writer that died or was never enqueued."""
	if waiting_count() and queue_redis().set(writer_key(), 1, nx=True, ex=WRITER_ALIVE_SECONDS):
		write_waiting()


def write_batch(batch: list[bytes]) -> int:
	clicks = []
	for entry in batch:
		try:
			click = json.loads(entry)
			clicks.append(tuple(click[column] for column in COLUMNS))
		except (ValueError, KeyError, TypeError):
			# Only this module writes the list; an entry it cannot read is logged, not retried forever.
			frappe.log_error("Unreadable waiting click", entry.decode(errors="replace"))
	insert(clicks)
	frappe.db.commit()
	# Off the list only once the rows are committed, and each by its value: a second job that
	# wrote the same batch removes nothing more, and a click pushed meanwhile stays.
	pipe = queue_redis().pipeline(transaction=False)
	for entry in batch:
		pipe.lrem(waiting_key(), 1, entry)
	pipe.execute()
	return len(clicks)


def insert(clicks: list) -> None:
	"""Rows for ``clicks`` (dicts, or tuples in COLUMNS' order); a click_id already written is skipped."""
	rows = [tuple(c[column] for column in COLUMNS) if isinstance(c, dict) else c for c in clicks]
	if not rows:
		return
	row_values = "(nextval(`whatsapp_link_click_id_seq`), %s, %s, 'Guest', 'Guest', 0, 0, {})".format(
		", ".join(["%s"] * len(COLUMNS))
	)
	now = site_now()
	frappe.db.sql(
		f"""insert ignore into `tabWhatsApp Link Click` (name, creation, modified, owner, modified_by,
			docstatus, idx, {", ".join(COLUMNS)})
		values {", ".join([row_values] * len(rows))}""",
		[value for row in rows for value in (now, now, *row)],
	)


def waiting_count() -> int:
	return queue_redis().llen(waiting_key())


def queue_redis() -> redis.Redis:
	"""The queue Redis, one client per process and site (with RQ's access control on, Frappe opens
	a new connection on every call)."""
	client = _queue_clients.get(frappe.local.site)
	if client is None:
		client = _queue_clients[frappe.local.site] = get_redis_conn()
	return client


# With RQ's access control on, a site's Redis user may only touch keys that look like RQ's own
# (``rq:`` and a character other than ``q``), hence the prefix.
def waiting_key() -> str:
	return f"rq:marketing_engine:clicks:{frappe.local.site}"


def writer_key() -> str:
	return f"rq:marketing_engine:click-writer:{frappe.local.site}"
