"""The one send path: every outbound template message of a campaign or a drip sequence is a
WhatsApp Message row that a background job claims, checks, sends at the number's rate and
records. Single sends (a booking confirmation, a free-form answer) share its rate limiter and
its webhook path (:mod:`marketing_engine.channel.messaging`).

Why it is built this way:

- **Jobs claim small batches** (``SELECT ... FOR UPDATE SKIP LOCKED``), so any number of jobs,
  duplicates included, share the work without two of them holding the same row.
- **A job sends a batch from a pool of threads**, paced by a Redis rate limiter shared by all
  jobs: an RQ job per message would spend more time starting than sending (Meta allows 80 msg/s).
  Threads only talk HTTP; the job's own thread does every database write.
- **Consent and the frequency cap are checked again at send time**, since other sends and
  opt-outs happened after the rows were written.
- **Nobody is messaged twice.** A claimed row is Queued before any request; right before its
  request, its name goes into a Redis set of started sends for the claim. When a job dies, rows it
  never started go back to Pending; rows it started wait for Meta's status webhook, which finds
  them by ``biz_opaque_callback_data``, and fail with that reason if none comes: a resend could
  reach someone a second time.

What the rows are, and what follows from Meta's refusals, is the caller's: a **message source**
(a campaign, the drip sequences) tells the job which rows are its own, what each one's template
and values are, and what to do when Meta refuses a whole template or account. A source has:

- ``name``, ``threads`` and ``frequency_cap``;
- ``condition()``: SQL (with its parameters) selecting its rows among WhatsApp Messages;
- ``job_key(worker)``: the Redis key that says the job is alive;
- ``may_claim()``: whether it may claim more now (not paused, not in quiet hours);
- ``prepare(rows)``: a :class:`Send` for each row;
- ``stop(stops)``: what a template or account error does (returns True to stop the job);
- ``progress()``, every second while it sends, and ``finish()`` when it is done.
"""

import collections
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import add_to_date, cint, flt, get_datetime, now_datetime

from marketing_engine.background import plain_redis, site_key, with_reconnect
from marketing_engine.channel.consent import record_opt_out
from marketing_engine.channel.frequency_cap import recent_marketing, refresh_frequency_caps
from marketing_engine.channel.health import billing_refused
from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.consent import OptOutSource
from marketing_engine.engine.templates import (
	MediaHeader,
	TemplateSpec,
	TemplateVariableError,
	build_send_payload,
	render,
)
from marketing_engine.engine.throttle import RedisRateLimiter

QUEUE = "long"
MAX_THREADS_PER_JOB = 64
MAX_ATTEMPTS = 6  # for Meta-side failures; throughput limits are waited out, not counted
RATE_LIMIT_PAUSE_SECONDS = 0.25
# Sends leave on a strict schedule but reach Meta with some jitter; pacing a little under the
# number's rate keeps every one-second window under it.
PACE = 0.98
WAIT_FOR_RETRIES_SECONDS = 60  # a job waits for retries due this soon instead of ending
# A claim whose job is alive keeps this key fresh; recovery leaves such claims alone, so a slow
# send (up to the request timeout) is never mistaken for a dead job. The key exists before the
# claim's rows are committed, so a claim without it is a dead job's (or one that let go).
STALE_CLAIM_SECONDS = 10
CLAIM_ALIVE_SECONDS = 120
# A job refreshes its key at every step (and while it waits for retries), so a killed job's share
# of the sending is taken up by the scheduler's next minute after this: a second job beside a
# slow one is safe (claims skip each other's rows), a long-dead one only costs time.
JOB_ALIVE_SECONDS = 30
JOB_WAIT_STEP_SECONDS = 5
# How long a started send waits for Meta's status webhook before it fails as "outcome unknown".
# Meta's first status comes within seconds; its webhooks can lag in an incident, and a resend
# could reach someone twice, hence the margin. A site may set its own
# (``marketing_engine_unknown_outcome_seconds`` in site_config.json; the chaos benchmark does).
UNKNOWN_OUTCOME_SECONDS = 15 * 60
PROGRESS_EVERY_SECONDS = 1.0
BATCHES_IN_FLIGHT = 2


