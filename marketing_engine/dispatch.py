"""Sending a campaign: snapshot the audience, then background jobs send it at the number's rate.

Why it is built this way:

- **One WhatsApp Message row per recipient**, written by one ``INSERT ... SELECT`` at send time
  (the snapshot). Eligible recipients start Pending; excluded ones are Skipped with the reason,
  so every member of the audience ends Sent, Failed or Skipped, never silently dropped.
- **Jobs claim small batches** (``SELECT ... FOR UPDATE SKIP LOCKED``), so any number of jobs,
  duplicates included, share the work without two of them holding the same row.
- **A job sends a batch from a pool of threads**, paced by a Redis rate limiter shared by all
  jobs: an RQ job per message would spend more time starting than sending (Meta allows 80 msg/s).
  Threads only talk HTTP; the job's own thread does every database write.
- **Nobody is messaged twice.** A claimed row is Queued before any request; right before its
  request, its name goes into a Redis set of started sends for the claim. When a job dies, rows it
  never started go back to Pending; rows it started wait for Meta's status webhook, which finds
  them by ``biz_opaque_callback_data``, and fail with that reason if none comes: a resend could
  reach someone a second time.
"""

import collections
import json
import math
import mimetypes
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import frappe
from frappe import _
from frappe.utils import add_to_date, cint, flt, get_datetime, now_datetime

from marketing_engine.audience import REASONS, allow_in_memory_temp_tables, build_audience, recent_marketing
from marketing_engine.background import plain_redis, site_key, with_reconnect
from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.consent import OptOutSource
from marketing_engine.engine.routing import quiet_hours_end
from marketing_engine.engine.templates import (
	MediaHeader,
	TemplateSpec,
	TemplateVariableError,
	build_send_payload,
	render,
)
from marketing_engine.engine.throttle import RedisRateLimiter
from marketing_engine.engine.tracking import in_holdout
from marketing_engine.links import TRACKED_LINK, tracked_link_values
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings
from marketing_engine.marketing_engine.doctype.whatsapp_consent.whatsapp_consent import record_opt_out
from marketing_engine.marketing_engine.doctype.whatsapp_rate_card.whatsapp_rate_card import (
	rate_card_of_account,
)

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
JOB_ALIVE_SECONDS = 120
UNKNOWN_OUTCOME_SECONDS = 15 * 60
PROGRESS_EVERY_SECONDS = 1.0
BATCHES_IN_FLIGHT = 2
RECIPIENT_FIELDS = (
	"customer_name",
	"first_name",
	"last_booking_date",
	"city",
	"lifetime_spend",
	"phone",
	"campaign",
)


# -- snapshot ----------------------------------------------------------------------------------
def snapshot(campaign) -> int:
	"""Write one WhatsApp Message per audience member, in one statement. Idempotent: a campaign
	that has rows already is left as it is (a second start, a duplicate job)."""
	frappe.db.sql("select name from `tabWhatsApp Campaign` where name=%s for update", campaign.name)
	if frappe.db.exists("WhatsApp Message", {"campaign": campaign.name}):
		return frappe.db.count("WhatsApp Message", {"campaign": campaign.name})
	template = frappe.get_cached_doc("WhatsApp Template", campaign.template)
	include = [row.segment for row in campaign.segments if not row.exclude]
	exclude = [row.segment for row in campaign.segments if row.exclude]
	audience = build_audience(include, exclude, marketing=template.category == "MARKETING")
	reason_text = " ".join(
		f"when %(reason_{code})s then %(text_{code})s" for code in REASONS if code != "eligible"
	)
	params = {
		**audience.params,
		"prefix": f"{frappe.generate_hash(length=8)}-",
		"user": frappe.session.user,
		"now": now_datetime(),
		"account": campaign.account,
		"template": campaign.template,
		"category": template.category,
		"campaign": campaign.name,
		**{f"reason_{code}": code for code in REASONS},
		**{f"text_{code}": str(text) for code, text in REASONS.items()},
	}
	frozen_cost = frozen_cost_sql(campaign.account, template.category)
	allow_in_memory_temp_tables()
	frappe.db.sql(
		f"""insert into `tabWhatsApp Message` (name, creation, modified, owner, modified_by, docstatus, idx,
			direction, status, phone, user_id, region, account, template, category, campaign,
			contact_doctype, contact_name, error_title, error_detail, attempts, cost)
		select concat(%(prefix)s, lpad(row_number() over (order by a.reason != 'eligible', a.contact_name), 7, '0')),
			%(now)s, %(now)s, %(user)s, %(user)s, 0, 0,
			'Outbound', if(a.reason = 'eligible', 'Pending', 'Skipped'),
			if(a.reason = 'eligible' and a.phone like '+%%', a.phone, null),
			if(a.reason = 'eligible' and a.phone not like '+%%', a.phone, null),
			a.region, %(account)s, %(template)s, %(category)s,
			%(campaign)s, a.contact_doctype, a.contact_name,
			case a.reason {reason_text} else null end, if(a.reason = 'duplicate', a.phone, null), 0,
			if(a.reason = 'eligible', {frozen_cost}, 0)
		from ({audience.sql}) a""",
		params,
	)
	mark_holdout(campaign)
	# The number as typed, for members skipped because it is invalid.
	frappe.db.sql(
		"""update `tabWhatsApp Message` m join `tabCustomer` c on c.name = m.contact_name
		set m.error_detail = c.mobile_no
		where m.campaign = %s and m.contact_doctype = 'Customer' and m.status = 'Skipped' and m.error_title = %s""",
		(campaign.name, str(REASONS["invalid_number"])),
	)
	return frappe.db.count("WhatsApp Message", {"campaign": campaign.name})


