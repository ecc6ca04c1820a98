# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class WhatsAppLink(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		campaign: DF.Link | None
		contact_doctype: DF.Link | None
		contact_name: DF.DynamicLink | None
		destination: DF.SmallText | None
		drip_sequence: DF.Link | None
		drip_step: DF.Int
		message: DF.Link | None
		phone: DF.Data | None
		token: DF.Data
		utm_campaign: DF.Data | None
		utm_source: DF.Data | None
		variable: DF.Data | None
	# end: auto-generated types
	pass
