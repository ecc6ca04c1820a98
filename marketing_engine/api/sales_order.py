"""The "Send WhatsApp" action of a submitted Sales Order: a booking confirmation."""

import frappe
from frappe import _

from marketing_engine.channel.messaging import send_template
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings


@frappe.whitelist(methods=["POST"])
def send_booking_confirmation(sales_order: str) -> dict:
	order = frappe.get_doc("Sales Order", sales_order)
	# It messages the customer on the studio's behalf: for those who may change the order, not
	# for everyone who may read it.
	order.check_permission("write")
	if order.docstatus != 1:
		frappe.throw(_("Submit the Sales Order before confirming the booking on WhatsApp"))
	settings = get_settings()
	if not settings.booking_confirmation_template:
		frappe.throw(
			_("Choose the booking confirmation template in Marketing Settings first"),
			title=_("No booking confirmation template"),
		)
	number = recipient_number(order)
	if not number:
		frappe.throw(
			_("Customer {0} has no mobile number: add one to the customer or the order's contact").format(
				order.customer_name
			)
		)
	message = send_template(
		settings.booking_confirmation_template,
		number,
		variable_values(order, settings.booking_confirmation_variables),
		contact=("Customer", order.customer),
		reference=("Sales Order", order.name),
	)
	return {
		"message": message.name,
		"status": message.status,
		"error": message.error_title and f"({message.error_code or '-'}) {message.error_title}",
	}


def recipient_number(order) -> str | None:
	"""The order's contact mobile, else the customer's primary mobile."""
	return (
		order.get("contact_mobile")
		or frappe.db.get_value("Customer", order.customer, "mobile_no")
		or order.get("contact_phone")
	)


def variable_values(doc, mapping) -> dict[str, str]:
	"""Template variable values from ``mapping`` rows (Document Field or Fixed Text), with
	fields formatted as the user sees them (dates, currency)."""
	values = {}
	for row in mapping:
		if row.value_type == "Fixed Text":
			values[row.variable] = row.value or ""
			continue
		if not row.value:
			continue
		df = doc.meta.get_field(row.value)
		value = doc.get(row.value)
		values[row.variable] = frappe.format_value(value, df, doc) if df else (value or "")
	return values