def frozen_cost_sql(account: str, category: str) -> str:
	"""Each message's price as SQL over the audience's ``a.region``, frozen at the snapshot from
	the rate card in the WABA's currency (0 without a card). Written in the snapshot's own insert:
	a second pass over the rows cost a seventh of the snapshot's time."""
	card = rate_card_of_account(account)
	if not card:
		return "0"
	prices = card.unit_prices(category)
	default = float(prices.pop(None, None) or 0)
	if not prices:
		return str(default)
	cases = " ".join(
		f"when {frappe.db.escape(region)} then {float(price)}" for region, price in prices.items()
	)
	return f"case a.region {cases} else {default} end"


def mark_holdout(campaign) -> int:
	"""Hold back the campaign's share of its eligible audience, chosen reproducibly from the
	campaign and each number (the same people whenever it is computed): Skipped, "Holdout"."""
	share = (campaign.holdout_percent or 0) / 100
	if not share:
		return 0
	rows = frappe.db.sql(
		"select name, coalesce(phone, user_id) from `tabWhatsApp Message` where campaign=%s and status='Pending'",
		campaign.name,
	)
	held = [name for name, address in rows if in_holdout(campaign.name, address, share)]
	for start in range(0, len(held), 5000):
		frappe.db.sql(
			"""update `tabWhatsApp Message` set status='Skipped', error_title=%s, cost=0 where name in %s""",
			(str(REASONS["holdout"]), held[start : start + 5000]),
		)
	return len(held)


SNAPSHOT_ATTEMPTS = 3


def start(campaign) -> None:
	"""Snapshot the audience (once) and set jobs sending."""
	total = with_deadlock_retry(snapshot, campaign)
	frappe.db.set_value(
		"WhatsApp Campaign",
		campaign.name,
		{"status": "Sending", "status_reason": "", "total_recipients": total, "started_at": now_datetime()},
	)
	frappe.db.commit()
	update_counters(campaign.name)
	enqueue_jobs(campaign.name, cint(campaign.parallel_jobs) or 1)
	frappe.db.commit()  # the jobs are enqueued on commit, when the rows they claim are visible


def with_deadlock_retry(step, *args):
	"""The snapshot reads the audience's records while people and webhooks write to them; when
	MariaDB picks it as a deadlock's victim, everything it did is undone and it runs again."""
	for attempt in range(SNAPSHOT_ATTEMPTS):
		try:
			return step(*args)
		except frappe.QueryDeadlockError:
			frappe.db.rollback()
			if attempt == SNAPSHOT_ATTEMPTS - 1:
				raise
			time.sleep(0.2 * (attempt + 1))


