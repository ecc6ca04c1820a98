# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class SegmentMember(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		city: DF.Data | None
		contact: DF.Link | None
		csv_line: DF.Int
		customer: DF.Link | None
		email: DF.Data | None
		lead: DF.Link | None
		line_type: DF.Data | None
		member_name: DF.Data | None
		phone: DF.Data | None
		region: DF.Data | None
		segment: DF.Link
		tags: DF.Data | None
		warnings: DF.SmallText | None
	# end: auto-generated types
	pass
