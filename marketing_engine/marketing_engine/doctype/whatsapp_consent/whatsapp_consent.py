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
		opt_in_source: DF.Literal["", "Form", "CSV", "Inbound Message", "Manual", "Meta Preference"]
		opt_out_detail: DF.SmallText | None
		opt_out_source: DF.Literal[
			"", "STOP Keyword", "Opt-out Button", "Meta Preference", "Meta Error 131050", "Manual"
		]
		opted_in_at: DF.Datetime | None
		opted_out_at: DF.Datetime | None
		phone: DF.Data
		status: DF.Literal["No Consent", "Opted In", "Opted Out"]

	# end: auto-generated types
	def before_insert(self):
		self.phone = validate_phone(self.phone)

	def validate(self):
		if not self.is_new() and self.has_value_changed("phone"):
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
		_apply(
			self,
			"Opt-in",
			OptInSource(source).value,
			now_datetime(),
			detail or _("Recorded by {0}").format(frappe.session.user),
		)

	@frappe.whitelist()
	def record_opt_out(self, detail: str | None = None) -> None:
		self.check_permission("write")
		_apply(
			self,
			"Opt-out",
			OptOutSource.MANUAL.value,
			now_datetime(),
			detail or _("Recorded by {0}").format(frappe.session.user),
		)


def get_consent(phone: str) -> "WhatsAppConsent | None":
	name = normalize_phone(phone)
	return frappe.get_doc("WhatsApp Consent", name) if frappe.db.exists("WhatsApp Consent", name) else None


def consent_state(phone: str) -> ConsentState:
	consent = get_consent(phone)
	return consent.to_state() if consent else ConsentState()


def record_opt_in(
	phone: str,
	source: OptInSource,
	at: datetime | None = None,
	detail: str | None = None,
	message: str | None = None,
	links: dict | None = None,
) -> "WhatsAppConsent":
	consent = _get_or_create(phone, links)
	_apply(consent, "Opt-in", source.value, at or now_datetime(), detail, message)
	return consent


def record_opt_out(
	phone: str,
	source: OptOutSource,
	at: datetime | None = None,
	detail: str | None = None,
	message: str | None = None,
	links: dict | None = None,
) -> "WhatsAppConsent":
	consent = _get_or_create(phone, links)
	_apply(consent, "Opt-out", source.value, at or now_datetime(), detail, message)
	return consent


def _get_or_create(phone: str, links: dict | None = None) -> "WhatsAppConsent":
	"""The consent record of ``phone``, linked to the Customer, Contact or Lead in ``links``
	(``{"customer": ...}``) where it has no such link yet."""
	consent = get_consent(phone)
	if consent is None:
		consent = frappe.get_doc({"doctype": "WhatsApp Consent", "phone": phone, **(links or {})})
		try:
			consent.insert(ignore_permissions=True)
		except frappe.DuplicateEntryError:
			# Two webhooks for a new number at once: the other one created it.
			consent = get_consent(phone)
	elif links:
		for field, value in links.items():
			if value and not consent.get(field):
				consent.set(field, value)
	return consent


def _apply(
	consent: "WhatsAppConsent",
	event: str,
	source: str,
	at: datetime,
	detail: str | None,
	message: str | None = None,
) -> None:
	"""Record ``event`` at ``at``. An event older than the current opposite one (webhooks arrive
	out of order) is logged but does not overturn the newer decision."""
	at = get_datetime(at)
	if event == "Opt-in":
		if not consent.opted_in_at or at >= get_datetime(consent.opted_in_at):
			consent.opted_in_at, consent.opt_in_source = at, source
	else:
		if not consent.opted_out_at or at >= get_datetime(consent.opted_out_at):
			consent.opted_out_at, consent.opt_out_source, consent.opt_out_detail = at, source, detail
	consent.save(ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "WhatsApp Consent Log",
			"consent": consent.name,
			"event": event,
			"source": source,
			"at": at,
			"detail": detail,
			"message": message,
		}
	).insert(ignore_permissions=True)


def validate_phone(phone: str) -> str:
	try:
		return normalize_phone(phone)
	except InvalidPhoneNumber as e:
		frappe.throw(_("Invalid phone number {0}: {1}").format(phone, e.reason))
