"""Connections on Customer and Contact: their WhatsApp consent records and messages."""

from frappe import _


def customer(data: dict) -> dict:
	return _add_whatsapp(data, "Customer", "customer")


def contact(data: dict) -> dict:
	return _add_whatsapp(data, "Contact", "contact")


def _add_whatsapp(data: dict, doctype: str, consent_field: str) -> dict:
	data = dict(data or {})
	# A doctype without a dashboard of its own (Contact) starts without a link field.
	data.setdefault("fieldname", consent_field)
	data.setdefault("transactions", [])
	data.setdefault("non_standard_fieldnames", {})
	data.setdefault("dynamic_links", {})
	if data["fieldname"] != consent_field:
		data["non_standard_fieldnames"]["WhatsApp Consent"] = consent_field
	data["non_standard_fieldnames"]["WhatsApp Message"] = "contact_name"
	data["non_standard_fieldnames"]["Drip Enrollment"] = "contact_name"
	data["dynamic_links"]["contact_name"] = [doctype, "contact_doctype"]
	data["transactions"].append(
		{"label": _("WhatsApp"), "items": ["WhatsApp Consent", "WhatsApp Message", "Drip Enrollment"]}
	)
	return data