# -- sending through one account -------------------------------------------------------------
class Channel:
	"""Sending through one WhatsApp Account: its number's rate, shared through Redis by every job
	on every machine, and a Cloud API client per send thread."""

	def __init__(self, account_name: str):
		self.account = frappe.get_doc("WhatsApp Account", account_name)
		self.rate = max(1, cint(self.account.messages_per_second) or 80)
		self.redis = plain_redis()
		self.limiter = limiter_for(self.account)
		self.client_args = dict(
			access_token=self.account.get_password("access_token", raise_exception=False) or "",
			phone_number_id=self.account.phone_number_id,
			waba_id=self.account.waba_id,
			base_url=self.account.base_url,
			api_version=self.account.api_version,
			timeout=(5, flt(self.account.request_timeout) or 30),
		)
		self._local = threading.local()

	def client(self) -> CloudAPIClient:
		if not hasattr(self._local, "client"):
			self._local.client = CloudAPIClient(**self.client_args)
		return self._local.client

	def send(self, started: str, row: dict, payload: dict):
		"""In a pool thread: wait for a slot, mark the send as started, send. Nothing here may
		touch the database or frappe.local, which belong to the job's own thread."""
		if not self.limiter.acquire():
			return "later", None
		self.redis.sadd(started, row["name"])
		try:
			return "sent", self.client().send_payload(payload)
		except errors.MetaError as e:
			return "error", e


def limiter_for(account, max_wait: float = 2.0) -> RedisRateLimiter:
	"""The number's pace, shared by every job and every single send on every machine."""
	rate = max(1, cint(account.messages_per_second) or 80)
	return RedisRateLimiter(
		plain_redis(), site_key("whatsapp-rate", account.phone_number_id), rate * PACE, max_wait=max_wait
	)


@dataclass
class Send:
	"""One row ready to go: where it goes through, the template, the values, the header."""

	row: dict
	channel: Channel
	spec: TemplateSpec
	values: dict
	header: MediaHeader | None


def threads_for(rate: int) -> int:
	"""Enough threads for a second of sends in flight: the pool never waits for a free thread
	while a slot of the number's rate goes by."""
	return max(4, min(MAX_THREADS_PER_JOB, math.ceil(rate)))


def run_job(
	make_source: Callable[[], object], label: str, worker: int = 1, reference: tuple[str, str] | None = None
) -> None:
	"""The background job: claim, send, record, until nothing is due or the sending stops.

	Two batches are in flight: while the threads send one, this thread records the outcomes of
	the previous one, so the database work never leaves the number idle. A database connection
	lost under it (a MariaDB restart, a killed connection) is re-opened and the step repeated;
	every step is safe to repeat. A job that cannot go on writes why to the Error Log (against
	``reference``, the document it sends for) and lets its claims go, so the next job (the
	scheduler starts one every minute) takes over at once."""
	in_flight: collections.deque[Batch] = collections.deque()
	job = job_key(label, worker)
	try:
		source = with_reconnect(make_source)
		send_until_done(source, worker, in_flight)
	except Exception:
		_give_up(label, job, in_flight, reference)
		raise


def send_until_done(source, worker: int, in_flight: "collections.deque[Batch]") -> None:
	last_progress = 0.0
	stopping = False
	with ThreadPoolExecutor(max_workers=source.threads, thread_name_prefix="whatsapp-send") as pool:
		while True:
			plain_redis().set(source.job_key(worker), 1, ex=JOB_ALIVE_SECONDS)
			if len(in_flight) < BATCHES_IN_FLIGHT and not stopping and with_reconnect(source.may_claim):
				claim, rows = with_reconnect(claim_batch, source, source.threads)
				if rows:
					rows = with_reconnect(skip_ineligible, rows, source)
					# Prepared (database work, safe to repeat) before any of it is handed to the
					# send threads: a step repeated after a lost connection must not send twice.
					ready = with_reconnect(prepare_batch, source, rows)
					in_flight.append(submit_batch(pool, claim, ready))
					continue
			if in_flight:
				for batch in in_flight:
					plain_redis().expire(alive_key(batch.claim), CLAIM_ALIVE_SECONDS)
				stops = with_reconnect(record_batch, in_flight[0])
				in_flight.popleft()
				if stops:
					stopping = with_reconnect(source.stop, stops) or stopping
				if time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS:
					with_reconnect(source.progress)
					last_progress = time.monotonic()
				continue
			if stopping:
				break
			due = with_reconnect(next_retry_in, source)
			if due is None or due > WAIT_FOR_RETRIES_SECONDS or not with_reconnect(source.may_claim):
				break  # done, paused, or only far retries left (131049): the scheduler comes back
			wait_until = time.monotonic() + max(due, 0.2)
			while (left := wait_until - time.monotonic()) > 0:
				time.sleep(min(left, JOB_WAIT_STEP_SECONDS))
				plain_redis().set(source.job_key(worker), 1, ex=JOB_ALIVE_SECONDS)
	plain_redis().delete(source.job_key(worker))
	with_reconnect(source.finish)


