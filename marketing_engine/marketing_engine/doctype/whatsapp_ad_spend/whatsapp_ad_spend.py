# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

"""What the studio paid Meta for an ad, or for an ERPNext Campaign of ads, in one month: the cost
beside the ad's revenue in the WhatsApp ROI report."""

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import get_first_day


class WhatsAppAdSpend(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		ad: DF.Link | None
		amount: DF.Currency
		campaign: DF.Link
		month: DF.Date
		name: DF.Int | None
		notes: DF.SmallText | None

	# end: auto-generated types
	def validate(self):
		if self.ad:
			# An ad's spend belongs to the ad's Campaign, whatever was typed there.
			self.campaign = frappe.db.get_value("WhatsApp Ad", self.ad, "campaign") or self.campaign
		elif not frappe.db.exists("WhatsApp Ad", {"campaign": self.campaign}):
			# The ROI report shows ads' spend on their Campaigns' rows: another Campaign has no row.
			frappe.throw(
				_(
					"No WhatsApp Ad belongs to the Campaign {0}: choose the ad, or one of its Campaigns"
				).format(frappe.bold(self.campaign)),
				title=_("Not an Ad Campaign"),
			)
		self.month = get_first_day(self.month)
		if self.amount is not None and self.amount <= 0:
			frappe.throw(_("The amount spent must be more than zero"), title=_("Invalid Amount"))
		same = frappe.db.exists(
			"WhatsApp Ad Spend",
			{
				"campaign": self.campaign,
				"ad": self.ad or ("is", "not set"),
				"month": self.month,
				"name": ("!=", self.name or 0),
			},
		)
		if same:
			frappe.throw(
				_("{0} already has its spend for {1} in {2}: change that entry instead").format(
					frappe.bold(
						(self.ad and frappe.db.get_value("WhatsApp Ad", self.ad, "headline"))
						or self.ad
						or self.campaign
					),
					frappe.utils.formatdate(self.month, "MMMM yyyy"),
					frappe.get_desk_link("WhatsApp Ad Spend", str(same)),
				),
				frappe.DuplicateEntryError,
				title=_("Spend Already Entered"),
			)
