# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class WhatsAppTemplateButton(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		button_type: DF.Literal[
			"QUICK_REPLY",
			"URL",
			"PHONE_NUMBER",
			"COPY_CODE",
			"OTP",
			"FLOW",
			"CATALOG",
			"MPM",
			"SPM",
			"VOICE_CALL",
			"OTHER",
		]
		example: DF.Data | None
		is_marketing_opt_out: DF.Check
		parent: DF.Data
		parentfield: DF.Data
		parenttype: DF.Data
		phone_number: DF.Data | None
		text: DF.Data | None
		url: DF.Data | None
		url_variable: DF.Data | None
	# end: auto-generated types
	pass
