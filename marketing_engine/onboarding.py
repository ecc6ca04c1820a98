"""The Marketing workspace's onboarding checklist ticks itself when the studio does each thing,
however it was done (from the checklist, a form, the sandbox command)."""

import frappe

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
