# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

from frappe.model.document import Document


class WhatsAppMessage(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		account: DF.Link | None
		attempts: DF.Int
		billable: DF.Check
		body: DF.SmallText | None
		button_payload: DF.Data | None
		campaign: DF.Link | None
		category: DF.Literal["", "MARKETING", "UTILITY", "AUTHENTICATION", "SERVICE"]
		claimed_by: DF.Data | None
		contact_doctype: DF.Link | None
		contact_name: DF.DynamicLink | None
		cost: DF.Currency
		delivered_at: DF.Datetime | None
		direction: DF.Literal["Outbound", "Inbound"]
		drip_enrollment: DF.Link | None
		drip_sequence: DF.Link | None
		drip_step: DF.Int
		error_code: DF.Int
		error_detail: DF.SmallText | None
		error_title: DF.Data | None
		failed_at: DF.Datetime | None
		handled: DF.Check
		handled_by: DF.Link | None
		message_id: DF.Data | None
		message_type: DF.Data | None
		next_attempt_at: DF.Datetime | None
		phone: DF.Data | None
		pricing_category: DF.Data | None
		profile_name: DF.Data | None
		read_at: DF.Datetime | None
		received_at: DF.Datetime | None
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		region: DF.Data | None
		replied_at: DF.Datetime | None
		reply_to: DF.Link | None
		reply_to_message_id: DF.Data | None
		send_parameters: DF.Code | None
		sent_at: DF.Datetime | None
		status: DF.Literal[
			"Pending", "Queued", "Accepted", "Sent", "Delivered", "Read", "Failed", "Skipped", "Received"
		]
		submitted_at: DF.Datetime | None
		template: DF.Link | None
		user_id: DF.Data | None
	# end: auto-generated types
	pass
