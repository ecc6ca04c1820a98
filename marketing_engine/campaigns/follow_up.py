"""Follow up a completed campaign: a draft campaign to those who did not read (or did not click)
its message, with another template, some hours after it went out.

The follow-up's audience is a dynamic Segment with one Campaign Engagement rule on the first
campaign, so it is evaluated when the follow-up is estimated and sent, not when it is made:
someone who reads in the meantime drops out, someone who opted out is not messaged, and the
frequency cap counts the first campaign's message like any other (a studio with a cap of one
marketing message a week sees its follow-ups wait or skip, as it asked).
"""

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime, now_datetime

FOLLOW_UP_AUDIENCES = {"Did not read": "not read", "Did not click": "not clicked"}


def make_follow_up(campaign, audience: str, after_hours: int, template: str) -> str:
	"""The draft follow-up of ``campaign`` (a WhatsApp Campaign document); returns its name."""
	if campaign.status != "Completed":
		frappe.throw(
			_("Only a completed campaign can be followed up; this one is {0}").format(campaign.status)
		)
	operator = FOLLOW_UP_AUDIENCES.get(audience)
	if not operator:
		frappe.throw(_("Follow up those who {0}, not {1}").format(" or ".join(FOLLOW_UP_AUDIENCES), audience))
	if after_hours is None or int(after_hours) < 0 or int(after_hours) > 24 * 30:
		frappe.throw(_("Wait between 0 and 720 hours (30 days) before the follow-up"))
	if not template or template == campaign.template:
		frappe.throw(
			_("Choose another template: the same message again is what they did not {0}").format(
				"read" if operator == "not read" else "click"
			)
		)
	label = _("{0}: {1}").format(campaign.campaign_name, _(audience).lower())
	segment = frappe.get_doc(
		{
			"doctype": "Segment",
			"segment_name": unique_name("Segment", "segment_name", label),
			"segment_type": "Dynamic",
			"description": _("Customers who received {0} and {1} it (made by its Follow Up)").format(
				campaign.name, _(audience).lower()
			),
			"rules": [
				{
					"criterion": "Campaign Engagement",
					"operator": operator,
					"engaged_with": "WhatsApp Campaign",
					"engagement_reference": campaign.name,
				}
			],
		}
	).insert()
	sent_at = get_datetime(campaign.completed_at or campaign.started_at or now_datetime())
	follow_up = frappe.get_doc(
		{
			"doctype": "WhatsApp Campaign",
			"campaign_name": unique_name(
				"WhatsApp Campaign", "campaign_name", _("{0} (follow-up)").format(campaign.campaign_name)
			),
			"follow_up_of": campaign.name,
			"account": campaign.account,
			"template": template,
			"segments": [{"segment": segment.name}]
			+ [{"segment": row.segment, "exclude": 1} for row in campaign.segments if row.exclude],
			"send_mode": "Schedule",
			"scheduled_at": max(add_to_date(sent_at, hours=int(after_hours)), now_datetime()),
			"holdout_percent": 0,
		}
	)
	follow_up.insert()
	return follow_up.name


def unique_name(doctype: str, field: str, title: str) -> str:
	"""``title``, or ``title 2``, ``title 3``... when a record has it already (a second follow-up)."""
	name, n = title[:140], 1
	while frappe.db.exists(doctype, {field: name}):
		n += 1
		name = f"{title[:130]} {n}"
	return name
