# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class WhatsAppCampaignVariant(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		header_url: DF.Data | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		template: DF.Link
		variant: DF.Data | None
		variant_campaign: DF.Link | None
	# end: auto-generated types
	pass