def enqueue_jobs(campaign: str, jobs: int, *, only_idle: bool = False) -> int:
	"""Enqueue the campaign's jobs; with ``only_idle``, only those not queued or running.

	RQ's own de-duplication is not used: a job whose work horse was killed stays "started" in RQ
	until RQ's clean-up, which would keep the campaign from resuming. Each job slot has a key in
	Redis instead, set on enqueue and kept fresh by the running job. A duplicate job is harmless
	(claims are exclusive); this only keeps the scheduler from piling them up."""
	enqueued = 0
	for worker in range(1, jobs + 1):
		if only_idle and plain_redis().exists(job_key(campaign, worker)):
			continue
		plain_redis().set(job_key(campaign, worker), 1, ex=JOB_ALIVE_SECONDS)
		frappe.enqueue(
			"marketing_engine.dispatch.run_campaign",
			queue=QUEUE,
			timeout=24 * 3600,
			enqueue_after_commit=True,
			campaign=campaign,
			worker=worker,
		)
		enqueued += 1
	return enqueued


# -- the job -----------------------------------------------------------------------------------
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


class CampaignSource:
	"""A campaign's messages: one template and one audience, sent through its Business account."""

	def __init__(self, campaign_name: str):
		self.name = campaign_name
		self.campaign = frappe.get_doc("WhatsApp Campaign", campaign_name)
		self.channel = Channel(self.campaign.account)
		self.spec = frappe.get_doc("WhatsApp Template", self.campaign.template).to_spec()
		self.header = media_header(self.campaign, self.channel.account, self.spec)
		self.frequency_cap = get_settings().frequency_cap
		self.threads = threads_for(self.channel.rate)

	def condition(self) -> tuple[str, dict]:
		return "campaign=%(source)s", {"source": self.name}

	def job_key(self, worker: int) -> str:
		return job_key(self.name, worker)

	def may_claim(self) -> bool:
		return may_claim(self.name)

	def prepare(self, rows: list[dict]) -> list[Send]:
		values = recipient_values(self.campaign, rows)
		return [Send(row, self.channel, self.spec, values[row["name"]], self.header) for row in rows]

	def stop(self, stops: list[tuple[dict, str]]) -> bool:
		"""A template or account problem stops the whole campaign (resumable)."""
		stop_campaign(self.name, stops[0][1])
		return True

	def finish(self) -> None:
		finish_if_done(self.name)
		update_counters(self.name)


class DripSource:
	"""The drip sequences' messages, written by the scheduler as their steps fall due, each with
	its own template and values (see marketing_engine.drips)."""

	name = "drips"

	def __init__(self):
		self.frequency_cap = get_settings().frequency_cap
		self.channels: dict[str, Channel] = {}
		self.specs: dict[str, TemplateSpec] = {}
		settings = get_settings()
		business = settings.default_business_account
		self.threads = threads_for(Channel(business).rate if business else 80)

	def condition(self) -> tuple[str, dict]:
		# Marketing waits out quiet hours; sequences paused (by someone, or by Meta's signals) wait.
		condition = """drip_enrollment is not null and campaign is null and (drip_sequence is null
			or drip_sequence not in (select name from `tabDrip Sequence` where status='Paused' or enabled=0))"""
		if quiet_hours_now():
			condition += " and category != 'MARKETING'"
		return condition, {}

	def job_key(self, worker: int) -> str:
		return job_key(self.name, worker)

	def may_claim(self) -> bool:
		frappe.db.commit()  # a fresh snapshot: see sequences paused meanwhile
		return True

	def prepare(self, rows: list[dict]) -> list[Send]:
		sends = []
		for row in rows:
			parameters = json.loads(row["send_parameters"] or "{}")
			if row["template"] not in self.specs:
				self.specs[row["template"]] = frappe.get_doc("WhatsApp Template", row["template"]).to_spec()
			if row["account"] not in self.channels:
				self.channels[row["account"]] = Channel(row["account"])
			header = MediaHeader(**parameters["header"]) if parameters.get("header") else None
			sends.append(
				Send(
					row,
					self.channels[row["account"]],
					self.specs[row["template"]],
					parameters.get("values") or {},
					header,
				)
			)
		return sends

	def stop(self, stops: list[tuple[dict, str]]) -> bool:
		"""A template or account problem pauses the sequences it hit; the others go on."""
		from marketing_engine.drips import pause_sequence

		reasons = {row["drip_sequence"]: reason for row, reason in stops if row["drip_sequence"]}
		for sequence, reason in reasons.items():
			pause_sequence(sequence, reason)
		frappe.db.commit()
		return False

	def finish(self) -> None:
		pass


def threads_for(rate: int) -> int:
	"""Enough threads for a second of sends in flight: the pool never waits for a free thread
	while a slot of the number's rate goes by."""
	return max(4, min(MAX_THREADS_PER_JOB, math.ceil(rate)))


