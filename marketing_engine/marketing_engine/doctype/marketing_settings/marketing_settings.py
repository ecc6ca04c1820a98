# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

from datetime import time

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, get_time

from marketing_engine.engine import consent, phone
from marketing_engine.engine.routing import FrequencyCap
from marketing_engine.engine.templates import variables_in

# Sales Order fields that fill the booking confirmation when its variables are not mapped yet,
# in the order a positional template ({{1}}, {{2}}, ...) most often uses them.
BOOKING_FIELDS = ("customer_name", "name", "delivery_date", "grand_total")
DEFAULT_QUIET_HOURS = ("21:00:00", "09:00:00")


class MarketingSettings(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from marketing_engine.marketing_engine.doctype.whatsapp_template_variable.whatsapp_template_variable import (
			WhatsAppTemplateVariable,
		)

		attribution_window_days: DF.Int
		booking_confirmation_template: DF.Link | None
		booking_confirmation_variables: DF.Table[WhatsAppTemplateVariable]
		campaign_reply_user: DF.Link | None
		default_business_account: DF.Link | None
		default_country: DF.Link
		default_system_account: DF.Link | None
		frequency_cap_days: DF.Int
		frequency_cap_messages: DF.Int
		graph_api_version: DF.Data | None
		graph_base_url: DF.Data | None
		hand_over_campaign_replies: DF.Check
		meta_app_id: DF.Data | None
		meta_app_secret: DF.Password | None
		opt_in_policy: DF.Literal["Recorded opt-in only", "Recorded opt-in or START reply"]
		opt_out_button_texts: DF.SmallText | None
		quiet_hours_enabled: DF.Check
		quiet_hours_end: DF.Time | None
		quiet_hours_start: DF.Time | None
		send_conversions: DF.Check
		signup_config_id: DF.Data | None
		signup_stand_in: DF.Check
		start_keywords: DF.SmallText | None
		stop_keywords: DF.SmallText | None

	# end: auto-generated types
	def validate(self):
		self.validate_quiet_hours()
		for field, purpose in (
			("default_system_account", "System"),
			("default_business_account", "Business"),
		):
			account = self.get(field)
			if account and frappe.db.get_value("WhatsApp Account", account, "purpose") != purpose:
				frappe.throw(
					_("{0} must be a WhatsApp Account with purpose {1}").format(
						self.meta.get_label(field), purpose
					)
				)
		self.prefill_booking_variables()

	def validate_quiet_hours(self):
		"""Quiet hours are on unless the studio turns them off: an empty or equal pair with the box
		ticked is a mistake (Frappe fills an empty time with the current time), not "no quiet hours"."""
		if not self.quiet_hours_enabled:
			return
		if not (self.quiet_hours_start and self.quiet_hours_end):
			frappe.throw(
				_("Set when quiet hours start and end, or untick Quiet Hours to send marketing at any hour")
			)
		if get_time(self.quiet_hours_start).strftime("%H:%M") == get_time(self.quiet_hours_end).strftime(
			"%H:%M"
		):
			frappe.throw(_("Quiet hours start and end at the same time: set a period, or untick Quiet Hours"))

	def prefill_booking_variables(self):
		if not self.booking_confirmation_template or self.booking_confirmation_variables:
			return
		body = frappe.db.get_value("WhatsApp Template", self.booking_confirmation_template, "body")
		for index, variable in enumerate(variables_in(body)):
			field = BOOKING_FIELDS[index] if index < len(BOOKING_FIELDS) else ""
			self.append(
				"booking_confirmation_variables",
				{"variable": variable, "value_type": "Document Field", "value": field},
			)

	@property
	def region_code(self) -> str:
		code = (
			frappe.get_cached_value("Country", self.default_country, "code") if self.default_country else None
		)
		return (code or "in").upper()

	@property
	def quiet_hours(self) -> tuple[time, time] | None:
		if not (self.quiet_hours_enabled and self.quiet_hours_start and self.quiet_hours_end):
			return None
		# To the minute: the times are HH:MM to the studio, whatever seconds Frappe stored.
		return tuple(
			get_time(t).replace(second=0, microsecond=0)
			for t in (self.quiet_hours_start, self.quiet_hours_end)
		)

	@property
	def frequency_cap(self) -> FrequencyCap:
		return FrequencyCap(limit=cint(self.frequency_cap_messages), days=cint(self.frequency_cap_days))

	@property
	def stop_words(self) -> tuple[str, ...]:
		return consent.keywords(self.stop_keywords, consent.DEFAULT_STOP_KEYWORDS)

	@property
	def start_words(self) -> tuple[str, ...]:
		return consent.keywords(self.start_keywords, consent.DEFAULT_START_KEYWORDS)

	@property
	def opt_out_buttons(self) -> tuple[str, ...]:
		return consent.keywords(self.opt_out_button_texts, consent.DEFAULT_OPT_OUT_BUTTON_TEXTS)

	@property
	def start_reply_opts_in(self) -> bool:
		return self.opt_in_policy == "Recorded opt-in or START reply"


def get_settings() -> MarketingSettings:
	return frappe.get_cached_doc("Marketing Settings")


def normalize_phone(number: str) -> str:
	"""E.164 for ``number``, reading numbers without a country code as the default country's."""
	return phone.normalize(number, get_settings().region_code)
