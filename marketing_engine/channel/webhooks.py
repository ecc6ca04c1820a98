"""Meta's webhooks: verified, stored first, applied in batches by background jobs.

A campaign at 80 msg/s brings about 240 status webhooks a second (sent, delivered, read), and
Meta redelivers whatever is not answered 200 quickly. Applying each one inside its request held a
web worker for the whole update, so the endpoint only verifies the signature, stores the raw body
(a WhatsApp Webhook Event row, durable once the request commits) and answers. Jobs on the short
queue then apply stored events in batches: statuses of a batch in one pass over their messages,
everything else in order. Nothing is lost when a job dies between store and apply: the rows stay
Pending until a batch commits them as Processed. A payload that fails is kept with its error
(Failed, visible in Desk) and retried with back-off by the scheduler. What each event does is
:mod:`marketing_engine.channel.inbound`'s.

Signatures: Meta signs each body with the app's secret (``X-Hub-Signature-256``), and the System
and Business accounts may belong to different apps, so each enabled account's secret is tried.
"""

import time

import frappe
from frappe.utils import add_to_date, now_datetime

from marketing_engine.background import is_lost_connection, plain_redis, site_key, site_now, with_reconnect
from marketing_engine.channel.inbound import Touched, apply_events
from marketing_engine.engine import webhook

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


def store(account: str, raw: bytes, events: list) -> None:
	"""Keep the verified body; the request's commit makes it durable, then the applier wakes."""
	values = {"now": site_now(), "account": account, "summary": summarize(events), "payload": raw.decode()}
	for attempt in range(2):
		try:
			frappe.db.sql(
				"""insert into `tabWhatsApp Webhook Event`
				(name, creation, modified, owner, modified_by, docstatus, idx, account, status, received_at,
					attempts, summary, payload)
				values (nextval(`whatsapp_webhook_event_id_seq`), %(now)s, %(now)s, 'Guest', 'Guest', 0, 0,
					%(account)s, 'Pending', %(now)s, 0, %(summary)s, %(payload)s)""",
				values,
			)
			break
		except frappe.QueryDeadlockError:
			# The insert is the request's only write: after the roll-back it is simply done again.
			frappe.db.rollback()
			if attempt:
				raise
	# After the commit: a job that finds the table empty before this row is visible must not be
	# the only one told about it.
	frappe.db.after_commit.add(wake_applier)


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
	frappe.db.commit()  # a fresh snapshot
	return frappe.db.sql("select count(*) from `tabWhatsApp Webhook Event` where status='Pending'")[0][0]


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
	job is woken for anything pending (a job killed mid-batch left its rows Pending)."""
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
