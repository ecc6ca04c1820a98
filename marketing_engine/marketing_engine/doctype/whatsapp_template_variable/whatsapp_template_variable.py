# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class WhatsAppTemplateVariable(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		value: DF.Data | None
		value_type: DF.Literal["Document Field", "Fixed Text", "Tracked Link"]
		variable: DF.Data
	# end: auto-generated types
	pass
