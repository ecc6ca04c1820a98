# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class Attribution(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		ad: DF.Link | None
		campaign: DF.Link | None
		customer: DF.Link | None
		drip_sequence: DF.Link | None
		drip_step: DF.Int
		erpnext_campaign: DF.Link | None
		lead: DF.Link | None
		message: DF.Link | None
		revenue: DF.Currency
		sales_order: DF.Link
		status: DF.Literal["Active", "Cancelled"]
		touch: DF.Literal["UTM Landing", "Click", "Reply", "Ad"]
		touch_at: DF.Datetime | None
	# end: auto-generated types
	pass
