"""Enrolling a customer in a drip sequence by hand, and taking them out, from the Customer form."""

import frappe
from frappe import _
from frappe.utils import now_datetime

from marketing_engine.drips.enrolment import active_enrollments, enrol, stop


@frappe.whitelist()
def enrollments_of(customer: str) -> list[dict]:
	frappe.has_permission("Customer", "read", customer, throw=True)
	return frappe.get_all(
		"Drip Enrollment",
		filters={"contact_doctype": "Customer", "contact_name": customer},
		fields=["name", "sequence", "status", "stop_reason", "next_run_at", "next_step"],
		order_by="creation desc",
		limit=20,
	)


@frappe.whitelist(methods=["POST"])
def enroll(customer: str, sequence: str) -> str:
	"""Start ``sequence`` for the customer now; its first step waits as the sequence says."""
	frappe.has_permission("Customer", "read", customer, throw=True)
	frappe.has_permission("Drip Enrollment", "write", throw=True)
	if not frappe.db.get_value("Drip Sequence", sequence, "enabled"):
		frappe.throw(_("Enable the sequence {0} first").format(sequence))
	if frappe.db.exists(
		"Drip Enrollment",
		{"sequence": sequence, "contact_doctype": "Customer", "contact_name": customer, "status": "Active"},
	):
		frappe.throw(_("{0} is already in {1}").format(customer, sequence))
	now = now_datetime()
	name = enrol(
		sequence,
		"Customer",
		customer,
		"Customer",
		customer,
		trigger_at=now,
		key=f"manual|{customer}|{now.isoformat()}",
	)
	if not name:
		frappe.throw(_("{0} has no WhatsApp number to send the sequence to").format(customer))
	return name


@frappe.whitelist(methods=["POST"])
def unenroll(customer: str, sequence: str | None = None) -> int:
	"""Stop the customer's active sequences (or only ``sequence``)."""
	frappe.has_permission("Customer", "read", customer, throw=True)
	frappe.has_permission("Drip Enrollment", "write", throw=True)
	names = active_enrollments(person=("Customer", customer))
	if sequence:
		names = [n for n in names if frappe.db.get_value("Drip Enrollment", n, "sequence") == sequence]
	for name in names:
		stop(name, "Manual", _("Stopped by {0}").format(frappe.utils.get_fullname()))
	return len(names)
