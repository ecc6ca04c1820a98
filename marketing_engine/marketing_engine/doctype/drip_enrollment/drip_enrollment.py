# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""One person's way through one drip sequence; see marketing_engine.drips."""

import frappe
from frappe import _
from frappe.model.document import Document


class DripEnrollment(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		address: DF.Data | None
		booking: DF.Link | None
		contact_doctype: DF.Link | None
		contact_name: DF.DynamicLink | None
		enrollment_key: DF.Data | None
		handed_to: DF.Link | None
		last_sent_at: DF.Datetime | None
		next_run_at: DF.Datetime | None
		next_step: DF.Int
		person_name: DF.Data | None
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		reply: DF.Link | None
		sequence: DF.Link
		status: DF.Literal["Active", "Completed", "Stopped"]
		stop_detail: DF.SmallText | None
		stop_reason: DF.Literal[
			"",
			"Replied",
			"Opted Out",
			"Booked",
			"Left Trigger Condition",
			"Template Unusable",
			"No Number",
			"Manual",
		]
		stopped_at: DF.Datetime | None
		trigger_at: DF.Datetime | None

	# end: auto-generated types
	@frappe.whitelist(methods=["POST"])
	def unenroll(self) -> None:
		"""Stop by hand: no further step is sent."""
		self.check_permission("write")
		if self.status != "Active":
			frappe.throw(_("This enrollment is already {0}").format(self.status))
		from marketing_engine.drips.enrolment import stop

		stop(self.name, "Manual", _("Stopped by {0}").format(frappe.utils.get_fullname()))
