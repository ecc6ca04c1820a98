"""What background jobs share: a Redis client that rides through a Redis restart, a database
connection that is re-opened when MariaDB drops it, the site's clock without a lookup, and the
site's intake journals (what a request keeps on the disk for a job).

Frappe's own job runner rolls back and writes an Error Log when a job raises; when the database
connection itself is gone, that roll-back fails too and nothing is logged, so the jobs here catch a
lost connection first, reconnect, and carry on, or give up with the reason written down.
"""

import os
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import frappe
import redis
from frappe.utils import get_system_timezone

from marketing_engine.engine import journal

# pymysql's client error codes for a connection that is gone: 2006 server has gone away,
# 2013 lost connection during query, 2003 cannot connect, 2055 lost connection (SSL).
LOST_CONNECTION_CODES = frozenset({2003, 2006, 2013, 2055})
RECONNECT_FOR_SECONDS = 60

REDIS_RETRY_SECONDS = 30

_redis_clients: dict[str, redis.Redis] = {}
# One journal writer per folder and process, shared by a web worker's threads.
_journal_writers: dict[str, journal.Writer] = {}


class PatientRedis(redis.Redis):
	"""A Redis client whose commands wait for a restarting server instead of failing at once.

	redis-py retries a dropped connection, but not a connection the server refuses while it
	restarts; a send job would die on the first refused connect. Every command this app sends
	is safe to repeat (SET, EXPIRE, SADD, DELETE, the rate limiter's reservation)."""

	def execute_command(self, *args, **options):
		deadline = time.monotonic() + REDIS_RETRY_SECONDS
		delay = 0.1
		while True:
			try:
				return super().execute_command(*args, **options)
			except (redis.ConnectionError, redis.TimeoutError):
				if time.monotonic() > deadline:
					raise
				time.sleep(delay)
				delay = min(delay * 2, 2.0)


def plain_redis() -> redis.Redis:
	"""A plain client of the bench's cache Redis. Frappe's wrapper reads the site's config from
	thread-local state, which send threads do not have; keys here carry the site instead."""
	url = frappe.conf.redis_cache
	if url not in _redis_clients:
		_redis_clients[url] = PatientRedis.from_url(url, health_check_interval=30)
	return _redis_clients[url]


def site_key(*parts: str) -> str:
	return ":".join((frappe.local.site, *parts))


def is_lost_connection(error: BaseException) -> bool:
	"""A MariaDB error that means the connection is gone (server restart, KILL, network), as
	opposed to an error in the statement itself."""
	import pymysql

	if isinstance(error, pymysql.err.InterfaceError):
		return True  # (0, '') once the socket is closed
	if isinstance(error, pymysql.err.OperationalError):
		return bool(error.args) and error.args[0] in LOST_CONNECTION_CODES
	return False


def reconnect_database(for_seconds: float = RECONNECT_FOR_SECONDS) -> None:
	"""Open a new connection for this site, waiting for MariaDB to come back (a restart takes a
	few seconds). Raises the last error when it does not come back in time."""
	deadline = time.monotonic() + for_seconds
	delay = 0.2
	while True:
		try:
			frappe.db.close()
		except Exception:
			pass  # the old connection is already broken
		try:
			frappe.db.connect()
			frappe.db.sql("select 1")
			return
		except Exception as error:
			if not is_lost_connection(error) or time.monotonic() > deadline:
				raise
			time.sleep(delay)
			delay = min(delay * 2, 2.0)


def with_reconnect(step, *args, attempts: int = 3, **kwargs):
	"""Run ``step``; when the database connection is lost under it, reconnect and run it again.

	Only for steps that are safe to repeat: what was not committed is gone with the connection,
	and a step that committed already finds its work done."""
	for attempt in range(attempts):
		try:
			return step(*args, **kwargs)
		except Exception as error:
			if not is_lost_connection(error) or attempt == attempts - 1:
				raise
			frappe.logger("marketing_engine").warning(f"Database connection lost ({error!r}); reconnecting")
			reconnect_database()