def source_of(kind: str, name: str | None = None):
	return DripSource() if kind == "drips" else CampaignSource(name)


def run_campaign(campaign: str, worker: int = 1) -> None:
	"""The background job of a campaign (see :func:`run_source`)."""
	run_source("campaign", campaign, worker)


def run_drips(worker: int = 1) -> None:
	"""The background job that sends the drip sequences' due messages (see :func:`run_source`)."""
	run_source("drips", None, worker)


def run_source(kind: str, name: str | None, worker: int = 1) -> None:
	"""The background job: claim, send, record, until nothing is due or the sending stops.

	Two batches are in flight: while the threads send one, this thread records the outcomes of
	the previous one, so the database work never leaves the number idle. A database connection
	lost under it (a MariaDB restart, a killed connection) is re-opened and the step repeated;
	every step is safe to repeat. A job that cannot go on writes why to the Error Log and lets its
	claims go, so the next job (the scheduler starts one every minute) takes over at once."""
	in_flight: collections.deque[Batch] = collections.deque()
	job = job_key(name or kind, worker)
	try:
		source = with_reconnect(source_of, kind, name)
		_run_source(source, worker, in_flight)
	except Exception:
		_give_up(name or kind, job, in_flight)
		raise


def _run_source(source, worker: int, in_flight: "collections.deque[Batch]") -> None:
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
				if (
					isinstance(source, CampaignSource)
					and time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS
				):
					with_reconnect(update_counters, source.name)
					last_progress = time.monotonic()
				continue
			if stopping:
				break
			due = with_reconnect(next_retry_in, source)
			if due is None or due > WAIT_FOR_RETRIES_SECONDS or not with_reconnect(source.may_claim):
				break  # done, paused, or only far retries left (131049): the scheduler comes back
			time.sleep(max(due, 0.2))
	plain_redis().delete(source.job_key(worker))
	with_reconnect(source.finish)


def _give_up(label: str, job: str, in_flight: "collections.deque[Batch]") -> None:
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
			reference_doctype="WhatsApp Campaign" if label != "drips" else None,
			reference_name=label if label != "drips" else None,
		)
		frappe.db.commit()
	except Exception:
		frappe.logger("marketing_engine").exception(f"Sending job for {label} stopped; Error Log not written")


def may_claim(campaign: str) -> bool:
	"""Still Sending (not paused or cancelled by someone else) and outside quiet hours."""
	frappe.db.commit()  # a fresh snapshot: see pauses and cancels made by others
	status, waiting_until = frappe.db.get_value("WhatsApp Campaign", campaign, ["status", "waiting_until"])
	if status != "Sending":
		return False
	quiet_until = quiet_hours_now()
	if quiet_until:
		if not waiting_until or get_datetime(waiting_until) != quiet_until:
			frappe.db.set_value(
				"WhatsApp Campaign",
				campaign,
				{
					"waiting_until": quiet_until,
					"status_reason": _("Quiet hours: sending resumes at {0}").format(
						quiet_until.strftime("%H:%M")
					),
				},
			)
			frappe.db.commit()
		return False
	if waiting_until:
		# Quiet hours are over: the banner goes with them.
		frappe.db.set_value("WhatsApp Campaign", campaign, {"waiting_until": None, "status_reason": ""})
		frappe.db.commit()
	return True


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


def stop_campaign(campaign: str, reason: str) -> None:
	frappe.db.set_value(
		"WhatsApp Campaign",
		campaign,
		{"status": "Failed", "status_reason": _("Stopped: {0}. Fix it, then Resume.").format(reason)},
	)
	frappe.db.commit()


def quiet_hours_now():
	settings = get_settings()
	return quiet_hours_end(now_datetime(), *settings.quiet_hours) if settings.quiet_hours else None


