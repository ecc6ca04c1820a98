# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""One event reported to Meta's Conversions API: an ad's person became a Lead, or booked
(marketing_engine.roi.conversions makes, sends and retries them)."""

from frappe.model.document import Document


class WhatsAppConversion(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		account: DF.Link | None
		ad: DF.Link | None
		attempts: DF.Int
		claimed_at: DF.Datetime | None
		ctwa_clid: DF.SmallText | None
		currency: DF.Link | None
		event_id: DF.Data | None
		event_name: DF.Literal["LeadSubmitted", "Purchase"]
		event_time: DF.Datetime | None
		next_attempt_at: DF.Datetime | None
		order_cancelled_at: DF.Datetime | None
		reason: DF.SmallText | None
		reference_doctype: DF.Link | None
		reference_name: DF.DynamicLink | None
		referral: DF.Link | None
		sent_at: DF.Datetime | None
		status: DF.Literal["Queued", "Sent", "Failed", "Not Sent"]
		value: DF.Currency
	# end: auto-generated types

	pass
