"""Clicks on tracked links: kept in the site's click journal by the redirect, written to the table
by a job.

A click is a person waiting for a page. Writing its row in the request (an insert and a commit,
that is a log flush) held a redirect to three quarters of a bare request's rate. The redirect
appends the click to the click journal instead (:mod:`marketing_engine.engine.journal`: one write
to a local file, a few microseconds), so it survives any process that dies next, the queue Redis
among them. (Clicks used to wait on a list in the
queue Redis, which keeps no durable log: the chaos benchmark killed it with three clicks on the
list, and they were gone.) A job on the short queue takes the journal's files and writes their
clicks as WhatsApp Link Click rows in batches, usually within a second; the scheduler's minute
catches up when no job ran. Each click carries an id that is unique in the table, and a file is
deleted only after its rows are committed, so a writer that dies halfway, or two at once, write
no click twice and lose none. When the journal cannot be written (a full disk), the redirect
writes the row itself.
"""

import json
import time

import frappe
import redis
from frappe.utils.background_jobs import get_redis_conn

from marketing_engine import background
from marketing_engine.background import site_now, with_reconnect
from marketing_engine.engine import journal

QUEUE = "short"
BATCH_SIZE = 500
JOURNAL = "whatsapp-click-journal"
# A writer's key lives while a job drains the journal; the redirect enqueues a job only when there
# is none, so a burst of clicks costs one job. A job that dies leaves the key to expire.
WRITER_ALIVE_SECONDS = 15
LINGER_SECONDS = 2.0
POLL_SECONDS = 0.25  # while clicks stream in, batches of a quarter second's clicks
# A click is written to the file, not synced: it survives any process dying (the kernel holds it),
# and only a power cut within the kernel's few seconds of write-back could take it. A sync per
# click cost the redirect a sixth of its rate (0.83 of a bare request instead of ping's rate).
DURABLE = False
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
		background.journal_writer(JOURNAL, durable=DURABLE).append(json.dumps(click).encode())
	except OSError:
		frappe.logger("marketing_engine").warning("Click journal not writable: click written in the request")
		insert([click])
		frappe.db.commit()
		return
	try:
		if queue_redis().set(writer_key(), 1, nx=True, ex=WRITER_ALIVE_SECONDS):
			frappe.enqueue("marketing_engine.roi.clicks.write_waiting", queue=QUEUE)
	except redis.RedisError:
		# The click is kept; the scheduler's minute writes it (write_stranded).
		frappe.logger("marketing_engine").warning("Click writer not woken", exc_info=True)


def write_waiting(linger: float = LINGER_SECONDS) -> int:
	"""The background job: write every waiting click. Returns how many.

	Once it has written some, it lingers a moment for more before it ends: clicks come in streams
	after a campaign, and a look at the journal costs far less than the next job (an RQ job
	imports the app afresh)."""
	written = 0
	idle_since = None
	while True:
		queue_redis().expire(writer_key(), WRITER_ALIVE_SECONDS)
		count = with_reconnect(write_journal)  # safe to repeat: a click_id is written once
		if count:
			written += count
			idle_since = None
			continue
		idle_since = idle_since or time.monotonic()
		if written and time.monotonic() - idle_since < linger:
			time.sleep(POLL_SECONDS)
			continue
		# Hand over: a click kept after this look finds no key and enqueues a job, or this job
		# sees it here and goes on.
		queue_redis().delete(writer_key())
		if not journal.has_records(journal_directory()):
			return written
		if not queue_redis().set(writer_key(), 1, nx=True, ex=WRITER_ALIVE_SECONDS):
			return written  # a newer job took over
		idle_since = None


def write_stranded() -> None:
	"""The scheduler's minute: clicks left waiting by a writer that died or was never woken."""
	if journal.has_records(journal_directory()) and queue_redis().set(
		writer_key(), 1, nx=True, ex=WRITER_ALIVE_SECONDS
	):
		write_waiting()


def write_journal() -> int:
	"""Write the clicks of every journal file; each file goes once its rows are committed."""
	return background.drain_journal(JOURNAL, keep_clicks)


def keep_clicks(records: list[journal.Record]) -> int:
	return insert_in_batches(readable_clicks([record.data for record in records]))


def readable_clicks(entries: list[bytes]) -> list[tuple]:
	"""Each kept click as a row in COLUMNS' order. Only this module writes them; one it cannot
	read is logged, not retried."""
	clicks = []
	for entry in entries:
		try:
			click = json.loads(entry)
			clicks.append(tuple(click[column] for column in COLUMNS))
		except (ValueError, KeyError, TypeError):
			frappe.log_error("Unreadable waiting click", entry.decode(errors="replace"))
	return clicks


def insert_in_batches(clicks: list[tuple]) -> int:
	for start in range(0, len(clicks), BATCH_SIZE):
		insert(clicks[start : start + BATCH_SIZE])
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
	"""Clicks kept and not yet written."""
	return journal.count_records(journal_directory())


def journal_directory() -> str:
	return background.journal_directory(JOURNAL)


def queue_redis() -> redis.Redis:
	"""The queue Redis, one client per process and site (with RQ's access control on, Frappe opens
	a new connection on every call)."""
	client = _queue_clients.get(frappe.local.site)
	if client is None:
		client = _queue_clients[frappe.local.site] = get_redis_conn()
	return client


# With RQ's access control on, a site's Redis user may only touch keys that look like RQ's own
# (``rq:`` and a character other than ``q``), hence the prefix.
def writer_key() -> str:
	return f"rq:marketing_engine:click-writer:{frappe.local.site}"
