# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document


class WhatsAppConsentLog(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		actor: DF.Data | None
		at: DF.Datetime
		consent: DF.Link
		detail: DF.SmallText | None
		event: DF.Literal["Opt-in", "Opt-out"]
		message: DF.Link | None
		source: DF.Data | None
	# end: auto-generated types
	"""One consent decision. Written once by the consent functions, never changed afterwards;
	no role may delete it (see the DocType's permissions)."""

	def validate(self):
		if not self.is_new():
			frappe.throw(_("Consent history cannot be edited"))
