"""Meta's webhooks: verified, kept in the intake journal, applied in batches by background jobs.

A campaign at 80 msg/s brings about 240 status webhooks a second (sent, delivered, read), and
Meta redelivers whatever is not answered 200 quickly, but never what was. The request therefore
only verifies the signature and appends the raw body to the site's intake journal
(:mod:`marketing_engine.engine.journal`: a local file, written and synced before the 200, costing
the request tens of microseconds where a MariaDB insert and commit cost a fifth of a request), and
answers. Jobs on the short queue then move journal records into WhatsApp Webhook Event rows (each
record once: its journal key is unique) and apply pending rows in batches: statuses of a batch in
one pass over their messages, everything else in order. Nothing is lost when a job, the queue
Redis or MariaDB dies between accept and apply: a journal file is deleted only after its rows are
committed, and the rows stay Pending until a batch commits them as Processed. A payload that
fails is kept with its error (Failed, visible in Desk) and retried with back-off by the
scheduler. What each event does is :mod:`marketing_engine.channel.inbound`'s.

Signatures: Meta signs each body with the app's secret (``X-Hub-Signature-256``), and the System
and Business accounts may belong to different apps, so each enabled account's secret is tried.
"""

import json
import time

import frappe
from frappe.utils import add_to_date, now_datetime

from marketing_engine import background
from marketing_engine.background import is_lost_connection, plain_redis, site_key, site_now, with_reconnect
from marketing_engine.channel.inbound import Touched, apply_events
from marketing_engine.engine import journal, webhook

WEBHOOK_PATH = "/api/method/marketing_engine.api.webhook.whatsapp"

QUEUE = "short"
BATCH_SIZE = 500
# The applier's key lives while a job drains the table (it is refreshed every batch); a request
# only enqueues a job when there is none, so a burst of webhooks costs one job, not one per
# request. A job that dies leaves the key to expire soon after, and the next webhook or the
# scheduler's minute starts another.
APPLIER_ALIVE_SECONDS = 15
MAX_ATTEMPTS = 8
KEEP_PROCESSED_DAYS = 3
COUNTERS_EVERY_SECONDS = 1.0
LINGER_SECONDS = 2.0
LINGER_POLL_SECONDS = 0.1


def store(account: str, raw: bytes) -> None:
	"""Keep the verified body in the journal (on the disk when this returns), then wake the
	applier. Raises when the journal cannot be written: the request is then not answered 200."""
	background.journal_writer(JOURNAL).append(journal_record(account, raw))
	try:
		wake_applier()
	except Exception:
		# The body is kept: the scheduler's minute wakes an applier for it.
		frappe.logger("marketing_engine").warning("WhatsApp webhook kept; applier not woken", exc_info=True)


JOURNAL = "whatsapp-webhook-journal"


def journal_directory() -> str:
	return background.journal_directory(JOURNAL)


def journal_record(account: str, raw: bytes) -> bytes:
	"""What the journal keeps of a webhook: who signed it and when, then the body as received."""
	header = json.dumps({"account": account, "received_at": str(site_now())}).encode()
	return header + b"\n" + raw


def ingest_journal(commit: bool = True) -> int:
	"""Move the journal's records into WhatsApp Webhook Event rows, a file at a time. A record kept
	by an earlier ingest that died before deleting its file is not kept twice (its ``journal_key``
	is unique). Returns records read. (Tests that call the endpoint in their own process keep the
	rows in their transaction.)"""
	return background.drain_journal(JOURNAL, keep_events, commit=commit)


def keep_events(records: list[journal.Record]) -> int:
	rows = [event_row(record) for record in records]
	for chunk in insert_chunks(rows):
		insert_events(chunk)
	return len(rows)


# One insert statement carries at most this much payload: MariaDB refuses a statement over its
# max_allowed_packet (16 MB by default), and a webhook may be 3 MB.
INSERT_BYTES = 4 * 1024 * 1024


def insert_chunks(rows: list[dict]):
	chunk, size = [], 0
	for row in rows:
		if chunk and (len(chunk) == BATCH_SIZE or size + len(row["payload"]) > INSERT_BYTES):
			yield chunk
			chunk, size = [], 0
		chunk.append(row)
		size += len(row["payload"])
	if chunk:
		yield chunk


def event_row(record: journal.Record) -> dict:
	header, _, raw = record.data.partition(b"\n")
	meta = json.loads(header)
	try:
		summary = summarize(webhook.parse(raw))
	except webhook.WebhookError as e:
		summary = str(e)[:140]  # applying it fails and keeps the reason
	return {
		"key": record.key,
		"account": meta["account"],
		"received_at": meta["received_at"],
		"summary": summary,
		"payload": raw.decode(errors="replace"),  # verified as JSON before it was kept
	}


