# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, now_datetime

from marketing_engine.campaigns.audience import build_audience, preview, rules_condition, rules_of
from marketing_engine.engine.segment_rules import RuleError


class Segment(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from marketing_engine.marketing_engine.doctype.segment_rule.segment_rule import SegmentRule

		description: DF.SmallText | None
		import_report: DF.Attach | None
		import_summary: DF.SmallText | None
		import_warnings: DF.Int
		last_count: DF.Int
		last_previewed_at: DF.Datetime | None
		member_count: DF.Int
		member_csv: DF.Attach | None
		rules: DF.Table[SegmentRule]
		segment_name: DF.Data
		segment_type: DF.Literal["Dynamic", "Static"]

	# end: auto-generated types
	def validate(self):
		if self.segment_type == "Dynamic":
			try:
				# Building the condition also finds groups that do not exist.
				rules_condition(rules_of(self), {}, "check")
			except RuleError as e:
				frappe.throw(str(e), title=_("Rule cannot be used"))
		elif self.rules:
			frappe.throw(_("A static segment has members, not rules: remove the rules or make it Dynamic"))

	def on_trash(self):
		frappe.db.delete("Segment Member", {"segment": self.name})

	@frappe.whitelist()
	def get_preview(self, sample_size: int = 10) -> dict:
		"""Members, exclusions by reason and a sample, evaluated now on live data."""
		self.check_permission("read")
		try:
			result = preview(build_audience([self.name]), cint(sample_size) or 10)
		except RuleError as e:
			frappe.throw(str(e), title=_("Rule cannot be used"))
		# Not a change the user made: the form's own save must not find the segment "modified
		# after you opened it" because a preview ran meanwhile.
		self.db_set(
			{"last_count": result.eligible, "last_previewed_at": now_datetime()}, update_modified=False
		)
		return result.as_dict()

	@frappe.whitelist()
	def import_members(self) -> dict:
		"""Replace the members with the attached CSV; returns the validation report."""
		self.check_permission("write")
		if self.segment_type != "Static":
			frappe.throw(_("Only a static segment takes a CSV of members"))
		if not self.member_csv:
			frappe.throw(_("Attach a CSV file first"))
		from marketing_engine.campaigns.segment_import import import_csv

		file = frappe.get_doc("File", {"file_url": self.member_csv})
		# The raw bytes: File.get_content() would decode them and hide encoding errors.
		with open(file.get_full_path(), "rb") as f:
			return import_csv(self, f.read())
