"""Conversions back to Meta: a Click-to-WhatsApp ad's person became a Lead (LeadSubmitted) or
booked (Purchase, the order's base net total in the company's currency), with the ad's click id,
so that Meta optimises the studio's ads for bookings rather than for chats.

Each event is a **WhatsApp Conversion** row, queued when it happens (the Lead made from the ad's
first message, the Sales Order submitted with the ad attributed) and sent by the scheduler's
minute in batches of up to 1,000 per WhatsApp Business Account (Meta's limit), to the account's
dataset (made on its first event). A failure Meta may get over (a 5xx, a timeout, throttling) is
retried with back-off (1 min to 12 h, :mod:`marketing_engine.engine.conversions`); one Meta will
not (a bad event, a token) is kept Failed with Meta's words. An event never counts twice: its id
is derived from its document, and Meta deduplicates by it, so a row sent again after a crash
between Meta's answer and the commit is received once.

What is not sent is recorded with the reason, and the order's form shows it: the setting off
(nothing recorded), the person opted out of WhatsApp marketing, the click id older than Meta's
7 days. Cancelling the order sends nothing (Meta's API takes no event back) but is recorded.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import frappe
from frappe import _
from frappe.utils import cint, get_datetime, get_system_timezone, now_datetime

from marketing_engine.engine import conversions as core
from marketing_engine.engine import errors
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings
from marketing_engine.marketing_engine.doctype.whatsapp_account.whatsapp_account import get_account
from marketing_engine.roi.attribution import lead_of

CLAIM_EXPIRES = timedelta(minutes=10)  # a worker that died holding rows: another takes them then


def enabled() -> bool:
	return bool(cint(get_settings().send_conversions))


# -- what is queued ----------------------------------------------------------------------------
def queue_lead_submitted(lead: str, referral) -> str | None:
	"""The ad's person became a Lead (from roi.ads.record_referral)."""
	return queue(core.LEAD_SUBMITTED, "Lead", lead, referral, event_time=referral.received_at)


def on_sales_order_submit(doc, method=None) -> None:
	"""doc_events, after the Attribution row: an order attributed to an ad is a Purchase."""
	if not enabled():
		return
	ad = frappe.db.get_value("Attribution", {"sales_order": doc.name, "status": "Active"}, "ad")
	if not ad:
		return
	referral = referral_of(ad, doc)
	queue(
		core.PURCHASE,
		"Sales Order",
		doc.name,
		referral,
		ad=ad,
		event_time=now_datetime(),
		value=doc.base_net_total,
		currency=frappe.get_cached_value("Company", doc.company, "default_currency"),
	)


def on_sales_order_cancel(doc, method=None) -> None:
	"""Recorded on the order's conversion; one still queued is not sent at all."""
	now = now_datetime()
	for row in frappe.get_all(
		"WhatsApp Conversion",
		{"reference_doctype": "Sales Order", "reference_name": doc.name},
		["name", "status"],
	):
		values = {"order_cancelled_at": now}
		if row.status == "Queued":
			values.update(status="Not Sent", reason=_("The order was cancelled before it was sent"))
		frappe.db.set_value("WhatsApp Conversion", row.name, values)


def referral_of(ad: str, order):
	"""The ad's latest referral of the order's person (customer, their lead, or number) whose
	click id Meta still takes; an older one when none is, so the reason can say so."""
	people = [("contact_name", order.customer)]
	lead = lead_of(order)
	if lead:
		people.append(("lead", lead))
	number = frappe.db.get_value("Customer", order.customer, "whatsapp_number") if order.customer else None
	if number:
		people.append(("phone", number))
	for field, value in people:
		referral = frappe.get_all(
			"WhatsApp Ad Referral",
			{"ad": ad, field: value},
			["name", "ad", "message", "ctwa_clid", "received_at", "attribution_until", "phone", "user_id"],
			order_by="received_at desc",
			limit=1,
		)
		if referral:
			return referral[0]
	return None


def queue(
	event_name: str, doctype: str, name: str, referral, *, ad: str | None = None, event_time=None,
	value=None, currency=None,
) -> str | None:  # fmt: skip
	"""One conversion row for the document (its event id is unique: a second call is a no-op)."""
	if not enabled():
		return None
	event_id = core.conversion_event_id(event_name, doctype, name)
	if frappe.db.exists("WhatsApp Conversion", {"event_id": event_id}):
		return None
	account = frappe.db.get_value("WhatsApp Message", referral.message, "account") if referral else None
	row = frappe.get_doc(
		{
			"doctype": "WhatsApp Conversion",
			"event_name": event_name,
			"event_id": event_id,
			"status": "Queued",
			"reference_doctype": doctype,
			"reference_name": name,
			"ad": ad or (referral.ad if referral else None),
			"referral": referral.name if referral else None,
			"account": account,
			"ctwa_clid": referral.ctwa_clid if referral else None,
			"event_time": event_time or now_datetime(),
			"value": value,
			"currency": currency,
			"attempts": 0,
			"next_attempt_at": now_datetime(),
		}
	)
	reason = why_not(row, referral)
	if reason:
		row.status, row.reason = "Not Sent", reason
	row.insert(ignore_permissions=True)
	return row.name


