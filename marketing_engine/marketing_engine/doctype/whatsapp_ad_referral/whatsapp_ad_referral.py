# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class WhatsAppAdReferral(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		ad: DF.Link
		attribution_until: DF.Datetime | None
		contact_doctype: DF.Link | None
		contact_name: DF.DynamicLink | None
		ctwa_clid: DF.SmallText | None
		lead: DF.Link | None
		message: DF.Link | None
		name: DF.Int | None
		phone: DF.Data | None
		received_at: DF.Datetime | None
		user_id: DF.Data | None
	# end: auto-generated types
	pass
