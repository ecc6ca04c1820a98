"""What the app does with the events of a verified WhatsApp webhook.

Each handler is idempotent, because Meta delivers at least once and in no particular order:
a status only moves a message forward, an inbound message is stored once (unique Meta id), and a
consent change older than the current opposite one does not overturn it.
"""

import frappe
from frappe.utils import convert_utc_to_system_timezone

from marketing_engine.engine import errors
from marketing_engine.engine.consent import (
	Intent,
	OptInSource,
	OptOutSource,
	intent_of_button,
	intent_of_preference,
	intent_of_text,
)
from marketing_engine.engine.phone import InvalidPhoneNumber, from_wa_id
from marketing_engine.engine.status import TIMESTAMP_FIELD, advance, from_meta
from marketing_engine.engine.webhook import Event, InboundMessage, PreferenceUpdate, StatusUpdate
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings
from marketing_engine.marketing_engine.doctype.whatsapp_consent.whatsapp_consent import (
	record_opt_in,
	record_opt_out,
)

# The record kinds a number can belong to, and their link field on WhatsApp Consent.
CONSENT_LINK_FIELDS = {"Customer": "customer", "Contact": "contact", "Lead": "lead"}


def handle_events(account: str, events: list[Event]) -> None:
	for event in events:
		if isinstance(event, StatusUpdate):
			apply_status(event)
		elif isinstance(event, InboundMessage):
			store_inbound(account, event)
		elif isinstance(event, PreferenceUpdate):
			apply_preference(event)


def apply_status(event: StatusUpdate) -> None:
	status = from_meta(event.status)
	if status is None:
		return
	row = _lock_message(event.message_id, event.callback_data)
	if row is None:
		# Not sent by this app (or by another site on the same number): nothing to update.
		return
	at = _local(event.timestamp)
	changes = {"status": advance(row.status, status)}
	if not row.message_id:
		changes["message_id"] = event.message_id  # reconciled through biz_opaque_callback_data
	field = TIMESTAMP_FIELD[status]
	if not row[field]:
		changes[field] = at
	if event.pricing_category:
		changes["pricing_category"] = event.pricing_category
		changes["billable"] = int(bool(event.billable))
	if status == "Failed" and event.errors:
		error = errors.from_webhook_error(event.errors[0])
		changes.update(error_code=error.code, error_title=error.title, error_detail=error.details)
		if error.action is errors.Action.OPT_OUT:
			contact = (row.contact_doctype, row.contact_name) if row.contact_name else find_contact(row.phone)
			record_opt_out(
				row.phone, OptOutSource.META_ERROR, at, str(error), row.name, consent_links(contact)
			)
	frappe.db.set_value("WhatsApp Message", row.name, changes)


def _lock_message(message_id: str, callback_data: str | None):
	fields = "name, status, message_id, phone, contact_doctype, contact_name, sent_at, delivered_at, read_at, failed_at"
	rows = frappe.db.sql(
		f"select {fields} from `tabWhatsApp Message` where message_id=%s for update", message_id, as_dict=True
	)
	if not rows and callback_data:
		rows = frappe.db.sql(
			f"""select {fields} from `tabWhatsApp Message`
			where name=%s and direction='Outbound' and (message_id is null or message_id=%s) for update""",
			(callback_data, message_id),
			as_dict=True,
		)
	return rows[0] if rows else None


def store_inbound(account: str, event: InboundMessage) -> None:
	if frappe.db.exists("WhatsApp Message", {"message_id": event.message_id}):
		return  # a redelivery
	try:
		phone = from_wa_id(event.wa_id)
	except InvalidPhoneNumber:
		phone = "+" + event.wa_id
	at = _local(event.timestamp)
	contact = find_contact(phone)
	message = frappe.get_doc(
		{
			"doctype": "WhatsApp Message",
			"direction": "Inbound",
			"status": "Received",
			"phone": phone,
			"account": account,
			"message_id": event.message_id,
			"received_at": at,
			"message_type": event.type,
			"body": event.text,
			"button_payload": event.button_payload,
			"reply_to_message_id": event.context_message_id,
			"contact_doctype": contact[0] if contact else None,
			"contact_name": contact[1] if contact else None,
		}
	)
	try:
		message.insert(ignore_permissions=True)
	except frappe.DuplicateEntryError:
		return  # the same message delivered twice at once
	settings = get_settings()
	if event.type == "button":
		intent = intent_of_button(event.button_payload, event.button_text, settings.opt_out_buttons)
		source = OptOutSource.OPT_OUT_BUTTON
	else:
		intent = intent_of_text(event.text, settings.stop_words, settings.start_words)
		source = OptOutSource.STOP_KEYWORD
	links = consent_links(contact)
	if intent is Intent.OPT_OUT:
		record_opt_out(phone, source, at, event.text, message.name, links)
	elif intent is Intent.OPT_IN and settings.start_reply_opts_in:
		record_opt_in(phone, OptInSource.INBOUND_MESSAGE, at, event.text, message.name, links)


def apply_preference(event: PreferenceUpdate) -> None:
	intent = intent_of_preference(event.category, event.value)
	if intent is None:
		return
	phone = from_wa_id(event.wa_id)
	at = _local(event.timestamp)
	links = consent_links(find_contact(phone))
	if intent is Intent.OPT_OUT:
		record_opt_out(phone, OptOutSource.META_PREFERENCE, at, event.detail, links=links)
	else:
		# The user chose, in WhatsApp itself, to hear from this business again.
		record_opt_in(phone, OptInSource.META_PREFERENCE, at, event.detail, links=links)


def find_contact(phone: str) -> tuple[str, str] | None:
	"""The Customer, Contact or Lead a number belongs to, most specific record first."""
	consent = frappe.db.get_value("WhatsApp Consent", phone, list(CONSENT_LINK_FIELDS.values()), as_dict=True)
	for doctype, field in CONSENT_LINK_FIELDS.items():
		if consent and consent[field]:
			return doctype, consent[field]
	for doctype in CONSENT_LINK_FIELDS:
		# whatsapp_number is mobile_no in E.164, kept by marketing_engine.numbers
		name = frappe.db.get_value(doctype, {"whatsapp_number": phone})
		if name:
			return doctype, name
	return None


def consent_links(contact: tuple[str, str] | None) -> dict:
	return {CONSENT_LINK_FIELDS[contact[0]]: contact[1]} if contact else {}


def _local(utc_datetime):
	return convert_utc_to_system_timezone(utc_datetime).replace(tzinfo=None)
