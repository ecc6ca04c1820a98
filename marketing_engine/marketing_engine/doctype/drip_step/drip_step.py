# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class DripStep(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		header_attachment: DF.Attach | None
		header_media_id: DF.Data | None
		header_url: DF.Data | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		send_at: DF.Data | None
		skip_if_booked: DF.Check
		template: DF.Link | None
		wait: DF.Int
		wait_after: DF.Literal["Previous Step", "Trigger"]
		wait_unit: DF.Literal["Days", "Hours", "Minutes"]
	# end: auto-generated types
	pass