_zones: dict[str, tuple[float, ZoneInfo]] = {}


def site_now() -> datetime:
	"""The site's wall clock, as now_datetime() gives it, without looking the time zone up in
	every request that stamps something (a webhook, a click); the zone is read again each minute."""
	cached = _zones.get(frappe.local.site)
	if not cached or time.monotonic() - cached[0] > 60:
		cached = (time.monotonic(), ZoneInfo(get_system_timezone()))
		_zones[frappe.local.site] = cached
	return datetime.now(cached[1]).replace(tzinfo=None)


# Where a document's last failed background pass is written; both DocTypes that scheduler passes
# loop over (WhatsApp Campaign, Drip Sequence) carry it, read only.
RUN_PROBLEM_FIELD = "run_problem"
RUN_PROBLEM_MAX = 1000


def alone(doctype: str, name: str, step, *args, default=None, **kwargs):
	"""Run ``step`` for one document of a shared loop (the scheduler's pass over every sequence or
	campaign) so that its failure stays its own. What it wrote is rolled back (to a savepoint, or
	the whole transaction when the step had committed), the reason goes to the document's Run
	Problem field and to Error Log, and ``default`` is returned for the loop to go on. The field
	names the step, and the next run of that same step that succeeds clears it (another step's
	success says nothing about it). A lost database connection is no document's problem: it is
	raised for the job's reconnect to handle."""
	label = getattr(step, "__name__", "pass")
	savepoint = f"alone_{frappe.generate_hash(length=10)}"
	frappe.db.savepoint(savepoint)
	try:
		result = step(*args, **kwargs)
	except Exception as error:
		if is_lost_connection(error):
			raise
		try:
			frappe.db.rollback(save_point=savepoint)
		except Exception:
			frappe.db.rollback()  # the step committed, which released the savepoint
		reason = f"{label} failed at {site_now():%Y-%m-%d %H:%M}: {type(error).__name__}: {error}"
		frappe.log_error(
			title=f"{doctype} {name}: {label} failed", reference_doctype=doctype, reference_name=name
		)
		frappe.db.sql(
			f"update `tab{doctype}` set `{RUN_PROBLEM_FIELD}` = %s where name = %s",
			(reason[:RUN_PROBLEM_MAX], name),
		)
		return default
	frappe.db.sql(
		f"""update `tab{doctype}` set `{RUN_PROBLEM_FIELD}` = null
		where name = %s and `{RUN_PROBLEM_FIELD}` like %s""",
		(name, f"{label} failed at %"),
	)
	return result


def journal_directory(name: str) -> str:
	"""The site's intake journal ``name`` (see :mod:`marketing_engine.engine.journal`), in its
	private files: every web worker and background worker of a bench sees the same folder."""
	return os.path.abspath(frappe.get_site_path("private", name))


def drain_journal(name: str, keep, commit: bool = True) -> int:
	"""Take every file of the site's journal ``name``; ``keep(records)`` writes their rows and
	returns how many. Each file is deleted once its rows are committed, so a reader that dies
	between the two reads it again: ``keep`` must keep each record once. Returns rows kept.
	(``commit=False``: tests that stay inside their own transaction.)"""
	kept = 0
	for taken in journal.take(journal_directory(name)):
		kept += keep(taken.records) if taken.records else 0  # an abandoned empty file: just removed
		if commit:
			frappe.db.commit()
		if taken.problem:
			frappe.log_error(
				f"Journal file {name} not whole",
				f"{taken.path}: {taken.problem}. Its whole records were kept; the file is kept aside.",
			)
		taken.done()
	return kept


def journal_writer(name: str, durable: bool = True) -> journal.Writer:
	"""This process's writer of the journal ``name``; ``durable`` writers sync each record to the
	disk (see :class:`marketing_engine.engine.journal.Writer`)."""
	directory = journal_directory(name)
	writer = _journal_writers.get(directory)
	if writer is None:
		writer = _journal_writers[directory] = journal.Writer(directory, durable=durable)
	return writer
