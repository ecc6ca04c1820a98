"""The sandbox Business account the benchmarks send through (the Graph API simulator's)."""

import time

import frappe

from marketing_engine.channel.frequency_cap import keep_caps_current
from marketing_engine.engine.simulator import SANDBOX_BUSINESS, sandbox_templates
from marketing_engine.marketing_engine.doctype.whatsapp_template.whatsapp_template import upsert_template

ACCOUNT = "BENCH Business"
EVERYONE = "Everyone (benchmark)"


def ensure_channel(base_url: str, rate: int = 80, frequency_cap_messages: int = 0) -> str:
	values = {
		"purpose": "Business",
		"enabled": 1,
		"phone_number_id": SANDBOX_BUSINESS.phone_number_id,
		"waba_id": SANDBOX_BUSINESS.waba_id,
		"access_token": SANDBOX_BUSINESS.access_token,
		"app_secret": SANDBOX_BUSINESS.app_secret,
		"base_url": base_url,
		"messages_per_second": rate,
	}
	account = (
		frappe.get_doc("WhatsApp Account", ACCOUNT)
		if frappe.db.exists("WhatsApp Account", ACCOUNT)
		else frappe.new_doc("WhatsApp Account")
	)
	account.update({"account_name": ACCOUNT, **values})
	account.save(ignore_permissions=True)
	# The simulator's templates, as a sync would store them (no network needed for that).
	for spec in sandbox_templates():
		upsert_template(ACCOUNT, spec)
	frappe.db.set_value("WhatsApp Account", ACCOUNT, {"health_status": "AVAILABLE", "can_send": 1})
	settings = frappe.get_single("Marketing Settings")
	settings.default_business_account = ACCOUNT
	settings.quiet_hours_enabled = 0
	# Run after run the benchmarks message the same customers: the cap would skip them (a cap
	# high enough to skip nobody still does all the cap's work).
	settings.frequency_cap_messages = frequency_cap_messages
	settings.flags.ignore_mandatory = True
	settings.save(ignore_permissions=True)
	frappe.db.commit()
	return ACCOUNT


def ensure_everyone_segment() -> str:
	"""A segment of every customer of the seed."""
	if not frappe.db.exists("Segment", EVERYONE):
		frappe.get_doc(
			{
				"doctype": "Segment",
				"segment_name": EVERYONE,
				"rules": [{"criterion": "Customer Since", "operator": "after", "value": "1990-01-01"}],
			}
		).insert()
	return EVERYONE


def fresh_campaign(name: str, segment: str, **values):
	"""A new campaign with the review_request template, replacing an earlier run's."""
	if frappe.db.exists("WhatsApp Campaign", name):
		frappe.db.delete("WhatsApp Message", {"campaign": name})
		frappe.delete_doc("WhatsApp Campaign", name, force=True)
	template = frappe.db.get_value(
		"WhatsApp Template", {"template_name": "review_request", "account": ACCOUNT}
	)
	campaign = frappe.get_doc(
		{
			"doctype": "WhatsApp Campaign",
			"campaign_name": name,
			"segments": [{"segment": segment}],
			"template": template,
			**values,
		}
	).insert()
	frappe.db.commit()
	return campaign


# The frequency cap a studio gets out of the box: 2 marketing messages in 7 days.
DEFAULT_CAP = (2, 7)


def set_frequency_cap(messages: int, days: int) -> float:
	"""Set the cap and bring every consent record's cap up to date; returns the seconds that took."""
	frappe.db.set_single_value(
		"Marketing Settings", {"frequency_cap_messages": messages, "frequency_cap_days": days}
	)
	frappe.clear_document_cache("Marketing Settings", "Marketing Settings")
	started = time.perf_counter()
	keep_caps_current()
	frappe.db.commit()
	return time.perf_counter() - started
