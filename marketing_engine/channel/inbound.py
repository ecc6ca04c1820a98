"""What the app does with the events of a verified WhatsApp webhook, applied in batches.

Each handler is idempotent, because Meta delivers at least once and in no particular order:
a status only moves a message forward, an inbound message is stored once (unique Meta id), and a
consent change older than the current opposite one does not overturn it.

People are matched by their number, or, for a WhatsApp user who adopted a username and shares no
number, by Meta's business-scoped user ID (BSUID). Every webhook that carries both teaches the
app which number an ID belongs to (see ``learn_identity``).
"""

import time

import frappe
from frappe import _
from frappe.utils import add_to_date

from marketing_engine.channel import health, signals
from marketing_engine.channel.consent import learn_identity, phone_of_user_id, record_opt_in, record_opt_out
from marketing_engine.channel.frequency_cap import refresh_frequency_caps
from marketing_engine.channel.identities import number_changed, user_id_changed
from marketing_engine.channel.people import (
	CONSENT_LINK_FIELDS,
	consent_links,
	find_contact,
	local_time,
	person_actor,
	phone_of_wa_id,
)
from marketing_engine.engine import errors
from marketing_engine.engine.consent import (
	Intent,
	OptInSource,
	OptOutSource,
	intent_of_button,
	intent_of_preference,
	intent_of_text,
)
from marketing_engine.engine.status import TIMESTAMP_FIELD, advance, from_meta
from marketing_engine.engine.webhook import InboundMessage, PreferenceUpdate, StatusUpdate
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

# A message from someone counts as a reply to what we last sent them within this window; most
# people answer without quoting the message.
REPLY_WINDOW_DAYS = 7
HANDED_TO_META = ("Queued", "Accepted", "Sent", "Delivered", "Read", "Failed")
MESSAGE_FIELDS = (
	"name, status, message_id, phone, user_id, campaign, category, contact_doctype, contact_name, "
	"sent_at, delivered_at, read_at, failed_at, submitted_at"
)


class Touched:
	"""What a run of batches changed that others show: campaign counters, refreshed at most once
	a ``flush`` interval while events pour in, and once more at the end."""

	def __init__(self):
		self.campaigns: set[str] = set()
		self.pending: set[str] = set()
		self.last_flush = 0.0

	def campaign(self, name: str | None) -> None:
		if name:
			self.pending.add(name)

	def forget_uncommitted(self) -> None:
		self.pending.clear()

	def flush(self, every: float = 0.0) -> None:
		self.campaigns |= self.pending
		self.pending.clear()
		if not self.campaigns or time.monotonic() - self.last_flush < every:
			return
		signals.campaigns_touched(sorted(self.campaigns))
		self.campaigns.clear()
		self.last_flush = time.monotonic()


def apply_events(batch: list[tuple[str, list]], touched: Touched | None = None) -> None:
	"""Apply the events of several webhooks (``(account, events)`` each): all statuses in one pass
	over their messages, then every other event in the order it came."""
	touched = touched or Touched()
	apply_statuses([e for _, events in batch for e in events if isinstance(e, StatusUpdate)], touched)
	for account, events in batch:
		for event in events:
			handler = HANDLERS.get(type(event).__name__)
			if handler:
				handler(account, event, touched)


