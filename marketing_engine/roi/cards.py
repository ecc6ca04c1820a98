"""Figures for the Marketing workspace: number cards and the messages-per-day chart."""

import frappe
from frappe.utils import add_days, getdate, nowdate

from marketing_engine.engine.tracking import roi
from marketing_engine.roi.figures import times

SENT = ("Accepted", "Sent", "Delivered", "Read")
# The ROI report's total cost: what Meta billed for campaigns and sequences (not booking
# confirmations or answers), each one's cost in whole paise, as its row in the report shows it.
MARKETING_COST_SQL = """select sum(cost) from (
	select round(sum(cost), 2) cost from `tabWhatsApp Message`
	where billable = 1 and (campaign is not null or drip_sequence is not null)
	group by campaign, drip_sequence) per_origin"""
# And what the studio paid Meta for its Click-to-WhatsApp ads (the report's ad rows).
AD_SPEND_SQL = "select sum(amount) from `tabWhatsApp Ad Spend`"


@frappe.whitelist()
def delivery_rate(filters=None) -> dict:
	"""Share of the messages handed to Meta this month that were delivered."""
	return {"value": _rate(("Delivered", "Read")), "fieldtype": "Percent", "precision": 1}


@frappe.whitelist()
def read_rate(filters=None) -> dict:
	return {"value": _rate(("Read",)), "fieldtype": "Percent", "precision": 1}


def _rate(statuses: tuple[str, ...]) -> float:
	frappe.has_permission("WhatsApp Message", "read", throw=True)
	sent, reached = frappe.db.sql(
		"""select count(*), sum(status in %(reached)s) from `tabWhatsApp Message`
		where direction='Outbound' and status in %(sent)s and creation >= %(since)s""",
		{"reached": statuses, "sent": SENT, "since": getdate(nowdate()).replace(day=1)},
	)[0]
	return round(100 * float(reached or 0) / sent, 1) if sent else 0.0


@frappe.whitelist()
def return_on_spend(filters=None) -> str:
	"""Revenue attributed to WhatsApp over what Meta billed for it and for the ads: "100x", as
	the ROI report writes it. A string, because Desk formats a number card's ``{"value": ...}`` as a number
	(and shows "Loading..." for ever when it is not one)."""
	frappe.has_permission("Attribution", "read", throw=True)
	revenue = frappe.db.sql("select sum(revenue) from `tabAttribution` where status='Active'")[0][0] or 0
	cost = (frappe.db.sql(MARKETING_COST_SQL)[0][0] or 0) + (frappe.db.sql(AD_SPEND_SQL)[0][0] or 0)
	ratio = roi(float(cost), float(revenue))
	return times(ratio) if ratio is not None else "-"


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
	datasets = [
		{"name": status, "values": [counts.get((day, status), 0) for day in days]} for status in statuses
	]
	return {
		"labels": [day.strftime("%d %b") for day in days],  # "26 Nov": thirty of them fit
		# Desk's chart breaks on no dataset at all: a quiet month is a row of zeros.
		"datasets": datasets or [{"name": "Sent", "values": [0 for _day in days]}],
	}
