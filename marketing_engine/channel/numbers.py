"""WhatsApp numbers of Customers, Contacts and Leads, kept in E.164 next to ERPNext's mobile_no.

ERPNext stores mobile numbers as typed ("98765 43210", "+91-98765-43210", ...). Segments select
and de-duplicate recipients in SQL, so each record also carries ``whatsapp_number`` (E.164, or
empty when the number is missing or invalid), ``whatsapp_region`` (ISO country, for the rate
card and markets Meta does not deliver marketing to) and ``whatsapp_line_type`` (a landline gets
no marketing). They are set on save, for the Customers whose primary contact changes, and in bulk.
"""

import frappe
from frappe import _
from frappe.custom.doctype.custom_field.custom_field import create_custom_fields

from marketing_engine.engine.phone import InvalidPhoneNumber, line_type, normalize, region_of

PARTY_DOCTYPES = ("Customer", "Contact", "Lead")
DERIVED_FIELDS = ("whatsapp_number", "whatsapp_region", "whatsapp_line_type")


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
		{
			"fieldname": "whatsapp_line_type",
			"label": "WhatsApp Line Type",
			"fieldtype": "Data",
			"insert_after": "whatsapp_region",
			"read_only": 1,
			"hidden": 1,
			"no_copy": 1,
		},
	]
	birthday = {"fieldname": "birthday", "label": "Birthday", "fieldtype": "Date", "no_copy": 1}
	# The booking form's hidden field: which campaign link brought the inquiry (see attribution).
	lead_inquiry = [
		{
			"fieldname": "utm_source",
			"label": "utm_source",
			"fieldtype": "Data",
			"insert_after": "campaign_name",
			"read_only": 1,
			"no_copy": 1,
			"description": "The campaign link this inquiry came from (set by the booking form).",
		},
		{
			"fieldname": "inquiry_details",
			"label": "Inquiry",
			"fieldtype": "Small Text",
			"insert_after": "utm_source",
			"description": "What the person asked for on the booking form.",
		},
	]
	return {
		"Customer": [{**birthday, "insert_after": "customer_type"}, *number_fields],
		"Contact": [{**birthday, "insert_after": "gender"}, *number_fields],
		"Lead": [*number_fields, *lead_inquiry],
	}


def make_custom_fields():
	create_custom_fields(custom_fields(), ignore_validate=True)


def delete_derived_custom_fields():
	"""On uninstall: the derived number fields go; birthdays are the studio's data and stay."""
	for doctype in PARTY_DOCTYPES:
		for fieldname in DERIVED_FIELDS:
			name = frappe.db.get_value("Custom Field", {"dt": doctype, "fieldname": fieldname})
			if name:
				frappe.delete_doc("Custom Field", name, ignore_permissions=True, force=True)


def whatsapp_number_of(mobile: str | None, region: str) -> tuple[str | None, str | None, str | None]:
	"""``(E.164, country, line type)`` of a mobile number, all None when it cannot be messaged."""
	try:
		number = normalize(mobile, region)
	except InvalidPhoneNumber:
		return None, None, None
	return number, region_of(number), line_type(number)


def set_whatsapp_number(doc, method=None):
	"""doc_events validate of Customer, Contact and Lead. A number that cannot be messaged is
	not refused (it is ERPNext's field, used for calls too), but the user is told why WhatsApp
	will not use it when they change it."""
	mobile = doc.get("mobile_no")
	doc.whatsapp_number, doc.whatsapp_region, doc.whatsapp_line_type = whatsapp_number_of(mobile, _region())
	if mobile and not doc.whatsapp_number and doc.has_value_changed("mobile_no"):
		try:
			normalize(mobile, _region())
		except InvalidPhoneNumber as e:
			frappe.msgprint(
				_("WhatsApp will not use the mobile number {0}: {1}").format(mobile, e.reason),
				title=_("Not a WhatsApp number"),
				indicator="orange",
				alert=True,
			)


def sync_customers_of_contact(doc, method=None):
	"""doc_events on_update of Contact: ERPNext copies the primary contact's mobile_no onto the
	Customer with db_set, which runs no hooks, so the Customer's number follows here."""
	number, region, kind = whatsapp_number_of(doc.mobile_no, _region())
	customers = frappe.get_all("Customer", filters={"customer_primary_contact": doc.name}, pluck="name")
	for customer in customers:
		frappe.db.set_value(
			"Customer",
			customer,
			{"whatsapp_number": number, "whatsapp_region": region, "whatsapp_line_type": kind},
			update_modified=False,
		)


def backfill(doctypes: tuple[str, ...] = PARTY_DOCTYPES) -> dict[str, int]:
	"""Recompute every stale derived number field (bulk; run after install, daily, and by hand)."""
	region = _region()
	changed = {}
	for doctype in doctypes:
		if not frappe.db.has_column(doctype, "whatsapp_line_type"):
			continue
		table = f"`tab{doctype}`"
		rows = frappe.db.sql(
			f"select name, mobile_no, {', '.join(DERIVED_FIELDS)} from {table}", as_dict=True
		)
		updates = []
		for row in rows:
			derived = whatsapp_number_of(row.mobile_no, region)
			if derived != tuple(row[field] or None for field in DERIVED_FIELDS):
				updates.append((*derived, row.name))
		for start in range(0, len(updates), 5000):
			for values in updates[start : start + 5000]:
				frappe.db.sql(
					f"update {table} set whatsapp_number=%s, whatsapp_region=%s, whatsapp_line_type=%s where name=%s",
					values,
				)
			frappe.db.commit()
		changed[doctype] = len(updates)
	return changed


def _region() -> str:
	from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

	return get_settings().region_code