# -- statuses ----------------------------------------------------------------------------------
def apply_statuses(updates: list[StatusUpdate], touched: Touched) -> None:
	if not updates:
		return
	rows = _lock_messages(updates)
	by_id = {row.message_id: row for row in rows if row.message_id}
	by_name = {row.name: row for row in rows}
	changes: dict[str, dict] = {}
	identities: set[tuple[str, str]] = set()
	uncounted: set[str] = set()  # people whose marketing message failed: the cap counts one less
	for update in sorted(updates, key=lambda u: u.timestamp):
		row = by_id.get(update.message_id) or by_name.get(update.callback_data or "")
		status = from_meta(update.status)
		if row is None or status is None or (row.message_id and row.message_id != update.message_id):
			# Not sent by this app (or by another site on the same number): nothing to update.
			continue
		change = changes.setdefault(row.name, {})
		at = local_time(update.timestamp)

		def put(field, value, row=row, change=change):
			row[field] = change[field] = value

		if advance(row.status, status) != row.status:
			put("status", advance(row.status, status))
			if row.status == "Failed" and row.category == "MARKETING":
				uncounted.add(row.phone or row.user_id)
		if not row.message_id:
			put("message_id", update.message_id)  # reconciled through biz_opaque_callback_data
			by_id[update.message_id] = row
		if not row[TIMESTAMP_FIELD[status]]:
			put(TIMESTAMP_FIELD[status], at)
		if not row.submitted_at:
			put("submitted_at", at)
		if update.recipient_user_id and row.user_id != update.recipient_user_id:
			put("user_id", update.recipient_user_id)
		if update.pricing_category:
			put("pricing_category", update.pricing_category)
			put("billable", int(bool(update.billable)))
		if status == "Failed" and update.errors:
			error = errors.from_webhook_error(update.errors[0])
			put("error_code", error.code)
			put("error_title", error.title)
			put("error_detail", error.details)
			if error.action is errors.Action.OPT_OUT:
				record_opt_out(
					row.phone,
					OptOutSource.META_ERROR,
					at,
					str(error),
					row.name,
					consent_links(_contact_of(row)),
					user_id=row.user_id,
					actor=_("Meta, on the person's behalf"),
				)
		phone = row.phone or phone_of_wa_id(update.recipient_id)
		if phone and update.recipient_user_id:
			identities.add((phone, update.recipient_user_id))
		touched.campaign(row.campaign)
	for name, change in changes.items():
		if change:
			assignments = ", ".join(f"`{field}`=%({field})s" for field in change)
			frappe.db.sql(
				f"update `tabWhatsApp Message` set {assignments} where name=%(name)s",
				{**change, "name": name},
			)
	refresh_frequency_caps([address for address in uncounted if address])
	for phone, user_id in unknown_identities(identities):
		learn_identity(phone, user_id)


def unknown_identities(pairs: set[tuple[str, str]]) -> list[tuple[str, str]]:
	"""The (number, user ID) pairs that change something: a consent record of the number without
	that ID, or a record kept under the ID alone. After a campaign's first statuses none is left,
	and a batch costs two queries instead of two per status."""
	if not pairs:
		return []
	on_record = dict(
		frappe.db.sql(
			"select name, ifnull(user_id, '') from `tabWhatsApp Consent` where name in %s",
			([phone for phone, _ in pairs],),
		)
	)
	orphans = set(
		frappe.db.sql(
			"select name from `tabWhatsApp Consent` where name in %s",
			([user_id for _, user_id in pairs],),
			pluck=True,
		)
	)
	return [
		(phone, user_id)
		for phone, user_id in pairs
		if (phone in on_record and on_record[phone] != user_id) or user_id in orphans
	]


def _lock_messages(updates: list[StatusUpdate]) -> list:
	ids = list({u.message_id for u in updates})
	rows = frappe.db.sql(
		f"select {MESSAGE_FIELDS} from `tabWhatsApp Message` where message_id in %s for update",
		(ids,),
		as_dict=True,
	)
	found = {row.message_id for row in rows}
	callbacks = list({u.callback_data for u in updates if u.callback_data and u.message_id not in found})
	if callbacks:
		rows += frappe.db.sql(
			f"""select {MESSAGE_FIELDS} from `tabWhatsApp Message`
			where name in %s and direction='Outbound' and message_id is null for update""",
			(callbacks,),
			as_dict=True,
		)
	return rows


# -- inbound messages --------------------------------------------------------------------------
def store_inbound(account: str, event: InboundMessage, touched: Touched | None = None):
	if frappe.db.exists("WhatsApp Message", {"message_id": event.message_id}):
		return None  # a redelivery
	phone, user_id = identify(event.wa_id, event.user_id, event.username)
	at = local_time(event.timestamp)
	contact = find_contact(phone or user_id)
	answered = answered_message(phone, user_id, event.context_message_id, at)
	message = frappe.get_doc(
		{
			"doctype": "WhatsApp Message",
			"direction": "Inbound",
			"status": "Received",
			"phone": phone,
			"user_id": user_id,
			"profile_name": event.profile_name or event.username,
			"account": account,
			"message_id": event.message_id,
			"received_at": at,
			"message_type": event.type,
			"body": event.text,
			"button_payload": event.button_payload,
			"reply_to_message_id": event.context_message_id,
			"reply_to": answered.name if answered else None,
			"campaign": answered.campaign if answered else None,
			"contact_doctype": contact[0] if contact else None,
			"contact_name": contact[1] if contact else None,
		}
	)
	try:
		message.insert(ignore_permissions=True)
	except frappe.DuplicateEntryError:
		return None  # the same message delivered twice at once
	if event.referral:
		signals.ad_referral(message, event.referral)  # may make the Lead: before consent links
		contact = contact or (
			(message.contact_doctype, message.contact_name) if message.contact_name else None
		)
	if answered:
		frappe.db.sql(
			"update `tabWhatsApp Message` set replied_at=%s where name=%s and replied_at is null",
			(at, answered.name),
		)
		if touched:
			touched.campaign(answered.campaign)
	settings = get_settings()
	if event.type == "button":
		intent = intent_of_button(event.button_payload, event.button_text, settings.opt_out_buttons)
		source = OptOutSource.OPT_OUT_BUTTON
	else:
		intent = intent_of_text(event.text, settings.stop_words, settings.start_words)
		source = OptOutSource.STOP_KEYWORD
	links = consent_links(contact)
	actor = person_actor(contact, event.profile_name or event.username)
	if intent is Intent.OPT_OUT:
		# The opt-out itself stops the person's sequences; nobody needs to answer a STOP.
		record_opt_out(phone, source, at, event.text, message.name, links, user_id=user_id, actor=actor)
		return message
	if intent is Intent.OPT_IN and settings.start_reply_opts_in:
		record_opt_in(
			phone,
			OptInSource.INBOUND_MESSAGE,
			at,
			event.text,
			message.name,
			links,
			user_id=user_id,
			actor=actor,
		)
	signals.replied(message, answered)  # a person takes over from the automation
	return message


