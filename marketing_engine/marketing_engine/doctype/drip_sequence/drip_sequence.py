# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""A drip sequence: a trigger, optional segments, and steps sent on the one send path.

Shipped sequences come disabled: a studio enables one after picking its templates. Enrolment,
due steps, stops and handover live in the marketing_engine.drips package.
"""

import frappe
from frappe import _
from frappe.model.document import Document

from marketing_engine.engine import drip
from marketing_engine.roi.attribution import ensure_erpnext_campaign, utm_source_for
from marketing_engine.roi.links import TRACKED_LINK, check_tracked_link


class DripSequence(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from marketing_engine.marketing_engine.doctype.drip_step.drip_step import DripStep
		from marketing_engine.marketing_engine.doctype.drip_step_variable.drip_step_variable import (
			DripStepVariable,
		)
		from marketing_engine.marketing_engine.doctype.whatsapp_campaign_segment.whatsapp_campaign_segment import (
			WhatsAppCampaignSegment,
		)

		ad: DF.Link | None
		birthday_of: DF.Literal["Customers", "Contacts", "Customers and Contacts"]
		campaign: DF.Link | None
		condition: DF.Code | None
		date_field: DF.Data | None
		description: DF.SmallText | None
		enabled: DF.Check
		handover_role: DF.Link | None
		handover_to: DF.Literal["Account Manager", "User", "Role (Round Robin)"]
		handover_user: DF.Link | None
		include_opportunities: DF.Check
		last_handover_user: DF.Data | None
		last_swept_until: DF.Datetime | None
		lead_statuses: DF.SmallText | None
		offset_days: DF.Int
		pause_cause: DF.Data | None
		person_field: DF.Data | None
		reference_doctype: DF.Link | None
		run_problem: DF.SmallText | None
		segments: DF.Table[WhatsAppCampaignSegment]
		sequence_name: DF.Data
		stalled_days: DF.Int
		status: DF.Literal["Active", "Paused"]
		status_reason: DF.SmallText | None
		steps: DF.Table[DripStep]
		trigger: DF.Literal["Project Completed", "Birthday", "Inquiry Stalled", "Date Field", "Ad Referral"]
		utm_source: DF.Data | None
		variables: DF.Table[DripStepVariable]

	# end: auto-generated types
	def validate(self):
		if self.steps:
			self.steps[0].wait_after = "Trigger"  # the first step has nothing else to wait after
		problems = []
		for row in self.steps:
			if row.send_at:
				try:
					row.send_at = drip.parse_time_of_day(row.send_at).strftime("%H:%M")
				except ValueError as e:
					problems.append(_("Step {0}: {1}").format(row.idx, e))
		if not problems:
			from marketing_engine.drips.enrolment import to_step

			problems = drip.validate_steps([to_step(row) for row in self.steps])
		if self.enabled:
			problems += self.enabling_problems()
		from marketing_engine.drips.enrolment import condition_problem

		condition = condition_problem(self)
		if condition:
			problems.append(condition)
		if problems:
			frappe.throw("<br>".join(problems), title=_("The sequence cannot be saved this way"))
		self.fill_variable_rows()
		for row in self.variables:
			if row.value_type == TRACKED_LINK:
				check_tracked_link(row.value, _("Step {0}, variable {1}").format(row.step, row.variable))
		if self.has_value_changed("trigger") and not self.is_new():
			self.last_swept_until = None
		if not self.utm_source:
			self.utm_source = utm_source_for(self.sequence_name, self.doctype, self.name)

	def after_insert(self):
		self.db_set(
			"campaign",
			ensure_erpnext_campaign(
				self.sequence_name,
				_("WhatsApp drip sequence {0} (utm_source={1})").format(self.name, self.utm_source),
			),
		)

	def enabling_problems(self) -> list[str]:
		problems = []
		if not self.steps:
			problems.append(_("Add at least one step"))
		for row in self.steps:
			if not row.template:
				problems.append(_("Step {0}: pick an approved template before enabling").format(row.idx))
				continue
			status = frappe.db.get_value("WhatsApp Template", row.template, "status")
			if status != "APPROVED":
				problems.append(
					_("Step {0}: template {1} is {2}").format(row.idx, row.template, (status or "").lower())
				)
		if self.trigger == "Date Field" and not (self.reference_doctype and self.date_field):
			problems.append(_("A date trigger needs its document type and date field"))
		return problems

	def fill_variable_rows(self):
		"""One mapping row per variable of each step's template; a guess from the name to start."""
		mapped = {(row.step, row.variable) for row in self.variables}
		steps = {row.idx for row in self.steps}
		self.variables = [row for row in self.variables if row.step in steps]
		for row in self.steps:
			if not row.template:
				continue
			spec = frappe.get_cached_doc("WhatsApp Template", row.template).to_spec()
			for variable in spec.all_variables:
				if (row.idx, variable) in mapped:
					continue
				guess = {"name": "first_name", "1": "first_name", "city": "city"}.get(variable.lower(), "")
				self.append(
					"variables",
					{"step": row.idx, "variable": variable, "value_type": "Document Field", "value": guess},
				)

	@frappe.whitelist()
	def get_funnel(self) -> dict:
		"""Enrolled, sent per step, delivered, read, replied, stopped by reason, booked."""
		self.check_permission("read")
		by_status = dict(
			frappe.db.sql(
				"select status, count(*) from `tabDrip Enrollment` where sequence=%s group by status",
				self.name,
			)
		)
		stopped = dict(
			frappe.db.sql(
				"""select stop_reason, count(*) from `tabDrip Enrollment` where sequence=%s and status='Stopped'
				group by stop_reason""",
				self.name,
			)
		)
		steps = []
		for step, status, replied, n in frappe.db.sql(
			"""select drip_step, status, replied_at is not null, count(*) from `tabWhatsApp Message`
			where drip_sequence=%s group by drip_step, status, replied_at is not null""",
			self.name,
		):
			while len(steps) < step:
				steps.append(dict.fromkeys(("sent", "delivered", "read", "replied", "failed", "skipped"), 0))
			counts = steps[step - 1]
			if status in ("Accepted", "Sent", "Delivered", "Read"):
				counts["sent"] += n
			if status in ("Delivered", "Read"):
				counts["delivered"] += n
			if status == "Read":
				counts["read"] += n
			counts["failed"] += n if status == "Failed" else 0
			counts["skipped"] += n if status == "Skipped" else 0
			counts["replied"] += n if replied else 0
		return {
			"enrolled": sum(by_status.values()),
			"active": by_status.get("Active", 0),
			"completed": by_status.get("Completed", 0),
			"stopped": stopped,
			"steps": steps,
			"booked": stopped.get("Booked", 0),
			"step_templates": [row.template for row in self.steps],
		}

	@frappe.whitelist(methods=["POST"])
	def pause(self) -> None:
		self.check_permission("write")
		from marketing_engine.drips.sending import pause_sequence

		pause_sequence(self.name, _("by {0}").format(frappe.session.user))

	@frappe.whitelist(methods=["POST"])
	def resume(self) -> None:
		self.check_permission("write")
		problems = self.enabling_problems()
		if problems:
			frappe.throw("<br>".join(problems), title=_("The sequence cannot resume"))
		from marketing_engine.drips.sending import resume_sequence

		resume_sequence(self.name)