def _give_up(
	label: str, job: str, in_flight: "collections.deque[Batch]", reference: tuple[str, str] | None
) -> None:
	"""Leave the work for the next job: the job's slot and its claims' liveness keys go, so
	the scheduler's recovery settles the claimed rows and starts a new job at its next minute.
	The reason goes to the Error Log once the database answers again."""
	try:
		plain_redis().delete(job, *(alive_key(batch.claim) for batch in in_flight))
	except Exception:
		pass  # Redis is down too: the keys expire on their own
	try:
		frappe.db.rollback()
	except Exception:
		pass
	try:
		with_reconnect(
			frappe.log_error,
			title=_("WhatsApp sending job for {0} stopped").format(label),
			reference_doctype=reference[0] if reference else None,
			reference_name=reference[1] if reference else None,
		)
		frappe.db.commit()
	except Exception:
		frappe.logger("marketing_engine").exception(f"Sending job for {label} stopped; Error Log not written")


ROW_FIELDS = (
	"name, phone, user_id, region, contact_doctype, contact_name, category, account, template, "
	"drip_sequence, send_parameters"
)


def claim_batch(source, size: int) -> tuple[str, list[dict]]:
	"""Claim up to ``size`` due rows. The claim is known in Redis before the rows are committed
	Queued: recovery trusts a claim's started set only for claims it knows."""
	claim = frappe.generate_hash(length=16)
	condition, params = source.condition()
	rows = frappe.db.sql(
		f"""select {ROW_FIELDS}, attempts + 1 as attempts from `tabWhatsApp Message`
		where {condition} and status='Pending' and (next_attempt_at is null or next_attempt_at <= %(now)s)
		order by name limit %(size)s for update skip locked""",
		{**params, "now": now_datetime(), "size": size},
		as_dict=True,
	)
	if not rows:
		frappe.db.commit()
		return claim, []
	plain_redis().set(claim_key(claim), source.name, ex=7 * 24 * 3600)
	plain_redis().set(alive_key(claim), 1, ex=CLAIM_ALIVE_SECONDS)
	now = now_datetime()
	frappe.db.sql(
		"""update `tabWhatsApp Message` set status='Queued', claimed_by=%s, attempts=attempts+1, modified=%s,
		submitted_at=%s where name in %s""",
		(claim, now, now, [r.name for r in rows]),
	)
	frappe.db.commit()
	return claim, rows


def next_retry_in(source) -> float | None:
	"""Seconds until the earliest Pending row may be tried again (None: no Pending rows)."""
	condition, params = source.condition()
	pending, earliest, undated = frappe.db.sql(
		f"""select count(*), min(next_attempt_at), sum(next_attempt_at is null) from `tabWhatsApp Message`
		where {condition} and status='Pending'""",
		params,
	)[0]
	if not pending:
		return None
	if undated or earliest is None:
		return 0.0
	return (get_datetime(earliest) - now_datetime()).total_seconds()


def skip_ineligible(rows: list[dict], source) -> list[dict]:
	"""Marketing is checked again at send time: an opt-out since the audience was taken wins, and
	so does the frequency cap, since other campaigns and sequences may have messaged the person
	since."""
	marketing = [r for r in rows if r["category"] == "MARKETING"]
	if not marketing:
		return rows
	addresses = [r["phone"] or r["user_id"] for r in marketing]
	consented = set(
		frappe.db.sql(
			"""select name from `tabWhatsApp Consent` where name in %(a)s and status='Opted In'
			union select user_id from `tabWhatsApp Consent` where user_id in %(a)s and status='Opted In'""",
			{"a": addresses},
			pluck=True,
		)
	)
	recent = recent_marketing(addresses, exclude=[r["name"] for r in rows])
	skipped: dict[str, list[str]] = {}
	for row, address in zip(marketing, addresses, strict=True):
		if address not in consented:
			skipped.setdefault(_("Opted out after the audience was taken"), []).append(row["name"])
		elif source.frequency_cap.reached(recent.get(address, 0)):
			skipped.setdefault(source.frequency_cap.reason(recent[address]), []).append(row["name"])
	for reason, names in skipped.items():
		frappe.db.sql(
			"""update `tabWhatsApp Message` set status='Skipped', claimed_by=null, submitted_at=null,
			error_title=%s, modified=%s where name in %s""",
			(reason[:140], now_datetime(), names),
		)
	if skipped:
		frappe.db.commit()
	left_out = {name for names in skipped.values() for name in names}
	return [r for r in rows if r["name"] not in left_out]


