# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""A webhook from Meta as it arrived: stored by the endpoint, applied by background jobs (see
marketing_engine.channel.webhooks). A failed one keeps its error here and can be retried."""

import frappe
from frappe.model.document import Document


class WhatsAppWebhookEvent(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		account: DF.Link | None
		attempts: DF.Int
		error: DF.Code | None
		journal_key: DF.Data | None
		name: DF.Int | None
		next_attempt_at: DF.Datetime | None
		payload: DF.Code | None
		processed_at: DF.Datetime | None
		received_at: DF.Datetime | None
		status: DF.Literal["Pending", "Processed", "Failed"]
		summary: DF.Data | None

	# end: auto-generated types
	@frappe.whitelist(methods=["POST"])
	def retry(self) -> None:
		self.check_permission("read")
		frappe.only_for(("System Manager", "Marketing Manager"))
		from marketing_engine.channel.webhooks import retry

		retry([self.name])