# -- recipients' variable values ---------------------------------------------------------------
def recipient_values(campaign, rows: list[dict], preview: bool = False) -> dict[str, dict[str, str]]:
	"""The template's variable values for each row, from the campaign's variable mapping. Tracked
	links are written for the rows (not for a ``preview``)."""
	fields = {row.value for row in campaign.variables if row.value_type == "Document Field" and row.value}
	customers = [r["contact_name"] for r in rows if r["contact_doctype"] == "Customer"]
	members = [r["contact_name"] for r in rows if r["contact_doctype"] == "Segment Member"]
	facts = recipient_facts(customers, members, fields)
	spec = frappe.get_cached_doc("WhatsApp Template", campaign.template).to_spec()
	links = tracked_link_values(
		rows,
		campaign.variables,
		{button.url_variable for _, button in spec.url_buttons},
		{
			"campaign": campaign.name,
			"utm_source": campaign.utm_source,
			"utm_campaign": campaign.campaign_name,
		},
		preview=preview,
	)
	values = {}
	for row in rows:
		known = facts.get((row["contact_doctype"], row["contact_name"]), {})
		context = {"phone": row["phone"] or "", "campaign": campaign.utm_source, **known}
		values[row["name"]] = {
			v.variable: (v.value or "") if v.value_type == "Fixed Text" else context.get(v.value) or ""
			for v in campaign.variables
			if v.value_type != TRACKED_LINK
		} | links.get(row["name"], {})
	return values


def recipient_facts(customers: list[str], members: list[str], fields: set[str]) -> dict:
	"""Per-recipient fields for the batch, with one query per kind of fact actually mapped."""
	facts: dict = {}

	def put(doctype, name, **values):
		facts.setdefault((doctype, name), {}).update({k: v for k, v in values.items() if v not in (None, "")})

	if customers:
		for c in frappe.db.sql(
			"""select c.name, c.customer_name, a.city from `tabCustomer` c
			left join `tabAddress` a on a.name = c.customer_primary_address where c.name in %s""",
			(customers,),
			as_dict=True,
		):
			put("Customer", c.name, **person(c.customer_name, c.city))
		if "last_booking_date" in fields:
			for name, last in frappe.db.sql(
				"""select customer, max(transaction_date) from `tabSales Order`
				where customer in %s and docstatus=1 group by customer""",
				(customers,),
			):
				put("Customer", name, last_booking_date=frappe.format_value(last, {"fieldtype": "Date"}))
		if "lifetime_spend" in fields:
			for name, spend in frappe.db.sql(
				"""select customer, sum(base_grand_total) from `tabSales Invoice`
				where customer in %s and docstatus=1 and is_return=0 group by customer""",
				(customers,),
			):
				put("Customer", name, lifetime_spend=frappe.format_value(spend, {"fieldtype": "Currency"}))
	if members:
		for m in frappe.db.sql(
			"select name, member_name, city from `tabSegment Member` where name in %s",
			(members,),
			as_dict=True,
		):
			put("Segment Member", m.name, **person(m.member_name, m.city))
	return facts


def person(full_name: str | None, city: str | None) -> dict:
	return {"customer_name": full_name, "first_name": first_name(full_name), "city": city}


def first_name(full_name: str | None) -> str:
	return (full_name or "").split(" ")[0] if full_name else ""


def media_header(campaign, account, spec) -> MediaHeader | None:
	"""The campaign's header media: a URL as given, or the attachment uploaded to Meta once."""
	if not spec.has_media_header:
		return None
	kind = spec.header_format.lower()
	if campaign.header_url:
		return MediaHeader(kind, link=campaign.header_url)
	if not campaign.header_attachment:
		return None  # build_send_payload names what is missing
	if not campaign.header_media_id:
		campaign.header_media_id = upload_attachment(campaign.header_attachment, account)
		frappe.db.set_value("WhatsApp Campaign", campaign.name, "header_media_id", campaign.header_media_id)
		frappe.db.commit()
	return MediaHeader(
		kind, media_id=campaign.header_media_id, filename=campaign.header_attachment.rsplit("/", 1)[-1]
	)


def upload_attachment(file_url: str, account) -> str:
	"""Upload an attached file to Meta through ``account``; returns Meta's media id."""
	file = frappe.get_doc("File", {"file_url": file_url})
	with open(file.get_full_path(), "rb") as f:
		content = f.read()
	mime = mimetypes.guess_type(file.file_name)[0] or "application/octet-stream"
	return account.get_client().upload_media(content, mime, file.file_name)


