"""Benchmark: engagement segments over the benchmark site's 100,000 customers and the ROI
benchmark's 100,000 campaign messages and 10,000 clicks.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.engagement.run

Run the seed and the ROI benchmark first (README). Each segment's full preview (eligible count,
exclusions by reason, a sample of ten) is timed beside its raw SQL floor in the same run, the two
in turns: one hand-written statement counting the same eligible people (the engagement subquery
joined to the customers and their consent records, with the same exclusions: opted out or no
opt-in, fixed lines, markets Meta does not deliver marketing to, the frequency cap, one per
number). Both must agree on the count, or the run stops. The column statistics are refreshed
first, as the app's daily job (and every migrate) keeps them.
"""

import json

import frappe
from frappe.utils import add_days, now_datetime

from marketing_engine.benchmarks.roi import PREFIX, paired_medians
from marketing_engine.campaigns.audience import (
	NO_MARKETING_REGIONS,
	allow_in_memory_temp_tables,
	build_audience,
	preview,
	refresh_statistics,
)
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

SENT = "('Accepted', 'Sent', 'Delivered', 'Read')"


def segments() -> dict[str, tuple[dict, str]]:
	"""name -> (its one rule, the engagement subquery of the floor: the customers it takes)."""
	latest = frappe.db.get_value(
		"WhatsApp Campaign", {"name": ("like", f"{PREFIX}%")}, "name", order_by="started_at desc"
	)
	if not latest:
		frappe.throw("Run marketing_engine.benchmarks.roi.run first: it seeds the campaigns and messages")
	campaign = frappe.db.escape(latest)
	return {
		f"Did not read {latest}": (
			{"operator": "not read", "engaged_with": "WhatsApp Campaign", "engagement_reference": latest},
			f"""select contact_name from `tabWhatsApp Message` where campaign = {campaign}
			and contact_doctype = 'Customer' and direction = 'Outbound' and status in {SENT}
			group by contact_name having max(status = 'Read') = 0""",
		),
		"Clicked any campaign or sequence": (
			{"operator": "clicked"},
			f"""select distinct m.contact_name from `tabWhatsApp Link Click` k
			join `tabWhatsApp Message` m on m.name = k.message
			where m.contact_doctype = 'Customer' and m.direction = 'Outbound' and m.status in {SENT}
			and (m.campaign is not null or m.drip_sequence is not null)""",
		),
		"Replied to a campaign in the last 365 days": (
			{"operator": "replied", "engaged_with": "WhatsApp Campaign", "within_days": 365},
			f"""select distinct contact_name from `tabWhatsApp Message` where campaign is not null
			and contact_doctype = 'Customer' and direction = 'Outbound' and status in {SENT}
			and replied_at is not null and creation >= %(year_ago)s""",
		),
		"Booked from a campaign": (
			{"operator": "booked", "engaged_with": "WhatsApp Campaign"},
			"""select distinct customer from `tabAttribution` where status = 'Active'
			and campaign is not null""",
		),
	}


def floor_count(engaged: str) -> int:
	cap = get_settings().frequency_cap
	capped = "and not ifnull(wc.marketing_capped_until > %(now)s, 0)" if cap.enabled else ""
	return frappe.db.sql(
		f"""select count(distinct c.whatsapp_number) from `tabCustomer` c
		join `tabWhatsApp Consent` wc on wc.name = c.whatsapp_number
		where c.name in ({engaged}) and c.disabled = 0 and wc.status = 'Opted In'
			and ifnull(c.whatsapp_line_type, '') != 'fixed_line'
			and ifnull(c.whatsapp_region, '') not in %(regions)s {capped}""",
		{"regions": NO_MARKETING_REGIONS, "now": now_datetime(), "year_ago": add_days(now_datetime(), -365)},
	)[0][0]


def run(repeat: int = 5) -> dict:
	refresh_statistics()  # as the daily job leaves a site
	allow_in_memory_temp_tables()
	report = {"customers": frappe.db.count("Customer"), "messages": frappe.db.count("WhatsApp Message")}
	for name, (rule, engaged) in segments().items():
		if frappe.db.exists("Segment", name):
			frappe.delete_doc("Segment", name, force=True)
		frappe.get_doc(
			{
				"doctype": "Segment",
				"segment_name": name,
				"rules": [{"criterion": "Campaign Engagement", **rule}],
			}
		).insert()
		frappe.db.commit()
		audience = build_audience([name])
		shown = preview(audience, sample_size=10)
		counted = floor_count(engaged)
		if shown.eligible != counted:
			frappe.throw(f"{name}: the preview counts {shown.eligible} eligible, the floor {counted}")
		preview_seconds, floor_seconds = paired_medians(
			lambda a=audience: preview(a, sample_size=10), lambda e=engaged: floor_count(e), repeat
		)
		report[name] = {
			"eligible": shown.eligible,
			"in_segment": shown.total,
			"preview_ms": round(preview_seconds * 1000, 1),
			"sql_floor_ms": round(floor_seconds * 1000, 1),
			"preview_over_floor": round(preview_seconds / floor_seconds, 2),
		}
	print(json.dumps(report, indent=1))
	return report
