"""What Desk shows around the app's records: the Marketing workspace's onboarding checklist, which
ticks itself when the studio does each thing (from the checklist, a form, the sandbox command),
and the WhatsApp records under Connections on the Customer and Contact forms.

Ground floor: it imports nothing of the app, so every layer may tick the checklist.
"""

import frappe
from frappe import _

CONNECT = "Connect your WhatsApp numbers"
HEALTH = "Check health"
TEMPLATES = "Sync templates"
SEGMENT = "Make your first segment"
CAMPAIGN = "Send your first campaign"
SEQUENCE = "Start your first drip sequence"


def done(step: str) -> None:
	if frappe.db.get_value("Onboarding Step", step, "is_complete") == 0:
		frappe.db.set_value("Onboarding Step", step, "is_complete", 1, update_modified=False)


def account_added(doc, method=None) -> None:
	done(CONNECT)


def segment_added(doc, method=None) -> None:
	done(SEGMENT)


def sequence_saved(doc, method=None) -> None:
	if doc.enabled:
		done(SEQUENCE)


# -- Connections on Customer and Contact: their WhatsApp consent records, messages, enrollments
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
