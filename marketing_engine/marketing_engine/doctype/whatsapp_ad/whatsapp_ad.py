# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

# import frappe
from frappe.model.document import Document


class WhatsAppAd(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		ad_id: DF.Data
		body: DF.SmallText | None
		campaign: DF.Link | None
		first_referral_at: DF.Datetime | None
		headline: DF.Data | None
		media_type: DF.Data | None
		media_url: DF.SmallText | None
		source_type: DF.Literal["ad", "post"]
		source_url: DF.SmallText | None
	# end: auto-generated types
	pass
