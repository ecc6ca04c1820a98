"""Marketing consent per WhatsApp number, as a service: record a decision, read the state, read the
history. Everything that changes consent comes through here: a staff member on a form, the
webhook path (STOP words, Meta's opt-out button, the person's preference in WhatsApp, a number
change) and the send path (Meta's error 131050).

The current state lives on WhatsApp Consent (one per E.164 number, or per business-scoped user ID
while the number is unknown); every change is also written to WhatsApp Consent Log, which is
never edited, so the history of who agreed or refused, when and through what, survives any
later change. An opt-out is told to the features above at once (``signals.opted_out``).
"""

from datetime import datetime
from typing import TYPE_CHECKING

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

from marketing_engine.channel import signals
from marketing_engine.engine.consent import ConsentState, OptInSource, OptOutSource
from marketing_engine.engine.identity import is_bsuid
from marketing_engine.engine.phone import InvalidPhoneNumber
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import normalize_phone

if TYPE_CHECKING:
	from marketing_engine.marketing_engine.doctype.whatsapp_consent.whatsapp_consent import WhatsAppConsent

HISTORY_SHOWN = 5


def staff_actor() -> str:
	return frappe.utils.get_fullname(frappe.session.user)


def get_consent(address: str) -> "WhatsAppConsent | None":
	"""The consent record of a number (any format) or of a business-scoped user ID."""
	name = address if is_bsuid(address) else normalize_phone(address)
	if frappe.db.exists("WhatsApp Consent", name):
		return frappe.get_doc("WhatsApp Consent", name)
	if is_bsuid(address):
		# A record kept under the number once the number was learned.
		name = frappe.db.get_value("WhatsApp Consent", {"user_id": address})
		return frappe.get_doc("WhatsApp Consent", name) if name else None
	return None


def consent_state(address: str) -> ConsentState:
	consent = get_consent(address)
	return consent.to_state() if consent else ConsentState()


def history(consent: str, limit: int = HISTORY_SHOWN) -> list[dict]:
	"""The latest decisions on a consent record, newest first, as the forms show them."""
	return frappe.get_all(
		"WhatsApp Consent Log",
		filters={"consent": consent},
		fields=["event", "source", "at", "actor", "detail"],
		order_by="at desc, creation desc",
		limit=limit,
	)


def record_opt_in(
	phone: str | None,
	source: OptInSource,
	at: datetime | None = None,
	detail: str | None = None,
	message: str | None = None,
	links: dict | None = None,
	*,
	user_id: str | None = None,
	actor: str | None = None,
) -> "WhatsAppConsent":
	consent = get_or_create(phone, links, user_id)
	apply_decision(consent, "Opt-in", source.value, at or now_datetime(), detail, message, actor)
	return consent


def record_opt_out(
	phone: str | None,
	source: OptOutSource,
	at: datetime | None = None,
	detail: str | None = None,
	message: str | None = None,
	links: dict | None = None,
	*,
	user_id: str | None = None,
	actor: str | None = None,
) -> "WhatsAppConsent":
	consent = get_or_create(phone, links, user_id)
	apply_decision(consent, "Opt-out", source.value, at or now_datetime(), detail, message, actor)
	return consent


def get_or_create(
	phone: str | None, links: dict | None = None, user_id: str | None = None
) -> "WhatsAppConsent":
	"""The consent record of ``phone`` (or, without one, of ``user_id``), linked to the Customer,
	Contact or Lead in ``links`` (``{"customer": ...}``) where it has no such link yet."""
	consent = get_consent(phone or user_id)
	if consent is None:
		consent = frappe.get_doc(
			{"doctype": "WhatsApp Consent", "phone": phone, "user_id": user_id, **(links or {})}
		)
		try:
			consent.insert(ignore_permissions=True)
		except frappe.DuplicateEntryError:
			# Two webhooks for a new number at once: the other one created it.
			consent = get_consent(phone or user_id)
	elif links:
		for field, value in links.items():
			if value and not consent.get(field):
				consent.set(field, value)
	if user_id and consent.user_id != user_id and not is_bsuid(consent.name):
		consent.user_id = user_id
	return consent