SHIPPED = (
	{
		"sequence_name": "Review Request after Project Completion",
		"trigger": "Project Completed",
		"description": "Two days after a project is completed, ask the client for a review.",
		"steps": [{"wait": 2, "wait_unit": "Days", "wait_after": "Trigger", "send_at": "11:00"}],
	},
	{
		"sequence_name": "Birthday Voucher",
		"trigger": "Birthday",
		"birthday_of": "Customers",
		"description": "On the client's birthday, at 10:00, a voucher.",
		"steps": [{"wait": 0, "wait_unit": "Days", "wait_after": "Trigger", "send_at": "10:00"}],
	},
	{
		"sequence_name": "Portfolio for a Stalled Inquiry",
		"trigger": "Inquiry Stalled",
		"lead_statuses": "Lead\nOpen\nReplied",
		"stalled_days": 3,
		"include_opportunities": 1,
		"description": "An inquiry with no progress for three days gets the portfolio highlights.",
		"steps": [{"wait": 0, "wait_unit": "Days", "wait_after": "Trigger", "skip_if_booked": 1}],
	},
	{
		"sequence_name": "Welcome for an Ad Lead",
		"trigger": "Ad Referral",
		"description": (
			"Someone who writes from a Click-to-WhatsApp ad gets a welcome at once and the "
			"portfolio the next day, unless they answer or book first."
		),
		"steps": [
			{"wait": 0, "wait_unit": "Minutes", "wait_after": "Trigger"},
			{
				"wait": 1,
				"wait_unit": "Days",
				"wait_after": "Trigger",
				"send_at": "11:00",
				"skip_if_booked": 1,
			},
		],
	},
)


def ship_sequences() -> None:
	"""The seed's sequences, disabled until the studio picks their templates."""
	for values in SHIPPED:
		if not frappe.db.exists("Drip Sequence", values["sequence_name"]):
			frappe.get_doc({"doctype": "Drip Sequence", "enabled": 0, **values}).insert(
				ignore_permissions=True
			)
	for name in frappe.get_all("Drip Sequence", filters={"campaign": ("is", "not set")}, pluck="name"):
		sequence = frappe.get_doc("Drip Sequence", name)
		if not sequence.utm_source:
			sequence.db_set("utm_source", utm_source_for(name, sequence.doctype, name))
		sequence.after_insert()  # made before sequences had their ERPNext Campaign
