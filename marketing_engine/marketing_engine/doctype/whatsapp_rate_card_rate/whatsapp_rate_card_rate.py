# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class WhatsAppRateCardRate(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		authentication: DF.Float
		countries: DF.SmallText | None
		market: DF.Data
		marketing: DF.Float
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		utility: DF.Float
	# end: auto-generated types
	pass