@dataclass
class Batch:
	claim: str
	sends: list[tuple[Send, Future]]


def prepare_batch(source, rows: list[dict]) -> list[tuple[Send, dict]]:
	"""Each row's send and its request. A row whose values do not fit its template fails here."""
	ready = []
	for send in source.prepare(rows):
		try:
			payload = build_send_payload(
				send.spec,
				send.row["phone"] or send.row["user_id"],
				send.values,
				send.header,
				callback_data=send.row["name"],
			)
		except TemplateVariableError as e:
			mark(send.row["name"], "Failed", error_title=str(e))
			continue
		ready.append((send, payload))
	frappe.db.commit()
	return ready


def submit_batch(pool: ThreadPoolExecutor, claim: str, ready: list[tuple[Send, dict]]) -> Batch:
	"""Hand the prepared sends to the send threads; no database work, so never repeated."""
	started = started_key(claim)
	return Batch(
		claim, [(send, pool.submit(send.channel.send, started, send.row, payload)) for send, payload in ready]
	)


def record_batch(batch: Batch) -> list[tuple[dict, str]]:
	"""Record each outcome of ``batch``. Returns the rows whose error stops their sending (a
	template or account problem), each with the reason."""
	stops = []
	now = now_datetime()
	for send, future in batch.sends:
		row = send.row
		outcome, result = future.result()
		if outcome == "sent":
			frappe.db.sql(
				"""update `tabWhatsApp Message` set message_id=coalesce(message_id, %s),
				status=if(status='Queued', 'Accepted', status), body=%s, claimed_by=null, modified=%s,
				user_id=coalesce(user_id, %s) where name=%s""",
				(result.message_id, render(send.spec.body, send.values), now, result.user_id, row["name"]),
			)
		elif outcome == "later":
			frappe.db.sql(
				"""update `tabWhatsApp Message` set status='Pending', claimed_by=null, attempts=attempts-1,
				submitted_at=null where name=%s""",
				row["name"],
			)
		else:
			if isinstance(result, errors.RateLimitError):
				send.channel.limiter.pause(RATE_LIMIT_PAUSE_SECONDS)
			reason = record_error(row, result)
			if reason:
				stops.append((row, reason))
			if result.code == errors.PAYMENT_REFUSED:
				billing_refused(send.channel.account.name, result)
	refresh_frequency_caps(
		list({s.row["phone"] or s.row["user_id"] for s, _ in batch.sends if s.row["category"] == "MARKETING"})
	)
	frappe.db.commit()
	# Every row now has its outcome; a row left Queued (no answer from Meta) fails in recovery
	# unless its webhook arrives, which is what an unknown claim leads to.
	plain_redis().delete(started_key(batch.claim), claim_key(batch.claim), alive_key(batch.claim))
	return stops


def record_error(row: dict, error: errors.MetaError) -> str | None:
	"""Apply Meta's answer for one row; returns why its sending must stop, if it must."""
	action = error.action
	if isinstance(error, errors.TransportError) and error.maybe_sent:
		# Meta may have it: the status webhook settles the row; recovery fails it otherwise.
		mark(
			row["name"],
			"Queued",
			error=error,
			error_title=_("No answer from Meta; waiting for its status webhook"),
			keep_claim=True,
		)
		return None
	if isinstance(error, errors.RateLimitError):
		delay = min(30, 2 ** min(row["attempts"], 5))
		mark(
			row["name"],
			"Pending",
			error=error,
			next_attempt_at=add_to_date(now_datetime(), seconds=delay),
			refund_attempt=True,
		)
	elif action is errors.Action.RETRY_BACKOFF and row["attempts"] < MAX_ATTEMPTS:
		delay = min(60, 2 ** row["attempts"])
		mark(row["name"], "Pending", error=error, next_attempt_at=add_to_date(now_datetime(), seconds=delay))
	elif action is errors.Action.RETRY_LATER:
		mark(
			row["name"],
			"Pending",
			error=error,
			next_attempt_at=add_to_date(now_datetime(), seconds=error.retry_after),
		)
	elif action is errors.Action.STOP_RUN:
		# Not this recipient's fault: it waits, untouched, for the campaign to be resumed.
		mark(row["name"], "Pending", error=error, refund_attempt=True)
		return str(error)
	else:
		mark(row["name"], "Failed", error=error)
		if action is errors.Action.OPT_OUT:
			record_opt_out(
				row["phone"],
				OptOutSource.META_ERROR,
				detail=str(error),
				message=row["name"],
				user_id=row["user_id"],
				actor=_("Meta, on the person's behalf"),
			)
	return None