def insert_events(rows: list[dict]) -> None:
	now = site_now()
	values, params = [], {"now": now}
	for i, row in enumerate(rows):
		values.append(
			f"""(nextval(`whatsapp_webhook_event_id_seq`), %(now)s, %(now)s, 'Guest', 'Guest', 0, 0,
			%(account{i})s, 'Pending', %(received{i})s, 0, %(summary{i})s, %(payload{i})s, %(key{i})s)"""
		)
		params.update(
			{
				f"account{i}": row["account"],
				f"received{i}": row["received_at"],
				f"summary{i}": row["summary"],
				f"payload{i}": row["payload"],
				f"key{i}": row["key"],
			}
		)
	frappe.db.sql(
		f"""insert into `tabWhatsApp Webhook Event`
		(name, creation, modified, owner, modified_by, docstatus, idx, account, status, received_at,
			attempts, summary, payload, journal_key)
		values {", ".join(values)}
		on duplicate key update journal_key = journal_key""",
		params,
	)


def summarize(events: list) -> str:
	counts: dict[str, int] = {}
	for event in events:
		label = EVENT_LABELS.get(type(event).__name__, type(event).__name__)
		counts[label] = counts.get(label, 0) + 1
	return ", ".join(f"{n} {label}" for label, n in counts.items()) or "no events"


EVENT_LABELS = {
	"StatusUpdate": "status",
	"InboundMessage": "message",
	"PreferenceUpdate": "preference",
	"IdentityChange": "identity change",
	"TemplateStatusChange": "template status",
	"TemplateQualityChange": "template quality",
	"TemplateCategoryChange": "template category",
	"PhoneQualityChange": "number quality",
	"AccountUpdate": "account update",
}


def wake_applier() -> None:
	if plain_redis().set(applier_key(), 1, nx=True, ex=APPLIER_ALIVE_SECONDS):
		frappe.enqueue("marketing_engine.channel.webhooks.apply_pending", queue=QUEUE)


def applier_key() -> str:
	return site_key("whatsapp-webhook-applier")


def apply_pending() -> int:
	"""The background job: apply batches until none is pending. Returns events applied.

	It lingers a moment for more before it ends: webhooks come in streams, and waiting costs
	less than starting the next job (an RQ job imports the app afresh)."""
	touched = Touched()
	applied = 0
	idle_since = None
	while True:
		plain_redis().expire(applier_key(), APPLIER_ALIVE_SECONDS)
		# A job lives as long as webhooks keep coming (a whole campaign): what Frappe keeps for
		# the length of a request (settings read through get_cached_doc among it) is read afresh
		# each batch, so a setting changed meanwhile (hand-over of replies, say) counts at once.
		frappe.local.cache = {}
		with_reconnect(ingest_journal)
		count = with_reconnect(apply_batch, touched)
		applied += count
		touched.flush(every=COUNTERS_EVERY_SECONDS)
		if count:
			idle_since = None
			continue
		idle_since = idle_since or time.monotonic()
		if time.monotonic() - idle_since < LINGER_SECONDS:
			time.sleep(LINGER_POLL_SECONDS)
			continue
		# Hand over: a webhook committed after the last look finds no key and wakes a new job, or
		# this job sees it here and goes on.
		plain_redis().delete(applier_key())
		if not pending_count():
			break
		if not plain_redis().set(applier_key(), 1, nx=True, ex=APPLIER_ALIVE_SECONDS):
			break  # a new job took over
		idle_since = None
	touched.flush()
	return applied


def pending_count() -> int:
	"""Events waiting: rows not yet applied, and journal records not yet made rows."""
	frappe.db.commit()  # a fresh snapshot
	rows = frappe.db.sql("select count(*) from `tabWhatsApp Webhook Event` where status='Pending'")[0][0]
	return rows + journal.has_records(journal_directory())


def apply_batch(touched) -> int:
	"""Claim up to BATCH_SIZE pending events, apply them and mark them Processed, in one
	transaction. When the batch fails, each event is applied on its own so that one bad payload
	costs only itself."""
	# Read committed: the claim locks the rows it takes, not the gaps of the status index that a
	# request's insert of a new webhook would then wait on (a deadlock answered Meta with a 500).
	# It holds from the next transaction on (Frappe always has one open), for this job's session.
	frappe.db.sql("set session transaction isolation level read committed")
	frappe.db.commit()
	rows = claim(BATCH_SIZE)
	if not rows:
		frappe.db.commit()
		return 0
	try:
		apply_events([(row.account, parse(row)) for row in rows], touched)
		mark_processed([row.name for row in rows])
		frappe.db.commit()
	except Exception as error:
		if is_lost_connection(error):
			raise  # nothing was committed: the batch is claimed again after reconnecting
		frappe.db.rollback()
		touched.forget_uncommitted()
		for row in rows:
			apply_one(row.name, touched)
	return len(rows)


