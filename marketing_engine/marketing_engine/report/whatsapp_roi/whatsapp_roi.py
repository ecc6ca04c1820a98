# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""What each WhatsApp campaign, drip sequence and Click-to-WhatsApp ad cost and brought in, from
marketing_engine.roi.figures (the figures the campaign and sequence forms show too)."""

import frappe
from frappe import _
from frappe.utils import flt, fmt_money

from marketing_engine.engine.tracking import roi as return_on
from marketing_engine.roi.figures import figures, times

CURRENCY = "INR"  # rate cards convert to rupees, and the studios book in rupees


def execute(filters=None):
	rows = figures(filters)
	for row in rows:
		row["currency"] = CURRENCY
	return columns(), rows, None, chart(rows), summary(rows)


def columns() -> list[dict]:
	def money(fieldname, label, width=120):
		return {
			"fieldname": fieldname,
			"label": label,
			"fieldtype": "Currency",
			"options": "currency",
			"width": width,
		}

	def count(fieldname, label, width=90):
		return {"fieldname": fieldname, "label": label, "fieldtype": "Int", "width": width}

	return [
		{
			"fieldname": "reference_doctype",
			"label": _("Document Type"),
			"fieldtype": "Link",
			"options": "DocType",
			"hidden": 1,
		},
		{
			"fieldname": "name",
			"label": _("Campaign / Sequence / Ad"),
			"fieldtype": "Dynamic Link",
			"options": "reference_doctype",
			"width": 220,
		},
		{"fieldname": "kind", "label": _("Kind"), "fieldtype": "Data", "width": 110},
		{
			"fieldname": "erpnext_campaign",
			"label": _("ERPNext Campaign"),
			"fieldtype": "Link",
			"options": "Campaign",
			"width": 160,
		},
		count("audience", _("Audience")),
		count("leads", _("Leads")),
		count("sent", _("Sent")),
		count("delivered", _("Delivered")),
		count("read", _("Read")),
		count("clicked", _("Clicked")),
		count("replied", _("Replied")),
		count("bookings", _("Bookings")),
		money("revenue", _("Revenue")),
		money("cost", _("Cost")),
		money("estimated_cost", _("Estimated Cost")),
		# A ratio, shown as "12.5x" by the report's formatter.
		{"fieldname": "roi", "label": _("ROI"), "fieldtype": "Float", "precision": 1, "width": 80},
		money("revenue_per_recipient", _("Revenue per Recipient"), 150),
		count("messaged_people", _("Messaged Customers"), 140),
		count("holdout_people", _("Holdout Customers"), 140),
		money("messaged_revenue_per_person", _("Revenue per Messaged Customer"), 180),
		money("holdout_revenue_per_person", _("Revenue per Holdout Customer"), 180),
		money("incremental_revenue", _("Incremental Revenue"), 150),
		{
			"fieldname": "incremental_roi",
			"label": _("Incremental ROI"),
			"fieldtype": "Float",
			"precision": 1,
			"width": 120,
		},
	]


def chart(rows: list[dict]) -> dict | None:
	if not rows:
		return None
	return {
		"type": "bar",
		"fieldtype": "Currency",
		"options": CURRENCY,
		"data": {
			"labels": [row["title"] for row in rows],
			"datasets": [
				{"name": _("Cost"), "values": [row["cost"] for row in rows]},
				{"name": _("Revenue"), "values": [row["revenue"] for row in rows]},
			],
		},
	}


def summary(rows: list[dict]) -> list[dict]:
	"""Cost → Revenue = ROI, and the bookings: one figure per card, because Desk cuts a long value
	short ("Cost ₹500 → Revenue ₹50,0...")."""
	cost = flt(sum(row["cost"] for row in rows), 2)
	revenue = flt(sum(row["revenue"] for row in rows), 2)
	ratio = return_on(cost, revenue)
	return [
		{"label": _("Cost"), "value": rupees(cost), "datatype": "Data", "indicator": "Blue"},
		{"type": "separator", "value": "→"},
		{"label": _("Revenue"), "value": rupees(revenue), "datatype": "Data", "indicator": "Blue"},
		{"type": "separator", "value": "="},
		{
			"label": _("ROI"),
			"value": times(ratio) if ratio is not None else "-",
			"datatype": "Data",
			"indicator": "Blue" if ratio is None else ("Green" if ratio >= 1 else "Red"),
		},
		{
			"label": _("Bookings"),
			"value": sum(row["bookings"] for row in rows),
			"datatype": "Int",
			"indicator": "Blue",
		},
	]


def rupees(amount: float) -> str:
	"""₹50,000 (whole rupees without decimals), in the site's number format."""
	precision = 0 if flt(amount, 2) == int(amount) else 2
	return "₹" + fmt_money(amount, precision=precision)
