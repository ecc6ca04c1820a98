# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""Marketing consent per WhatsApp number: the record and its rules. Recording decisions, reading
the state and the history is the consent service's (marketing_engine.channel.consent)."""

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_datetime, now_datetime

from marketing_engine.channel.consent import apply_decision, staff_actor, validate_phone
from marketing_engine.engine.consent import ConsentState, OptInSource, OptOutSource
from marketing_engine.engine.identity import is_bsuid


class WhatsAppConsent(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		contact: DF.Link | None
		customer: DF.Link | None
		lead: DF.Link | None
		marketing_capped_until: DF.Datetime | None
		marketing_opt_in: DF.Check
		opt_in_actor: DF.Data | None
		opt_in_detail: DF.SmallText | None
		opt_in_source: DF.Literal[
			"", "Form", "CSV", "Inbound Message", "Manual", "Meta Preference", "Number Changed"
		]
		opt_out_actor: DF.Data | None
		opt_out_detail: DF.SmallText | None
		opt_out_source: DF.Literal[
			"",
			"STOP Keyword",
			"Opt-out Button",
			"Meta Preference",
			"Meta Error 131050",
			"Manual",
			"Number Changed",
		]
		opted_in_at: DF.Datetime | None
		opted_out_at: DF.Datetime | None
		phone: DF.Data | None
		status: DF.Literal["No Consent", "Opted In", "Opted Out"]
		user_id: DF.Data | None
		username: DF.Data | None

	# end: auto-generated types
	def autoname(self):
		# One record per person: named by the number, or by Meta's business-scoped user ID for a
		# WhatsApp user known only by their username (no number shared).
		self.name = self.phone or self.user_id

	def before_insert(self):
		if self.phone:
			self.phone = validate_phone(self.phone)
		elif not self.user_id:
			frappe.throw(_("A consent record needs a phone number or a WhatsApp user ID"))
		if self.user_id and not is_bsuid(self.user_id):
			frappe.throw(_("{0} is not a WhatsApp business-scoped user ID").format(self.user_id))

	def validate(self):
		if not self.is_new() and self.has_value_changed("phone") and self.get_doc_before_save().phone:
			frappe.throw(_("The number of a consent record cannot change; create a new record instead"))
		self.set_status()

	def set_status(self):
		state = self.to_state()
		self.marketing_opt_in = int(state.may_receive_marketing)
		self.status = (
			"Opted In" if state.may_receive_marketing else "Opted Out" if state.opted_out else "No Consent"
		)

	def to_state(self) -> ConsentState:
		opted_in_at = get_datetime(self.opted_in_at) if self.opted_in_at else None
		return ConsentState(
			opted_in=opted_in_at is not None,
			opted_in_at=opted_in_at,
			opted_out_at=get_datetime(self.opted_out_at) if self.opted_out_at else None,
		)

	@frappe.whitelist()
	def record_opt_in(self, source: str = OptInSource.MANUAL.value, detail: str | None = None) -> None:
		self.check_permission("write")
		apply_decision(self, "Opt-in", OptInSource(source).value, now_datetime(), detail, actor=staff_actor())

	@frappe.whitelist()
	def record_opt_out(self, detail: str | None = None) -> None:
		self.check_permission("write")
		apply_decision(
			self, "Opt-out", OptOutSource.MANUAL.value, now_datetime(), detail, actor=staff_actor()
		)