def apply_decision(
	consent: "WhatsAppConsent",
	event: str,
	source: str,
	at: datetime,
	detail: str | None,
	message: str | None = None,
	actor: str | None = None,
) -> None:
	"""Record ``event`` at ``at``. An event older than the current opposite one (webhooks arrive
	out of order) is logged but does not overturn the newer decision.

	``actor`` says who decided, in words the studio reads: a staff member's name, or the person
	themselves ("Priya Shah, on WhatsApp") for what arrives from Meta."""
	at = get_datetime(at)
	_take_decision(consent, event, at, source, detail, actor)
	consent.save(ignore_permissions=True)
	if consent.status == "Opted Out":
		signals.opted_out(consent)  # every opt-out path stops the person's sequences at once
	frappe.get_doc(
		{
			"doctype": "WhatsApp Consent Log",
			"consent": consent.name,
			"event": event,
			"source": source,
			"at": at,
			"detail": detail,
			"message": message,
			"actor": actor,
		}
	).insert(ignore_permissions=True)


DECISION_FIELDS = {
	"Opt-in": ("opted_in_at", "opt_in_source", "opt_in_detail", "opt_in_actor"),
	"Opt-out": ("opted_out_at", "opt_out_source", "opt_out_detail", "opt_out_actor"),
}


def _take_decision(consent, event: str, at, source: str, detail: str | None, actor: str | None) -> None:
	"""Make ``event`` the current decision of its kind unless a newer one is already there."""
	at_field, *other_fields = DECISION_FIELDS[event]
	if not consent.get(at_field) or get_datetime(at) >= get_datetime(consent.get(at_field)):
		consent.set(at_field, at)
		for field, value in zip(other_fields, (source, detail, actor), strict=True):
			consent.set(field, value)


def learn_identity(phone: str, user_id: str, username: str | None = None) -> None:
	"""Meta told us that ``user_id`` (a business-scoped user ID) belongs to ``phone``.

	The number's consent record keeps the ID. A record kept under the ID alone (the person wrote
	as a username user before the number was known) merges into the number's: its decisions are
	replayed there, newest winning, its history moves, and it goes."""
	by_id = frappe.db.get_value("WhatsApp Consent", user_id, ["name", "phone"], as_dict=True)
	current = frappe.db.get_value("WhatsApp Consent", phone, ["user_id", "username"], as_dict=True)
	if current and current.user_id == user_id and not by_id and (not username or current.username):
		return
	if not current and not by_id:
		return  # nothing to attach it to yet; the next consent event creates the record with both
	consent = get_or_create(phone, user_id=user_id)
	if username and not consent.username:
		consent.username = username
	if by_id:
		orphan = frappe.get_doc("WhatsApp Consent", user_id)
		for field in ("customer", "contact", "lead"):
			if orphan.get(field) and not consent.get(field):
				consent.set(field, orphan.get(field))
		consent.username = consent.username or orphan.username
		for event, fields in DECISION_FIELDS.items():
			if orphan.get(fields[0]):
				_take_decision(consent, event, *(orphan.get(f) for f in fields))
		frappe.db.sql(
			"update `tabWhatsApp Consent Log` set consent=%s where consent=%s", (consent.name, user_id)
		)
		frappe.delete_doc("WhatsApp Consent", user_id, ignore_permissions=True, force=True)
	consent.save(ignore_permissions=True)


def phone_of_user_id(user_id: str) -> str | None:
	"""The number a business-scoped user ID belongs to, when Meta ever sent both together."""
	return frappe.db.get_value("WhatsApp Consent", {"user_id": user_id, "phone": ("is", "set")}, "phone")


def validate_phone(phone: str) -> str:
	try:
		return normalize_phone(phone)
	except InvalidPhoneNumber as e:
		frappe.throw(_("Invalid phone number {0}: {1}").format(phone, e.reason))
