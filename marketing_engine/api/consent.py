"""WhatsApp consent on the Customer and Contact forms: the status, and recording a decision."""

import frappe
from frappe import _

from marketing_engine.channel.consent import get_or_create, history
from marketing_engine.channel.people import CONSENT_LINK_FIELDS
from marketing_engine.engine.consent import OptInSource
from marketing_engine.engine.phone import InvalidPhoneNumber
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import normalize_phone

FORMS = ("Customer", "Contact")


@frappe.whitelist()
def status_of(doctype: str, name: str) -> dict:
	"""The record's WhatsApp number, its consent and the latest decisions, as the form shows them."""
	_check_form(doctype, name, "read")
	mobile, number, problem = _number_of(doctype, name)
	consent = _consent_of(doctype, name, number)
	return {
		"mobile": mobile,
		"number": number,
		"problem": problem,
		"can_record": frappe.has_permission("WhatsApp Consent", "create"),
		"consent": consent.as_dict(no_default_fields=True) | {"name": consent.name} if consent else None,
		"history": history(consent.name) if consent else [],
	}


@frappe.whitelist(methods=["POST"])
def record(doctype: str, name: str, event: str, source: str = "Manual", detail: str | None = None) -> dict:
	"""Record an opt-in or opt-out for the record's number, creating its consent record linked to
	the record when there is none."""
	_check_form(doctype, name, "read")
	frappe.has_permission("WhatsApp Consent", "create", throw=True)
	if event not in ("Opt-in", "Opt-out"):
		frappe.throw(_("Choose Opt-in or Opt-out"))
	_mobile, number, problem = _number_of(doctype, name)
	existing = _consent_of(doctype, name, number)
	if not number and not existing:
		frappe.throw(problem or _("{0} has no mobile number to record consent for").format(name))
	consent = existing or get_or_create(number, {CONSENT_LINK_FIELDS[doctype]: name})
	link = CONSENT_LINK_FIELDS[doctype]
	if not consent.get(link):
		consent.set(link, name)
	if event == "Opt-in":
		consent.record_opt_in(OptInSource(source).value, detail)
	else:
		consent.record_opt_out(detail)
	return status_of(doctype, name)


def _check_form(doctype: str, name: str, permission: str) -> None:
	if doctype not in FORMS:
		frappe.throw(_("WhatsApp consent is shown on {0} only").format(", ".join(FORMS)))
	frappe.has_permission(doctype, permission, name, throw=True)


def _number_of(doctype: str, name: str) -> tuple[str | None, str | None, str | None]:
	"""``(mobile as typed, E.164, why it cannot be used)``."""
	mobile = frappe.db.get_value(doctype, name, "mobile_no")
	if not mobile:
		return None, None, _("No mobile number")
	try:
		return mobile, normalize_phone(mobile), None
	except InvalidPhoneNumber as e:
		return (
			mobile,
			None,
			_("The mobile number {0} cannot be used on WhatsApp: {1}").format(mobile, e.reason),
		)


def _consent_of(doctype: str, name: str, number: str | None):
	"""The consent record of the record's current number, else one linked to the record."""
	if number and frappe.db.exists("WhatsApp Consent", number):
		return frappe.get_doc("WhatsApp Consent", number)
	linked = frappe.db.get_value(
		"WhatsApp Consent", {CONSENT_LINK_FIELDS[doctype]: name}, "name", order_by="modified desc"
	)
	return frappe.get_doc("WhatsApp Consent", linked) if linked else None