def why_not(row, referral) -> str | None:
	if not referral:
		return _("No message from this ad is on record for the person")
	if opted_out(referral.phone or referral.user_id):
		return _("The person opted out of WhatsApp marketing")
	if not row.account:
		return _("The ad's message came to no WhatsApp Account of this site")
	if get_datetime(row.event_time) > get_datetime(referral.attribution_until):
		return _("The ad's click id is older than Meta's 7 days (kept until {0})").format(
			frappe.format(referral.attribution_until, {"fieldtype": "Datetime"})
		)
	waba_id = frappe.db.get_value("WhatsApp Account", row.account, "waba_id")
	return core.why_not_sendable(event_of(row, waba_id), aware(now_datetime()))


def opted_out(address: str | None) -> bool:
	if not address:
		return False
	status = frappe.db.get_value("WhatsApp Consent", address, "status") or frappe.db.get_value(
		"WhatsApp Consent", {"user_id": address}, "status"
	)
	return status == "Opted Out"


def aware(moment):
	"""A site wall-clock Datetime as an aware datetime (Meta takes Unix seconds)."""
	return get_datetime(moment).replace(tzinfo=ZoneInfo(get_system_timezone()))


def event_of(row, waba_id: str) -> core.ConversionEvent:
	return core.ConversionEvent(
		event_name=row.event_name,
		event_id=row.event_id,
		event_time=aware(row.event_time),
		waba_id=waba_id,
		ctwa_clid=row.ctwa_clid,
		value=row.value,
		currency=row.currency,
	)


# -- what is sent ------------------------------------------------------------------------------
def send_due() -> int:
	"""Scheduler, every minute: the due queued events, per account, a batch at a time."""
	now = now_datetime()
	sent = 0
	for account, names in claim(now).items():
		sent += send_batch(account, names, now)
		frappe.db.commit()
	return sent


def claim(now) -> dict[str, list[str]]:
	"""Take up to 1,000 due rows for this worker (rows another worker holds are skipped, and
	those of a worker that died are taken again after CLAIM_EXPIRES), by account."""
	rows = frappe.db.sql(
		"""select name, account from `tabWhatsApp Conversion`
		where status = 'Queued' and next_attempt_at <= %(now)s
			and (claimed_at is null or claimed_at < %(expired)s)
		order by creation limit %(limit)s for update skip locked""",
		{"now": now, "expired": now - CLAIM_EXPIRES, "limit": core.MAX_EVENTS_PER_REQUEST},
		as_dict=True,
	)
	if rows:
		frappe.db.sql(
			"update `tabWhatsApp Conversion` set claimed_at = %s where name in %s",
			(now, [r.name for r in rows]),
		)
	frappe.db.commit()
	by_account: dict[str, list[str]] = {}
	for row in rows:
		by_account.setdefault(row.account, []).append(row.name)
	return by_account


def send_batch(account_name: str, names: list[str], now) -> int:
	rows = [frappe.get_doc("WhatsApp Conversion", name) for name in names]
	account = get_account(account_name)
	if not account or not account.waba_id:
		for row in rows:
			finish(row, "Failed", _("WhatsApp Account {0} has no WABA ID").format(account_name))
		return 0
	ready = []
	for row in rows:
		reason = core.why_not_sendable(event_of(row, account.waba_id), aware(now))
		if reason:
			finish(row, "Not Sent", reason)
		else:
			ready.append(row)
	if not ready:
		return 0
	client = account.get_client()
	try:
		dataset = account.conversions_dataset or dataset_of(account, client)
		client.send_conversion_events(dataset, [event_of(row, account.waba_id) for row in ready])
	except errors.MetaError as error:
		if len(ready) > 1 and not core.is_retryable(error):
			# Meta refuses a whole call for one bad event: one at a time, the others still go.
			return sum(send_batch(account_name, [row.name], now) for row in ready)
		for row in ready:
			failed(row, error, now)
		return 0
	for row in ready:
		finish(row, "Sent", None, attempts=cint(row.attempts) + 1, sent_at=now)
	return len(ready)


def dataset_of(account, client) -> str:
	dataset = client.ensure_dataset()
	frappe.db.set_value("WhatsApp Account", account.name, "conversions_dataset", dataset)
	return dataset


def failed(row, error: errors.MetaError, now) -> None:
	attempts = cint(row.attempts) + 1
	said = _("Meta: {0}").format(str(error))[:500]
	if core.is_retryable(error) and attempts < core.MAX_ATTEMPTS:
		retry_at = now + core.retry_delay(attempts)
		frappe.db.set_value(
			"WhatsApp Conversion",
			row.name,
			{
				"attempts": attempts,
				"next_attempt_at": retry_at,
				"claimed_at": None,
				"reason": _("{0} (trying again at {1})").format(said, retry_at.strftime("%Y-%m-%d %H:%M")),
			},
		)
		return
	finish(row, "Failed", said, attempts=attempts)


def finish(row, status: str, reason: str | None, **values) -> None:
	frappe.db.set_value(
		"WhatsApp Conversion", row.name, {"status": status, "reason": reason, "claimed_at": None, **values}
	)


@frappe.whitelist()
def conversions_of_order(sales_order: str) -> list[dict]:
	"""What the order's form says about its conversions: sent at, or why not."""
	frappe.has_permission("Sales Order", "read", sales_order, throw=True)
	return frappe.get_all(
		"WhatsApp Conversion",
		{"reference_doctype": "Sales Order", "reference_name": sales_order},
		["name", "event_name", "status", "sent_at", "reason", "next_attempt_at", "order_cancelled_at"],
		ignore_permissions=True,
	)
