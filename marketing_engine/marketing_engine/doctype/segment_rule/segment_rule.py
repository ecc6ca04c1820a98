# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class SegmentRule(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		booked_from: DF.Date | None
		booked_months_ago: DF.Int
		booked_to: DF.Date | None
		criterion: DF.Literal[
			"Lifetime Spend",
			"Customer Group",
			"Booked Item Group",
			"City",
			"State",
			"First Booking Date",
			"Last Booking Date",
			"Customer Since",
			"Birthday Month",
		]
		negate: DF.Check
		operator: DF.Literal[
			"is",
			"booked",
			">",
			">=",
			"<",
			"<=",
			"=",
			"between",
			"before",
			"after",
			"more than months ago",
			"within last months",
		]
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		rule_group: DF.Int
		value: DF.Data | None
		value_to: DF.Data | None
	# end: auto-generated types
	pass
