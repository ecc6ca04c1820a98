# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""A WhatsApp broadcast to one or more segments through the studio's Business account.

It is a DocType of its own rather than an extension of ERPNext's Campaign: ERPNext's Campaign is
the attribution key that Lead, Opportunity, Quotation, Sales Order and Sales Invoice link to (and
its Campaign Efficiency report reads), while a broadcast carries an audience, a template, a
schedule and delivery state. Each WhatsApp Campaign creates its ERPNext Campaign and links it, so
bookings from its links are attributed through ERPNext's own fields.
"""

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import add_to_date, cint, flt, get_datetime, now_datetime

from marketing_engine import desk
from marketing_engine.campaigns import ab_testing, dispatch, follow_up
from marketing_engine.campaigns.audience import REASONS, build_audience, eligible_by_region, preview
from marketing_engine.campaigns.recipients import RECIPIENT_FIELDS, recipient_values
from marketing_engine.channel.sending import PACE
from marketing_engine.engine import routing
from marketing_engine.engine.routing import next_quiet_start, quiet_hours_end
from marketing_engine.engine.segment_rules import RuleError
from marketing_engine.engine.templates import TemplateVariableError, check_values, render
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings
from marketing_engine.marketing_engine.doctype.whatsapp_account.whatsapp_account import get_account
from marketing_engine.marketing_engine.doctype.whatsapp_rate_card.whatsapp_rate_card import (
	rate_card_of_account,
)
from marketing_engine.roi.attribution import ensure_erpnext_campaign, utm_source_for
from marketing_engine.roi.links import TRACKED_LINK, check_tracked_link

SENDER_ROLES = ("Marketing Manager", "System Manager")
EDITABLE_STATUSES = ("Draft", "Scheduled")
LOCKED_FIELDS = ("segments", "template", "variables", "header_attachment", "header_url", "account")


class WhatsAppCampaign(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from marketing_engine.marketing_engine.doctype.whatsapp_campaign_segment.whatsapp_campaign_segment import (
			WhatsAppCampaignSegment,
		)
		from marketing_engine.marketing_engine.doctype.whatsapp_campaign_variant.whatsapp_campaign_variant import (
			WhatsAppCampaignVariant,
		)
		from marketing_engine.marketing_engine.doctype.whatsapp_template_variable.whatsapp_template_variable import (
			WhatsAppTemplateVariable,
		)

		ab_parent: DF.Link | None
		ab_stage: DF.Literal["", "Testing", "Winner Picked"]
		ab_test: DF.Check
		ab_variant: DF.Data | None
		account: DF.Link | None
		actual_cost: DF.Currency
		campaign: DF.Link | None
		campaign_name: DF.Data
		completed_at: DF.Datetime | None
		delivered_count: DF.Int
		estimated_cost: DF.Currency
		estimated_recipients: DF.Int
		excluded_summary: DF.SmallText | None
		failed_count: DF.Int
		follow_up_of: DF.Link | None
		header_attachment: DF.Attach | None
		header_media_id: DF.Data | None
		header_url: DF.Data | None
		holdout_percent: DF.Percent
		parallel_jobs: DF.Int
		pause_cause: DF.Data | None
		rate_card: DF.Link | None
		read_count: DF.Int
		replied_count: DF.Int
		require_significance: DF.Check
		run_problem: DF.SmallText | None
		scheduled_at: DF.Datetime | None
		segments: DF.Table[WhatsAppCampaignSegment]
		send_mode: DF.Literal["Send Now", "Schedule"]
		sent_count: DF.Int
		skipped_count: DF.Int
		started_at: DF.Datetime | None
		status: DF.Literal["Draft", "Scheduled", "Sending", "Paused", "Completed", "Cancelled", "Failed"]
		status_reason: DF.SmallText | None
		template: DF.Link
		test_hours: DF.Int
		test_share: DF.Percent
		total_recipients: DF.Int
		utm_source: DF.Data | None
		variables: DF.Table[WhatsAppTemplateVariable]
		variants: DF.Table[WhatsAppCampaignVariant]
		waiting_until: DF.Datetime | None
		winner: DF.Data | None
		winner_choice: DF.Literal["Automatic", "I Pick"]
		winner_metric: DF.Literal["Read", "Click", "Reply", "Booking"]
		winner_reason: DF.SmallText | None

	# end: auto-generated types
	def validate(self):
		if not self.account:
			self.account = get_settings().default_business_account
		if not self.utm_source:
			self.utm_source = utm_source_for(self.campaign_name, self.doctype, self.name)
		if not 0 <= flt(self.holdout_percent) <= 50:
			frappe.throw(_("Hold back between 0 and 50% of the audience"))
		if not self.is_new() and self.status not in EDITABLE_STATUSES and not self.flags.ab_winner:
			changed = [f for f in LOCKED_FIELDS if self.has_value_changed(f)]
			if changed:
				frappe.throw(_("A campaign that has started cannot change its audience or message"))
		if not any(not row.exclude for row in self.segments):
			frappe.throw(_("Include at least one segment"))
		template = frappe.get_cached_doc("WhatsApp Template", self.template)
		if self.account and template.account != self.account:
			frappe.throw(
				_("Template {0} belongs to WhatsApp Account {1}, not {2}").format(
					template.template_name, template.account, self.account
				)
			)
		if template.category != "MARKETING":
			frappe.throw(
				_(
					"Template {0} is a {1} template: a campaign sends marketing, and {2} messages go "
					"to one person at a time from the document they are about"
				).format(template.template_name, template.category.lower(), template.category.lower())
			)
		ab_testing.check(self)
		self.fill_variable_rows(template)
		for row in self.variants if self.ab_test else ():
			# One mapping for the test: a variable's name means the same in every variant.
			self.fill_variable_rows(frappe.get_cached_doc("WhatsApp Template", row.template))
		for row in self.variables:
			if row.value_type == TRACKED_LINK:
				check_tracked_link(row.value, _("Variable {0}").format(row.variable))

	def after_insert(self):
		self.db_set(
			"campaign",
			ensure_erpnext_campaign(
				self.campaign_name,
				_("WhatsApp campaign {0} (utm_source={1})").format(self.name, self.utm_source),
			),
		)

	def fill_variable_rows(self, template):
		"""One mapping row per template variable; a guess from the variable's name to start with."""
		mapped = {row.variable for row in self.variables}
		for variable in template.to_spec().all_variables:
			if variable in mapped:
				continue
			guess = {"name": "first_name", "1": "first_name", "campaign": "campaign", "city": "city"}.get(
				variable.lower(), variable.lower() if variable.lower() in RECIPIENT_FIELDS else ""
			)
			self.append("variables", {"variable": variable, "value_type": "Document Field", "value": guess})

	# -- what the form asks ---------------------------------------------------------------------
	def audience(self):
		template = frappe.get_cached_doc("WhatsApp Template", self.template)
		include = [row.segment for row in self.segments if not row.exclude]
		exclude = [row.segment for row in self.segments if row.exclude]
		return build_audience(include, exclude, marketing=template.category == "MARKETING"), template

	def sending_problem(self) -> str | None:
		"""Why this campaign cannot be confirmed now (no healthy business account, ...)."""
		account = get_account(self.account)
		problem = routing.business_account_problem(account.to_state() if account else None)
		if problem:
			return problem.reason
		if account.purpose != "Business":
			return _("Campaigns go through a Business account; {0} is a {1} account").format(
				account.name, account.purpose
			)
		template = frappe.get_cached_doc("WhatsApp Template", self.template)
		if template.status != "APPROVED":
			return _("Template {0} is {1} at Meta: only approved templates can be sent").format(
				template.template_name, template.status.lower()
			)
		missing = [row.variable for row in self.variables if not row.value]
		if missing:
			return _("Map every template variable to a field or a fixed text: {0}").format(
				", ".join("{{" + v + "}}" for v in missing)
			)
		spec = template.to_spec()
		if spec.has_media_header and not (self.header_attachment or self.header_url):
			return _("The template has a {0} header: attach the media or give its URL").format(
				spec.header_format.lower()
			)
		if self.ab_test and not self.ab_stage:
			return ab_testing.sending_problem(self)
		return None

	@frappe.whitelist()
	def get_estimate(self) -> dict:
		"""Recipients, exclusions by reason, and the cost at Meta's rates, evaluated now."""
		self.check_permission("read")
		try:
			audience, template = self.audience()
			result = preview(audience, sample_size=5)
			by_region = eligible_by_region(audience)
		except RuleError as e:
			frappe.throw(str(e), title=_("Segment rule cannot be used"))
		card = rate_card_of_account(self.account)
		estimate = card.estimate(by_region, template.category) if card else None
		account = get_account(self.account)
		excluded = "\n".join(f"{REASONS[r]}: {n:,}" for r, n in result.excluded.items() if n)
		self.db_set(
			{
				"estimated_recipients": result.eligible,
				"estimated_cost": float(estimate.total) if estimate else None,
				"excluded_summary": excluded,
				"rate_card": card.name if card else None,
			}
		)
		return {
			**result.as_dict(),
			"category": template.category,
			"cost": float(estimate.total) if estimate else None,
			"currency": "INR",
			"cost_lines": [
				{
					"market": line.market,
					"recipients": line.recipients,
					"unit_price": float(line.unit_price),
					"amount": float(line.amount),
				}
				for line in estimate.lines
			]
			if estimate
			else [],
			"unpriced": estimate.unpriced if estimate else {},
			"rate_card": card.name if card else None,
			"problem": self.sending_problem(),
			# Whether Meta can bill the WABA, as its health check last read it (Yes, No, Unknown).
			"billing": {
				"status": (account.payment_status if account else None) or "Unknown",
				"detail": (account.payment_detail if account else None) or "",
			},
			"can_send": any(role in frappe.get_roles() for role in SENDER_ROLES),
			"quiet_hours": quiet_hours_hold(
				get_datetime(self.scheduled_at)
				if self.send_mode == "Schedule" and self.scheduled_at
				else None,
				result.eligible,
				(account.messages_per_second if account else 0) or 80,
			),
		}

	@frappe.whitelist()
	def render_preview(self) -> dict:
		"""The message as the first eligible recipient would read it."""
		self.check_permission("read")
		audience, template = self.audience()
		sample = preview(audience, sample_size=1).sample
		spec = template.to_spec()
		if not sample:
			return {"recipient": None, "text": spec.body}
		recipient = sample[0]
		row = {"name": "preview", **recipient}
		values = recipient_values(self, [row], preview=True)["preview"]
		missing = []
		try:
			check_values(spec, values)
		except TemplateVariableError as e:
			missing = [str(e)]
		return {
			"recipient": recipient,
			"text": render(spec.body, values),
			"values": values,
			"problems": missing,
		}

	@frappe.whitelist(methods=["POST"])
	def confirm_send(self) -> dict:
		"""Send now or schedule. Only a Marketing Manager may; the safety rail is checked here,
		not only in the form."""
		self.check_sender()
		if self.status not in EDITABLE_STATUSES:
			frappe.throw(_("This campaign is {0}").format(self.status))
		problem = self.sending_problem()
		if problem:
			frappe.throw(problem, title=_("Campaign cannot be sent"))
		desk.done(desk.CAMPAIGN)
		if self.send_mode == "Schedule":
			if not self.scheduled_at or get_datetime(self.scheduled_at) <= now_datetime():
				frappe.throw(_("Choose a time in the future to schedule the campaign"))
			self.db_set({"status": "Scheduled", "status_reason": ""})
			return {"status": "Scheduled"}
		if self.ab_test:
			dispatch.start_ab_test(self)
			return {"status": "Testing"}
		dispatch.start(self)
		return {"status": "Sending"}

	@frappe.whitelist(methods=["POST"])
	def pause(self) -> None:
		self.check_sender()
		if self.status not in ("Sending", "Scheduled"):
			frappe.throw(_("Only a sending or scheduled campaign can be paused"))
		self.db_set({"status": "Paused", "status_reason": _("Paused by {0}").format(frappe.session.user)})

	@frappe.whitelist(methods=["POST"])
	def resume(self) -> None:
		self.check_sender()
		if self.status not in ("Paused", "Failed"):
			frappe.throw(_("Only a paused or stopped campaign can be resumed"))
		if self.pause_cause == ab_testing.PICK_CAUSE:
			frappe.throw(_("Pick the winner first: Campaign → Send a Variant to the Rest"))
		problem = self.sending_problem()
		if problem:
			frappe.throw(problem, title=_("Campaign cannot be resumed"))
		self.start_again("")

	def start_again(self, reason: str) -> None:
		"""Sending again after a pause (by a person or by Meta's health signals)."""
		if not frappe.db.exists("WhatsApp Message", {"campaign": self.name}):
			if (
				self.send_mode == "Schedule"
				and self.scheduled_at
				and get_datetime(self.scheduled_at) > now_datetime()
			):
				# Paused while waiting for its time: it waits again.
				self.db_set({"status": "Scheduled", "status_reason": reason, "pause_cause": ""})
				return
			# Paused before it ever started, and its time has come: it starts now.
			dispatch.start(self)
			return
		self.db_set({"status": "Sending", "status_reason": reason, "pause_cause": ""})
		dispatch.recover_claims(self.name)
		dispatch.enqueue_jobs(self.name, cint(self.parallel_jobs) or 1)

	@frappe.whitelist(methods=["POST"])
	def cancel(self) -> None:
		self.check_sender()
		if self.status in ("Completed", "Cancelled"):
			frappe.throw(_("This campaign is already {0}").format(self.status))
		self.db_set(
			{"status": "Cancelled", "status_reason": _("Cancelled by {0}").format(frappe.session.user)}
		)
		frappe.db.sql(
			"""update `tabWhatsApp Message` set status='Skipped', error_title=%s
			where campaign=%s and status='Pending'""",
			(_("Campaign cancelled before this message was sent"), self.name),
		)
		frappe.db.commit()
		dispatch.update_counters(self.name)

	@frappe.whitelist(methods=["POST"])
	def make_follow_up(self, audience: str, after_hours: int, template: str) -> str:
		"""A draft campaign to those who did not read (or click) this one's message."""
		self.check_permission("read")
		frappe.has_permission("WhatsApp Campaign", "create", throw=True)
		frappe.has_permission("Segment", "create", throw=True)
		return follow_up.make_follow_up(self, audience, cint(after_hours), template)

	@frappe.whitelist(methods=["POST"])
	def send_variant_to_rest(self, variant: str) -> None:
		"""The studio picks the A/B test's winner; it goes to the rest now."""
		self.check_sender()
		ab_testing.pick(self, variant)
		dispatch.start(frappe.get_doc("WhatsApp Campaign", self.name))

	@frappe.whitelist()
	def ab_results(self) -> str:
		"""The variants side by side, for the form."""
		self.check_permission("read")
		return ab_testing.figures_html(self)

	@frappe.whitelist()
	def refresh_results(self) -> dict:
		self.check_permission("read")
		return dispatch.update_counters(self.name)

	def check_sender(self):
		self.check_permission("write")
		if not any(role in frappe.get_roles() for role in SENDER_ROLES):
			frappe.throw(
				_("Only a Marketing Manager can send, schedule, pause, resume or cancel a campaign"),
				frappe.PermissionError,
			)


def quiet_hours_hold(start_at, recipients: int, messages_per_second: float) -> dict | None:
	"""When quiet hours will hold a send that starts at ``start_at`` (now when None): it waits for
	their end, or, being too long to finish before they start, pauses overnight."""
	quiet = get_settings().quiet_hours
	if not quiet:
		return None
	begins = start_at or now_datetime()
	waits_until = quiet_hours_end(begins, *quiet)
	sending_from = waits_until or begins
	seconds = recipients / max(messages_per_second * PACE, 1)
	finishes = add_to_date(sending_from, seconds=seconds)
	pauses_at = next_quiet_start(sending_from, *quiet)
	return {
		"window": f"{quiet[0].strftime('%H:%M')}-{quiet[1].strftime('%H:%M')}",
		"waits_until": waits_until,
		"pauses_at": pauses_at if pauses_at and finishes > pauses_at else None,
		"resumes_at": quiet_hours_end(pauses_at, *quiet) if pauses_at and finishes > pauses_at else None,
		"minutes": round(seconds / 60, 1),
	}
