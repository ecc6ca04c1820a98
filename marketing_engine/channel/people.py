"""Who is behind a WhatsApp number: the Customer, Contact or Lead it belongs to, their name as the
studio writes it, and the person at the studio who looks after them.

People are found by their number in E.164 (kept on Customer, Contact and Lead as
``whatsapp_number`` by :mod:`marketing_engine.channel.numbers`), or, for a WhatsApp user who shares
only a username, by Meta's business-scoped user ID on their consent record.
"""

import frappe
from frappe import _
from frappe.utils import convert_utc_to_system_timezone

from marketing_engine.engine.phone import InvalidPhoneNumber, from_wa_id

# The record kinds a number can belong to, and their link field on WhatsApp Consent.
CONSENT_LINK_FIELDS = {"Customer": "customer", "Contact": "contact", "Lead": "lead"}
NAME_FIELDS = {
	"Customer": "customer_name",
	"Contact": "full_name",
	"Lead": "lead_name",
	"Segment Member": "member_name",
}


def find_contact(address: str | None) -> tuple[str, str] | None:
	"""The Customer, Contact or Lead a number (or user ID) belongs to, most specific record first."""
	if not address:
		return None
	consent = frappe.db.get_value(
		"WhatsApp Consent", address, list(CONSENT_LINK_FIELDS.values()), as_dict=True
	) or frappe.db.get_value(
		"WhatsApp Consent", {"user_id": address}, list(CONSENT_LINK_FIELDS.values()), as_dict=True
	)
	for doctype, field in CONSENT_LINK_FIELDS.items():
		if consent and consent[field]:
			return doctype, consent[field]
	if not address.startswith("+"):
		return None
	for doctype in CONSENT_LINK_FIELDS:
		name = frappe.db.get_value(doctype, {"whatsapp_number": address})
		if name:
			return doctype, name
	return None


def consent_links(contact: tuple[str, str] | None) -> dict:
	"""The link a consent record keeps to ``contact`` (``{"customer": ...}``)."""
	return {CONSENT_LINK_FIELDS[contact[0]]: contact[1]} if contact else {}


def display_name(doctype: str, name: str) -> str:
	return frappe.db.get_value(doctype, name, NAME_FIELDS[doctype]) or name


def display_names(people: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
	"""display_name of each (doctype, name), one query per doctype rather than one per person."""
	names: dict[tuple[str, str], str] = {}
	for doctype in {doctype for doctype, _name in people}:
		wanted = [name for kind, name in people if kind == doctype]
		field = NAME_FIELDS[doctype]
		found = dict(
			frappe.get_all(doctype, filters={"name": ("in", wanted)}, fields=["name", field], as_list=True)
		)
		names.update({(doctype, name): found.get(name) or name for name in wanted})
	return names


def first_name(full_name: str | None) -> str:
	return (full_name or "").split(" ")[0] if full_name else ""


def person_actor(contact: tuple[str, str] | None, profile_name: str | None) -> str:
	"""Who decided, for an event that came from the person on WhatsApp: their record's name."""
	name = display_name(*contact) if contact else profile_name
	return _("{0}, on WhatsApp").format(name) if name else _("The person, on WhatsApp")


def customer_of(contact_doctype: str, contact_name: str) -> str | None:
	"""The Customer a Customer, Lead or Contact record is (or belongs to)."""
	if contact_doctype == "Customer":
		return contact_name
	if contact_doctype == "Lead":
		return frappe.db.get_value("Customer", {"lead_name": contact_name})
	if contact_doctype == "Contact":
		return frappe.db.get_value(
			"Dynamic Link",
			{"parenttype": "Contact", "parent": contact_name, "link_doctype": "Customer"},
			"link_name",
		)
	return None


def account_manager(person: tuple | None) -> str | None:
	"""The customer's account manager, or the lead's owner."""
	if not person:
		return None
	if person[0] == "Lead":
		owner = frappe.db.get_value("Lead", person[1], "lead_owner")
		return owner if owner != "Guest" else None  # a web form's lead, from before the app fixed it
	customer = customer_of(*person)
	return frappe.db.get_value("Customer", customer, "account_manager") if customer else None


def phone_of_wa_id(wa_id: str | None) -> str | None:
	"""The E.164 number of a WhatsApp ID as Meta sends it (digits without the +)."""
	if not wa_id:
		return None
	try:
		return from_wa_id(wa_id)
	except InvalidPhoneNumber:
		return "+" + wa_id.lstrip("+")


def local_time(utc_datetime):
	"""A webhook's UTC timestamp as the site's wall clock, as every Datetime field keeps it."""
	return convert_utc_to_system_timezone(utc_datetime).replace(tzinfo=None)