def claim(limit: int, names: list | None = None) -> list:
	condition = "name in %(names)s" if names else "status='Pending'"
	return frappe.db.sql(
		f"""select name, status, account, payload, attempts from `tabWhatsApp Webhook Event`
		where {condition} order by name limit %(limit)s for update skip locked""",
		{"names": names, "limit": limit},
		as_dict=True,
	)


def apply_one(name, touched) -> None:
	rows = claim(1, [name])
	if not rows or rows[0].status != "Pending":
		frappe.db.commit()
		return
	row = rows[0]
	try:
		apply_events([(row.account, parse(row))], touched)
		mark_processed([row.name])
		frappe.db.commit()
	except Exception as error:
		if is_lost_connection(error):
			raise  # not the payload's fault: it is claimed again after reconnecting
		frappe.db.rollback()
		touched.forget_uncommitted()
		record_failure(row, frappe.get_traceback())


def parse(row) -> list:
	return webhook.parse(row.payload.encode())


def mark_processed(names: list) -> None:
	frappe.db.sql(
		"""update `tabWhatsApp Webhook Event` set status='Processed', processed_at=%s, error=null
		where name in %s""",
		(now_datetime(), names),
	)


def record_failure(row, error: str) -> None:
	attempts = (row.attempts or 0) + 1
	frappe.db.sql(
		"""update `tabWhatsApp Webhook Event` set status='Failed', attempts=%s, error=%s, next_attempt_at=%s,
		modified=%s where name=%s""",
		(
			attempts,
			error,
			add_to_date(now_datetime(), minutes=2**attempts) if attempts < MAX_ATTEMPTS else None,
			now_datetime(),
			row.name,
		),
	)
	frappe.db.commit()


def retry_failed() -> None:
	"""Scheduler, every minute: failed events whose back-off is over go back to Pending, and a
	job is woken for anything pending (a job killed mid-batch left its rows Pending, or its journal
	files unread)."""
	frappe.db.sql(
		"""update `tabWhatsApp Webhook Event` set status='Pending'
		where status='Failed' and next_attempt_at is not null and next_attempt_at <= %s""",
		now_datetime(),
	)
	frappe.db.commit()
	if pending_count():
		wake_applier()


def retry(names: list) -> None:
	"""Desk's Retry: apply these failed events now."""
	frappe.db.sql(
		"update `tabWhatsApp Webhook Event` set status='Pending' where name in %s and status='Failed'",
		(names,),
	)
	frappe.db.commit()
	wake_applier()


def purge_processed() -> None:
	"""Daily: processed events are kept a few days for inspection, then deleted."""
	frappe.db.sql(
		"delete from `tabWhatsApp Webhook Event` where status='Processed' and received_at < %s",
		add_to_date(now_datetime(), days=-KEEP_PROCESSED_DAYS),
	)
	frappe.db.commit()


# -- signatures --------------------------------------------------------------------------------
# Decrypting every enabled account's app secret costs more than the rest of the request. The
# decrypted secrets stay in this process (never in Redis), tagged with a version that is bumped
# in Redis whenever an account changes, so an edited secret is used at the next request.
_secrets: dict[str, tuple[str, list[tuple[str, str]], float]] = {}


# How long a web worker trusts its copy before asking Redis whether an account changed.
VERSION_CHECK_SECONDS = 1.0


def account_that_signed(raw: bytes, signature: str | None) -> str | None:
	"""The account whose app secret signed ``raw``. Meta signs with the app's secret, and the
	System and Business accounts may belong to different apps, so each one is tried."""
	if not signature:
		return None
	for name, secret in app_secrets():
		if webhook.signature_matches(raw, signature, secret):
			return name
	return None


def app_secrets() -> list[tuple[str, str]]:
	cached = _secrets.get(frappe.local.site)
	if cached and time.monotonic() - cached[2] < VERSION_CHECK_SECONDS:
		return cached[1]
	version = (plain_redis().get(secrets_version_key()) or b"0").decode()
	if cached and cached[0] == version:
		_secrets[frappe.local.site] = (version, cached[1], time.monotonic())
		return cached[1]
	secrets = [
		(name, frappe.get_doc("WhatsApp Account", name).get_app_secret())
		for name in frappe.get_all("WhatsApp Account", filters={"enabled": 1}, pluck="name")
	]
	_secrets[frappe.local.site] = (version, secrets, time.monotonic())
	return secrets


def forget_app_secrets(doc=None, method=None) -> None:
	"""Called when a WhatsApp Account is saved or deleted. This process forgets its secrets at
	once; every other web worker reloads them within ``VERSION_CHECK_SECONDS`` of the commit. The
	version moves only after the commit, or a worker could reload the old secrets in between and
	keep them under the new version."""
	_secrets.pop(frappe.local.site, None)
	frappe.db.after_commit.add(_bump_secrets_version)


def _bump_secrets_version() -> None:
	plain_redis().incr(secrets_version_key())


def secrets_version_key() -> str:
	return site_key("whatsapp-app-secrets-version")
