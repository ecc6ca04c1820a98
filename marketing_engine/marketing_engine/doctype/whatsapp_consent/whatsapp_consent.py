# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""Marketing consent per WhatsApp number.

The current state lives on WhatsApp Consent (one per E.164 number); every change is also written
to WhatsApp Consent Log, which is never edited, so the history of who agreed or refused, when and
through what, survives any later change.
"""

from datetime import datetime

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime, now_datetime

from marketing_engine.engine.consent import ConsentState, OptInSource, OptOutSource
from marketing_engine.engine.identity import is_bsuid
from marketing_engine.engine.phone import InvalidPhoneNumber
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import normalize_phone


class WhatsAppConsent(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		contact: DF.Link | None
		customer: DF.Link | None
		lead: DF.Link | None
		marketing_opt_in: DF.Check
		opt_in_actor: DF.Data | None
		opt_in_detail: DF.SmallText | None
		opt_in_source: DF.Literal[
			"", "Form", "CSV", "Inbound Message", "Manual", "Meta Preference", "Number Changed"
		]
		opt_out_actor: DF.Data | None
		opt_out_detail: DF.SmallText | None
		opt_out_source: DF.Literal[
			"",
			"STOP Keyword",
			"Opt-out Button",
			"Meta Preference",
			"Meta Error 131050",
			"Manual",
			"Number Changed",
		]
		opted_in_at: DF.Datetime | None
		opted_out_at: DF.Datetime | None
		phone: DF.Data | None
		status: DF.Literal["No Consent", "Opted In", "Opted Out"]
		user_id: DF.Data | None
		username: DF.Data | None

	# end: auto-generated types
	def autoname(self):
		# One record per person: named by the number, or by Meta's business-scoped user ID for a
		# WhatsApp user known only by their username (no number shared).
		self.name = self.phone or self.user_id

	def before_insert(self):
		if self.phone:
			self.phone = validate_phone(self.phone)
		elif not self.user_id:
			frappe.throw(_("A consent record needs a phone number or a WhatsApp user ID"))
		if self.user_id and not is_bsuid(self.user_id):
			frappe.throw(_("{0} is not a WhatsApp business-scoped user ID").format(self.user_id))

	def validate(self):
		if not self.is_new() and self.has_value_changed("phone") and self.get_doc_before_save().phone:
			frappe.throw(_("The number of a consent record cannot change; create a new record instead"))
		self.set_status()

	def set_status(self):
		state = self.to_state()
		self.marketing_opt_in = int(state.may_receive_marketing)
		self.status = (
			"Opted In" if state.may_receive_marketing else "Opted Out" if state.opted_out else "No Consent"
		)

	def to_state(self) -> ConsentState:
		opted_in_at = get_datetime(self.opted_in_at) if self.opted_in_at else None
		return ConsentState(
			opted_in=opted_in_at is not None,
			opted_in_at=opted_in_at,
			opted_out_at=get_datetime(self.opted_out_at) if self.opted_out_at else None,
		)

	@frappe.whitelist()
	def record_opt_in(self, source: str = OptInSource.MANUAL.value, detail: str | None = None) -> None:
		self.check_permission("write")
		_apply(self, "Opt-in", OptInSource(source).value, now_datetime(), detail, actor=staff_actor())

	@frappe.whitelist()
	def record_opt_out(self, detail: str | None = None) -> None:
		self.check_permission("write")
		_apply(self, "Opt-out", OptOutSource.MANUAL.value, now_datetime(), detail, actor=staff_actor())


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
	_apply(consent, "Opt-in", source.value, at or now_datetime(), detail, message, actor)
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
	_apply(consent, "Opt-out", source.value, at or now_datetime(), detail, message, actor)
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


def _apply(
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
		from marketing_engine.drips import on_opt_out

		on_opt_out(consent)  # every opt-out path stops the person's sequences at once
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
