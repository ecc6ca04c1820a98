"""Figures for the Marketing workspace: number cards and the messages-per-day chart."""

import frappe
from frappe.utils import add_days, getdate, nowdate

from marketing_engine.engine.tracking import roi

SENT = ("Accepted", "Sent", "Delivered", "Read")


@frappe.whitelist()
def delivery_rate(filters=None) -> dict:
	"""Share of the messages handed to Meta this month that were delivered."""
	return {"value": _rate(("Delivered", "Read")), "fieldtype": "Percent"}


@frappe.whitelist()
def read_rate(filters=None) -> dict:
	return {"value": _rate(("Read",)), "fieldtype": "Percent"}


def _rate(statuses: tuple[str, ...]) -> float:
	frappe.has_permission("WhatsApp Message", "read", throw=True)
	sent, reached = frappe.db.sql(
		"""select count(*), sum(status in %(reached)s) from `tabWhatsApp Message`
		where direction='Outbound' and status in %(sent)s and creation >= %(since)s""",
		{"reached": statuses, "sent": SENT, "since": getdate(nowdate()).replace(day=1)},
	)[0]
	return round(100 * float(reached or 0) / sent, 1) if sent else 0.0


@frappe.whitelist()
def return_on_spend(filters=None) -> dict:
	"""Revenue attributed to WhatsApp over what Meta billed for it: "100x"."""
	frappe.has_permission("Attribution", "read", throw=True)
	revenue = frappe.db.sql("select sum(revenue) from `tabAttribution` where status='Active'")[0][0] or 0
	cost = frappe.db.sql("select sum(cost) from `tabWhatsApp Message` where billable=1")[0][0] or 0
	ratio = roi(float(cost), float(revenue))
	return {"value": f"{ratio:,.0f}x" if ratio is not None else "-", "fieldtype": "Data"}


@frappe.whitelist()
@frappe.read_only()
def messages_by_status(
	chart_name=None, chart=None, no_cache=None, filters=None, from_date=None, to_date=None,
	timespan=None, time_interval=None, heatmap_year=None,
) -> dict:  # fmt: skip
	"""Dashboard Chart Source: outbound messages per day over the last 30 days, by status."""
	frappe.has_permission("WhatsApp Message", "read", throw=True)
	end = getdate(to_date or nowdate())
	start = getdate(from_date) if from_date else add_days(end, -29)
	rows = frappe.db.sql(
		"""select date(creation), status, count(*) from `tabWhatsApp Message`
		where direction='Outbound' and creation >= %s and creation < %s and status not in ('Pending', 'Queued')
		group by date(creation), status""",
		(start, add_days(end, 1)),
	)
	days = [add_days(start, n) for n in range((end - start).days + 1)]
	counts = {(day, status): n for day, status, n in rows}
	statuses = [
		s
		for s in ("Read", "Delivered", "Sent", "Accepted", "Failed", "Skipped")
		if any(k[1] == s for k in counts)
	]
	return {
		"labels": [frappe.format_value(day, {"fieldtype": "Date"}) for day in days],
		"datasets": [
			{"name": status, "values": [counts.get((day, status), 0) for day in days]} for status in statuses
		],
	}