# -- progress, completion, recovery ------------------------------------------------------------
def update_counters(campaign: str) -> dict:
	"""Store and broadcast the campaign's counts and its actual cost, from one pass over its
	messages: the form shows them without anyone clicking Refresh."""
	rows = frappe.db.sql(
		"""select status, replied_at is not null, count(*), sum(if(billable, cost, 0))
		from `tabWhatsApp Message` where campaign=%s group by status, replied_at is not null""",
		campaign,
	)
	counts: dict[str, int] = collections.Counter()
	replied, billed = 0, 0.0
	for status, has_reply, n, billable_cost in rows:
		counts[status] += n
		replied += n if has_reply else 0
		billed += float(billable_cost or 0)
	values = {
		"total_recipients": sum(counts.values()),
		"sent_count": sum(counts[s] for s in ("Accepted", "Sent", "Delivered", "Read")),
		"delivered_count": counts["Delivered"] + counts["Read"],
		"read_count": counts["Read"],
		"failed_count": counts["Failed"],
		"skipped_count": counts["Skipped"],
		"replied_count": replied,
		# What Meta bills: the messages its pricing webhooks marked billable, at their frozen price.
		"actual_cost": billed,
	}
	frappe.db.set_value("WhatsApp Campaign", campaign, values, update_modified=False)
	frappe.db.commit()
	progress = {**values, "pending": counts["Pending"] + counts["Queued"], "campaign": campaign}
	progress.update(
		zip(
			("status", "status_reason"),
			frappe.db.get_value("WhatsApp Campaign", campaign, ["status", "status_reason"]),
			strict=True,
		)
	)
	frappe.publish_realtime(
		"whatsapp_campaign_progress",
		progress,
		doctype="WhatsApp Campaign",
		docname=campaign,
		after_commit=False,
	)
	return progress


def finish_if_done(campaign: str) -> bool:
	open_rows = frappe.db.count(
		"WhatsApp Message", {"campaign": campaign, "status": ("in", ("Pending", "Queued"))}
	)
	status = frappe.db.get_value("WhatsApp Campaign", campaign, "status")
	if open_rows or status != "Sending":
		return False
	frappe.db.set_value(
		"WhatsApp Campaign",
		campaign,
		{"status": "Completed", "completed_at": now_datetime(), "status_reason": ""},
	)
	frappe.db.commit()
	return True


def recover_claims(
	campaign: str | None, older_than: int = STALE_CLAIM_SECONDS, unknown_after: int = UNKNOWN_OUTCOME_SECONDS
) -> dict:
	"""Settle rows a dead job left Queued: a campaign's, or with ``campaign`` None the drip
	sequences'. Rows it never started go back to Pending; rows it started but that Meta's webhook
	never confirmed fail after ``unknown_after`` seconds, because resending them could message
	someone twice."""
	cutoff = add_to_date(now_datetime(), seconds=-older_than)
	which = "campaign=%(campaign)s" if campaign else "drip_enrollment is not null and campaign is null"
	rows = frappe.db.sql(
		f"""select name, claimed_by, modified from `tabWhatsApp Message`
		where {which} and status='Queued' and modified <= %(cutoff)s""",
		{"campaign": campaign, "cutoff": cutoff},
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


def maintain_campaigns() -> None:
	"""Every minute: start due scheduled campaigns, recover from dead jobs, restart stalled ones."""
	for name in frappe.get_all(
		"WhatsApp Campaign",
		filters={"status": "Scheduled", "scheduled_at": ("<=", now_datetime())},
		pluck="name",
	):
		start(frappe.get_doc("WhatsApp Campaign", name))
	for campaign in frappe.get_all(
		"WhatsApp Campaign", filters={"status": "Sending"}, fields=["name", "parallel_jobs"]
	):
		recover_claims(campaign.name)
		if finish_if_done(campaign.name):
			update_counters(campaign.name)  # recovery may have settled the last rows
		elif not quiet_hours_now():
			enqueue_jobs(campaign.name, cint(campaign.parallel_jobs) or 1, only_idle=True)
	recover_claims(None)
	if next_retry_in(DripSource()) is not None:
		enqueue_drip_job()


def enqueue_drip_job() -> None:
	"""One job sends every sequence's due messages; it is started when there are some and none
	runs (duplicates would only share the work)."""
	if plain_redis().set(job_key(DripSource.name, 1), 1, ex=JOB_ALIVE_SECONDS, nx=True):
		frappe.enqueue(
			"marketing_engine.dispatch.run_drips", queue=QUEUE, timeout=24 * 3600, enqueue_after_commit=True
		)


def claim_key(claim: str) -> str:
	return site_key("whatsapp-claim", claim)


def job_key(campaign: str, worker: int) -> str:
	return site_key("whatsapp-campaign-job", campaign, str(worker))


def alive_key(claim: str) -> str:
	return site_key("whatsapp-claim", claim, "alive")


def started_key(claim: str) -> str:
	return site_key("whatsapp-claim", claim, "started")
