"""What each recipient of a campaign reads: the template's variable values from the campaign's
mapping (a field of the customer or CSV member, a fixed text, or a tracked link written for the
message), and the header media."""

import frappe

from marketing_engine.channel.media import media_header as header_of
from marketing_engine.channel.people import first_name
from marketing_engine.roi.links import TRACKED_LINK, tracked_link_values

RECIPIENT_FIELDS = (
	"customer_name",
	"first_name",
	"last_booking_date",
	"city",
	"lifetime_spend",
	"phone",
	"campaign",
)


def recipient_values(campaign, rows: list[dict], preview: bool = False) -> dict[str, dict[str, str]]:
	"""The template's variable values for each row, from the campaign's variable mapping. Tracked
	links are written for the rows (not for a ``preview``)."""
	fields = {row.value for row in campaign.variables if row.value_type == "Document Field" and row.value}
	customers = [r["contact_name"] for r in rows if r["contact_doctype"] == "Customer"]
	members = [r["contact_name"] for r in rows if r["contact_doctype"] == "Segment Member"]
	facts = recipient_facts(customers, members, fields)
	spec = frappe.get_cached_doc("WhatsApp Template", campaign.template).to_spec()
	links = tracked_link_values(
		rows,
		campaign.variables,
		{button.url_variable for _, button in spec.url_buttons},
		{
			"campaign": campaign.name,
			"utm_source": campaign.utm_source,
			"utm_campaign": campaign.campaign_name,
		},
		preview=preview,
	)
	values = {}
	for row in rows:
		known = facts.get((row["contact_doctype"], row["contact_name"]), {})
		context = {"phone": row["phone"] or "", "campaign": campaign.utm_source, **known}
		values[row["name"]] = {
			v.variable: (v.value or "") if v.value_type == "Fixed Text" else context.get(v.value) or ""
			for v in campaign.variables
			if v.value_type != TRACKED_LINK
		} | links.get(row["name"], {})
	return values


def recipient_facts(customers: list[str], members: list[str], fields: set[str]) -> dict:
	"""Per-recipient fields for the batch, with one query per kind of fact actually mapped."""
	facts: dict = {}

	def put(doctype, name, **values):
		facts.setdefault((doctype, name), {}).update({k: v for k, v in values.items() if v not in (None, "")})

	if customers:
		for c in frappe.db.sql(
			"""select c.name, c.customer_name, a.city from `tabCustomer` c
			left join `tabAddress` a on a.name = c.customer_primary_address where c.name in %s""",
			(customers,),
			as_dict=True,
		):
			put("Customer", c.name, **person(c.customer_name, c.city))
		if "last_booking_date" in fields:
			for name, last in frappe.db.sql(
				"""select customer, max(transaction_date) from `tabSales Order`
				where customer in %s and docstatus=1 group by customer""",
				(customers,),
			):
				put("Customer", name, last_booking_date=frappe.format_value(last, {"fieldtype": "Date"}))
		if "lifetime_spend" in fields:
			for name, spend in frappe.db.sql(
				"""select customer, sum(base_grand_total) from `tabSales Invoice`
				where customer in %s and docstatus=1 and is_return=0 group by customer""",
				(customers,),
			):
				put("Customer", name, lifetime_spend=frappe.format_value(spend, {"fieldtype": "Currency"}))
	if members:
		for m in frappe.db.sql(
			"select name, member_name, city from `tabSegment Member` where name in %s",
			(members,),
			as_dict=True,
		):
			put("Segment Member", m.name, **person(m.member_name, m.city))
	return facts


def person(full_name: str | None, city: str | None) -> dict:
	return {"customer_name": full_name, "first_name": first_name(full_name), "city": city}


def media_header(campaign, account, spec):
	"""The campaign's header media; an attachment is uploaded to Meta once for the campaign."""

	def remember(media_id: str) -> None:
		campaign.header_media_id = media_id
		frappe.db.set_value("WhatsApp Campaign", campaign.name, "header_media_id", media_id)
		frappe.db.commit()

	return header_of(
		spec,
		account,
		url=campaign.header_url,
		attachment=campaign.header_attachment,
		media_id=campaign.header_media_id,
		remember=remember,
	)
