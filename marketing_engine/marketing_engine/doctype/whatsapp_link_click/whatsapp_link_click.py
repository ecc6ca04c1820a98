# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class WhatsAppLinkClick(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		campaign: DF.Link | None
		click_id: DF.Data | None
		clicked_at: DF.Datetime | None
		drip_sequence: DF.Link | None
		link: DF.Link | None
		message: DF.Link | None
		name: DF.Int | None
		phone: DF.Data | None
		user_agent: DF.SmallText | None
	# end: auto-generated types
	pass
