"""WhatsApp numbers of Customers, Contacts and Leads, kept in E.164 next to ERPNext's mobile_no.

ERPNext stores mobile numbers as typed ("98765 43210", "+91-98765-43210", ...). Segments select
and de-duplicate recipients in SQL, so each record also carries ``whatsapp_number`` (E.164, or
empty when the number is missing or invalid) and ``whatsapp_region`` (ISO country, for the rate
card). They are set on save, for the Customers whose primary contact changes, and in bulk.
"""

import frappe
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

from marketing_engine.engine.phone import InvalidPhoneNumber, normalize, region_of

PARTY_DOCTYPES = ("Customer", "Contact", "Lead")


def custom_fields() -> dict:
	number_fields = [
		{
			"fieldname": "whatsapp_number",
			"label": "WhatsApp Number (E.164)",
			"fieldtype": "Data",
			"insert_after": "mobile_no",
			"read_only": 1,
			"search_index": 1,
			"no_copy": 1,
			"description": "Mobile No in E.164, set by Marketing Engine; empty when the number is invalid.",
		},
		{
			"fieldname": "whatsapp_region",
			"label": "WhatsApp Country",
			"fieldtype": "Data",
			"insert_after": "whatsapp_number",
			"read_only": 1,
			"hidden": 1,
			"no_copy": 1,
		},
	]
	birthday = {"fieldname": "birthday", "label": "Birthday", "fieldtype": "Date", "no_copy": 1}
	return {
		"Customer": [{**birthday, "insert_after": "customer_type"}, *number_fields],
		"Contact": [{**birthday, "insert_after": "gender"}, *number_fields],
		"Lead": number_fields,
	}


def make_custom_fields():
	create_custom_fields(custom_fields(), ignore_validate=True)


def delete_derived_custom_fields():
	"""On uninstall: the derived number fields go; birthdays are the studio's data and stay."""
	for doctype in PARTY_DOCTYPES:
		for fieldname in ("whatsapp_number", "whatsapp_region"):
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": fieldname})
			if name:
				frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)


def whatsapp_number_of(mobile: str | None, region: str) -> tuple[str | None, str | None]:
	try:
		number = normalize(mobile, region)
	except InvalidPhoneNumber:
		return None, None
	return number, region_of(number)


def set_whatsapp_number(doc, method=None):
	"""doc_events validate of Customer, Contact and Lead."""
	doc.whatsapp_number, doc.whatsapp_region = whatsapp_number_of(doc.get("mobile_no"), _region())


def sync_customers_of_contact(doc, method=None):
	"""doc_events on_update of Contact: ERPNext copies the primary contact's mobile_no onto the
	Customer with db_set, which runs no hooks, so the Customer's number follows here."""
	number, region = whatsapp_number_of(doc.mobile_no, _region())
	customers = frappe.get_all("Customer", filters={"customer_primary_contact": doc.name}, pluck="name")
	for customer in customers:
		frappe.db.set_value(
			"Customer",
			customer,
			{"whatsapp_number": number, "whatsapp_region": region},
			update_modified=False,
		)


def backfill(doctypes: tuple[str, ...] = PARTY_DOCTYPES) -> dict[str, int]:
	"""Recompute every stale ``whatsapp_number`` (bulk; run after install, daily, and by hand)."""
	region = _region()
	changed = {}
	for doctype in doctypes:
		if not frappe.db.has_column(doctype, "whatsapp_number"):
			continue
		table = f"`tab{doctype}`"
		rows = frappe.db.sql(
			f"select name, mobile_no, whatsapp_number, whatsapp_region from {table}", as_dict=True
		)
		updates = []
		for row in rows:
			number, row_region = whatsapp_number_of(row.mobile_no, region)
			if (number, row_region) != (row.whatsapp_number or None, row.whatsapp_region or None):
				updates.append((number, row_region, row.name))
		for start in range(0, len(updates), 5000):
			for number, row_region, name in updates[start : start + 5000]:
				frappe.db.sql(
					f"update {table} set whatsapp_number=%s, whatsapp_region=%s where name=%s",
					(number, row_region, name),
				)
			frappe.db.commit()
		changed[doctype] = len(updates)
	return changed


def _region() -> str:
	from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

	return get_settings().region_code