def answered_message(phone: str | None, user_id: str | None, context_id: str | None, at):
	"""The outbound message an inbound one answers: the one it quotes, or the last one sent to
	the person within REPLY_WINDOW_DAYS."""
	if context_id:
		quoted = frappe.db.get_value(
			"WhatsApp Message",
			{"message_id": context_id, "direction": "Outbound"},
			["name", "campaign"],
			as_dict=True,
		)
		if quoted:
			return quoted
	if not (phone or user_id):
		return None
	who = "phone=%(phone)s" if phone else "user_id=%(user_id)s"
	rows = frappe.db.sql(
		f"""select name, campaign from `tabWhatsApp Message`
		where {who} and direction='Outbound' and status in ('Accepted', 'Sent', 'Delivered', 'Read')
			and submitted_at between %(since)s and %(at)s
		order by submitted_at desc limit 1""",
		{"phone": phone, "user_id": user_id, "since": add_to_date(at, days=-REPLY_WINDOW_DAYS), "at": at},
		as_dict=True,
	)
	return rows[0] if rows else None


# -- preferences and identities ----------------------------------------------------------------
def apply_preference(account: str, event: PreferenceUpdate, touched: Touched | None = None) -> None:
	intent = intent_of_preference(event.category, event.value)
	if intent is None:
		return
	phone, user_id = identify(event.wa_id, event.user_id, event.username)
	at = local_time(event.timestamp)
	contact = find_contact(phone or user_id)
	links = consent_links(contact)
	actor = person_actor(contact, event.username)
	if intent is Intent.OPT_OUT:
		record_opt_out(
			phone, OptOutSource.META_PREFERENCE, at, event.detail, links=links, user_id=user_id, actor=actor
		)
	else:
		# The user chose, in WhatsApp itself, to hear from this business again.
		record_opt_in(
			phone, OptInSource.META_PREFERENCE, at, event.detail, links=links, user_id=user_id, actor=actor
		)


def apply_identity_change(account: str, event, touched: Touched | None = None) -> None:
	"""Meta's notices that a user changed their number or their business-scoped user ID."""
	if event.kind == "user_changed_number":
		number_changed(event)
	elif event.kind == "user_changed_user_id":
		user_id_changed(event)


def identify(wa_id: str | None, user_id: str | None, username: str | None = None) -> tuple:
	"""``(phone, user_id)`` of the person behind a webhook: the number when Meta sent it, or the
	number learned earlier for the user ID; the pair is remembered whenever both are known."""
	phone = phone_of_wa_id(wa_id)
	if phone and user_id:
		learn_identity(phone, user_id, username)
	elif user_id:
		phone = phone_of_user_id(user_id)
	return phone, user_id


def _contact_of(row) -> tuple[str, str] | None:
	if row.contact_name and row.contact_doctype in CONSENT_LINK_FIELDS:
		return row.contact_doctype, row.contact_name
	return find_contact(row.phone or row.user_id)


# Handlers by event class name; each takes (account, event, touched).
HANDLERS = {
	"InboundMessage": store_inbound,
	"PreferenceUpdate": apply_preference,
	"IdentityChange": apply_identity_change,
	"TemplateStatusChange": health.template_status_changed,
	"TemplateQualityChange": health.template_quality_changed,
	"TemplateCategoryChange": health.template_category_changed,
	"PhoneQualityChange": health.phone_quality_changed,
	"AccountUpdate": health.account_updated,
}
