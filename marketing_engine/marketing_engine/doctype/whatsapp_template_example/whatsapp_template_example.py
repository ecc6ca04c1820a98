# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class WhatsAppTemplateExample(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		example: DF.Data | None
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		variable: DF.Data | None
	# end: auto-generated types
	pass