def mark(
	name: str,
	status: str,
	*,
	error: errors.MetaError | None = None,
	error_title: str | None = None,
	next_attempt_at=None,
	keep_claim: bool = False,
	refund_attempt: bool = False,
) -> None:
	values = {"status": status, "modified": now_datetime()}
	if status == "Pending":
		values["submitted_at"] = None  # not handed to Meta after all: the frequency cap skips it
	if not keep_claim:
		values["claimed_by"] = None
	if error is not None:
		values.update(error_code=error.code, error_title=error.title, error_detail=error.details)
	if error_title:
		values["error_title"] = error_title
	if status == "Failed":
		values["failed_at"] = now_datetime()
	if next_attempt_at:
		values["next_attempt_at"] = next_attempt_at
	assignments = ", ".join(f"`{k}`=%({k})s" for k in values)
	refund = ", attempts=attempts-1" if refund_attempt else ""
	frappe.db.sql(
		f"update `tabWhatsApp Message` set {assignments}{refund} where name=%(name)s",
		{**values, "name": name},
	)


def recover_claims(
	condition: str,
	params: dict | None = None,
	older_than: int = STALE_CLAIM_SECONDS,
	unknown_after: int | None = None,
) -> dict:
	"""Settle the rows a dead job left Queued among those ``condition`` selects (a campaign's, the
	drip sequences'). Rows it never started go back to Pending; rows it started but that Meta's
	webhook never confirmed fail after ``unknown_after`` seconds, because resending them could
	message someone twice."""
	if unknown_after is None:
		unknown_after = (
			cint(frappe.conf.get("marketing_engine_unknown_outcome_seconds")) or UNKNOWN_OUTCOME_SECONDS
		)
	cutoff = add_to_date(now_datetime(), seconds=-older_than)
	rows = frappe.db.sql(
		f"""select name, claimed_by, modified from `tabWhatsApp Message`
		where {condition} and status='Queued' and modified <= %(cutoff)s""",
		{**(params or {}), "cutoff": cutoff},
		as_dict=True,
	)
	retried, failed = [], []
	for claim in {r.claimed_by for r in rows}:
		if claim and plain_redis().exists(alive_key(claim)):
			continue  # its job is still sending this batch
		claim_rows = [r for r in rows if r.claimed_by == claim]
		claim_known = bool(claim) and plain_redis().exists(claim_key(claim))
		started = {n.decode() for n in plain_redis().smembers(started_key(claim))} if claim_known else set()
		for row in claim_rows:
			if claim_known and row.name not in started:
				retried.append(row.name)
			elif get_datetime(row.modified) <= add_to_date(now_datetime(), seconds=-unknown_after):
				failed.append(row.name)
	if retried:
		frappe.db.sql(
			"""update `tabWhatsApp Message` set status='Pending', claimed_by=null, attempts=greatest(attempts-1, 0)
			where name in %s and status='Queued'""",
			(retried,),
		)
	if failed:
		frappe.db.sql(
			"""update `tabWhatsApp Message` set status='Failed', claimed_by=null, failed_at=%s, error_title=%s
			where name in %s and status='Queued'""",
			(
				now_datetime(),
				_(
					"Outcome unknown: the sending job stopped during the send and Meta never "
					"confirmed it; not resent so that nobody gets it twice"
				),
				failed,
			),
		)
	frappe.db.commit()
	return {"retried": len(retried), "failed": len(failed)}


def claim_key(claim: str) -> str:
	return site_key("whatsapp-claim", claim)


def job_key(source: str, worker: int) -> str:
	return site_key("whatsapp-campaign-job", source, str(worker))


def alive_key(claim: str) -> str:
	return site_key("whatsapp-claim", claim, "alive")


def started_key(claim: str) -> str:
	return site_key("whatsapp-claim", claim, "started")
