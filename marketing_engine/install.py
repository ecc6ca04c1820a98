import frappe

from marketing_engine.campaigns.audience import refresh_statistics
from marketing_engine.channel.numbers import backfill, delete_derived_custom_fields, make_custom_fields
from marketing_engine.marketing_engine.doctype.drip_sequence.drip_sequence import ship_sequences
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import (
	DEFAULT_QUIET_HOURS,
)
from marketing_engine.marketing_engine.doctype.whatsapp_rate_card.whatsapp_rate_card import (
	ship_published_rate_card,
)
from marketing_engine.roi.attribution import AD_SOURCE, SOURCE

ROLES = ("Marketing Manager", "Marketing User")


def before_install():
	# The DocTypes' permissions name these roles, so they must exist before the DocTypes sync.
	ensure_roles()


def after_install():
	ensure_roles()
	ensure_lead_source()
	set_default_settings()
	make_custom_fields()
	add_indexes()
	drop_unneeded_indexes()
	ship_published_rate_card()
	ship_sequences()
	backfill()


def after_migrate():
	ensure_roles()
	ensure_lead_source()
	make_custom_fields()
	add_indexes()
	drop_unneeded_indexes()
	ship_published_rate_card()
	ship_sequences()
	refresh_statistics()


def before_uninstall():
	delete_derived_custom_fields()
	drop_indexes()


def ensure_roles():
	for role in ROLES:
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(
				ignore_permissions=True
			)


def ensure_lead_source():
	"""ERPNext's Lead Sources that campaign bookings and Click-to-WhatsApp ad leads carry."""
	for source in (SOURCE, AD_SOURCE):
		if not frappe.db.exists("Lead Source", source):
			frappe.get_doc({"doctype": "Lead Source", "source_name": source}).insert(ignore_permissions=True)


def set_default_settings():
	settings = frappe.get_single("Marketing Settings")
	if not settings.default_country and frappe.db.exists("Country", "India"):
		settings.default_country = "India"
	# Written out, not left to the Time fields' defaults: Frappe fills an empty Time field of a
	# new Single with the current time, which made quiet hours start and end at the install time.
	settings.quiet_hours_enabled = 1
	settings.quiet_hours_start, settings.quiet_hours_end = DEFAULT_QUIET_HOURS
	settings.flags.ignore_mandatory = True
	settings.save(ignore_permissions=True)


# Covering indexes for segment rules and campaign sends. Measured over 100,000 customers (see the
# README's benchmarks): with them the seed's segments evaluate in well under a second.
INDEXES = {
	"Sales Invoice": {"me_customer_spend": ["customer", "docstatus", "is_return", "base_grand_total"]},
	"Sales Order": {
		"me_customer_booking": ["customer", "docstatus", "transaction_date"],
		"me_name_customer": ["name", "customer"],
	},
	"Sales Order Item": {"me_item_group_booking": ["item_group", "docstatus", "transaction_date", "parent"]},
	"Address": {"me_state": ["state"]},  # ERPNext indexes city already
	# A lead's customer (a drip step checks whether the person booked): ERPNext has no index.
	"Customer": {"me_lead": ["lead_name"]},
	"Dynamic Link": {"me_link": ["link_doctype", "link_name", "parenttype"]},
	"WhatsApp Message": {
		"me_campaign_status": ["campaign", "status", "next_attempt_at"],
		# Replies find the last message sent to the person.
		"me_phone_submitted": ["phone", "submitted_at"],
		# A sequence's funnel and return read its own messages only.
		"me_drip_sequence": ["drip_sequence", "creation"],
	},
	"WhatsApp Consent Log": {"me_consent": ["consent"]},
	# The scheduler's minute reads the due conversions only.
	"WhatsApp Conversion": {"me_due": ["status", "next_attempt_at"]},
	"WhatsApp Consent": {"me_customer": ["customer"]},
	# Due steps: the scheduler's pass reads only what is due.
	"Drip Enrollment": {
		"me_due": ["status", "next_run_at"],
		"me_person": ["contact_doctype", "contact_name", "status"],
	},
}
# One message per enrollment and step, whatever races (NULLs, the campaigns' rows, repeat freely).
UNIQUE_INDEXES = {"WhatsApp Message": {"me_drip_step": ["drip_enrollment", "drip_step"]}}
# Single-column indexes the message table does without. Every row of a campaign's snapshot pays
# for each index the table keeps, so each was weighed against the queries that read the table
# (their plans are checked in tests/test_indexes.py): phone, campaign and drip_enrollment begin
# the composite indexes above, which serve the same lookups; nothing reads reference_name or sorts
# messages by modified (the list sorts by creation). Frappe drops the first four itself on migrate
# once search_index is off; Frappe's own `modified` index is made with every table.
UNNEEDED_INDEXES = {
	"WhatsApp Message": ("phone", "campaign", "drip_enrollment", "reference_name", "modified")
}
# Indexes the app made once and no query reads any more: me_recent_marketing served the frequency
# cap's count in audiences, which now read each person's marketing_capped_until instead.
RETIRED_INDEXES = {"WhatsApp Message": ("me_recent_marketing",)}


def add_indexes():
	for doctype, indexes in INDEXES.items():
		for name, columns in indexes.items():
			frappe.db.add_index(doctype, columns, name)
	for doctype, indexes in UNIQUE_INDEXES.items():
		for name, columns in indexes.items():
			if not frappe.db.has_index(f"tab{doctype}", name):
				frappe.db.add_unique(doctype, columns, name)


def drop_unneeded_indexes():
	for doctype, columns in UNNEEDED_INDEXES.items():
		for column in columns:
			index = frappe.db.get_column_index(f"tab{doctype}", column, unique=False)
			if index:
				frappe.db.sql_ddl(f"alter table `tab{doctype}` drop index `{index.Key_name}`")
	for doctype, names in RETIRED_INDEXES.items():
		for name in names:
			if frappe.db.has_index(f"tab{doctype}", name):
				frappe.db.sql_ddl(f"alter table `tab{doctype}` drop index `{name}`")


def drop_indexes():
	"""The indexes on ERPNext's tables go with the app (the app's own tables go anyway)."""
	app_doctypes = set(frappe.get_all("DocType", filters={"module": "Marketing Engine"}, pluck="name"))
	for doctype, indexes in INDEXES.items():
		if doctype in app_doctypes:
			continue
		for name in indexes:
			if frappe.db.has_index(f"tab{doctype}", name):
				frappe.db.sql_ddl(f"alter table `tab{doctype}` drop index `{name}`")
