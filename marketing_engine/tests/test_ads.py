"""Click-to-WhatsApp ads through the real webhook endpoint: the ad's referral makes a WhatsApp
Ad with its own ERPNext Campaign, a Lead for someone new, and a touch that a booking is
attributed to; ERPNext's Campaign Efficiency report counts the ad's lead and order."""

import time

import frappe
from frappe.tests.utils import FrappeTestCase

from marketing_engine.tests.test_webhook import inbound
from marketing_engine.tests.utils import (
	TEST_CUSTOMER_GROUP,
	TEST_TERRITORY,
	book_lead,
	campaign_efficiency_row,
	configure_channel,
	make_customer,
	make_sales_order,
	sandbox_numbers,
	start_simulator,
	webhook_request,
)

RUN = int(frappe.generate_hash(length=6), 16) % 900000 + 100000  # numbers and ads of this run
AD_ID = f"120219876{RUN}001"


def wa(n: int) -> str:
	return f"9197{RUN}{n:02d}"


def ad_id(n: int) -> str:
	return f"120219876{RUN}{n:03d}"


def referral(source_id: str = AD_ID, headline: str | None = f"_ME Monsoon portraits {RUN}", **extra) -> dict:
	return {
		"source_url": "https://fb.me/3cr4Wqqkk",
		"source_id": source_id,
		"source_type": "ad",
		"headline": headline,
		"body": "Book a monsoon portrait session",
		"media_type": "image",
		"image_url": "https://img.example/monsoon.jpg",
		"ctwa_clid": f"ARAk{frappe.generate_hash(length=20)}",
		**extra,
	}


class TestClickToWhatsAppAds(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.simulator = start_simulator(sandbox_numbers())
		cls.secret = configure_channel(cls.simulator.base_url)["business"].app_secret
		# The customer ERPNext makes from a booked lead takes the site's default group and territory.
		cls.defaults = {key: frappe.db.get_default(key) for key in ("customer_group", "territory")}
		frappe.db.set_default("customer_group", TEST_CUSTOMER_GROUP)
		frappe.db.set_default("territory", TEST_TERRITORY)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		for key, value in cls.defaults.items():
			frappe.db.set_default(key, value) if value else frappe.defaults.clear_default(key)
		frappe.db.commit()
		super().tearDownClass()

	def write_from_ad(self, wa_id: str, text: str = "Is the monsoon offer on?", **kwargs):
		body = inbound(wa_id, {"type": "text", "text": {"body": text}, "referral": referral(**kwargs)})
		response = webhook_request("POST", body, secret=self.secret)
		self.assertEqual(response.status_code, 200)
		return frappe.get_doc("WhatsApp Message", {"phone": f"+{wa_id}", "body": text})

	def test_an_ad_lead_is_made_quoted_booked_and_attributed_and_efficiency_agrees(self):
		message = self.write_from_ad(wa(1))
		ad = frappe.get_doc("WhatsApp Ad", AD_ID)
		self.assertEqual(
			(ad.headline, ad.source_type, ad.media_type), (f"_ME Monsoon portraits {RUN}", "ad", "image")
		)
		self.assertEqual(
			frappe.db.get_value("Campaign", ad.campaign, "campaign_name"), f"_ME Monsoon portraits {RUN}"
		)
		(kept,) = frappe.get_all(
			"WhatsApp Ad Referral",
			{"message": message.name},
			[
				"ad",
				"ctwa_clid",
				"lead",
				"contact_doctype",
				"contact_name",
				"received_at",
				"attribution_until",
			],
		)
		self.assertEqual(kept.ad, AD_ID)
		self.assertTrue(kept.ctwa_clid.startswith("ARAk"))
		self.assertEqual((kept.attribution_until - kept.received_at).days, 7)
		lead = frappe.get_doc("Lead", kept.lead)
		self.assertEqual(
			(lead.first_name, lead.source, lead.campaign_name), ("Asha", "WhatsApp Ad", ad.campaign)
		)
		self.assertEqual((message.contact_doctype, message.contact_name), ("Lead", lead.name))
		self.assertEqual((kept.contact_doctype, kept.contact_name), ("Lead", lead.name))

		# A second message from the same ad: the same ad, Campaign and Lead, no second Lead.
		self.write_from_ad(wa(1), text="Saturday works")
		self.assertEqual(frappe.db.count("Lead", {"whatsapp_number": f"+{wa(1)}"}), 1)
		self.assertEqual(frappe.db.count("Campaign", {"campaign_name": f"_ME Monsoon portraits {RUN}"}), 1)

		quotation, order = book_lead(lead.name, 24000)
		self.assertEqual(quotation.campaign, ad.campaign)
		(row,) = frappe.get_all(
			"Attribution", {"sales_order": order.name}, ["ad", "campaign", "touch", "revenue", "lead"]
		)
		self.assertEqual(
			(row.ad, row.campaign, row.touch, row.revenue, row.lead), (AD_ID, None, "Ad", 24000, lead.name)
		)

		efficiency = campaign_efficiency_row(ad.campaign)
		self.assertEqual(
			(efficiency["lead_count"], efficiency["quot_count"], efficiency["order_count"]), (1, 1, 1)
		)
		self.assertEqual(efficiency["order_value"], 24000)

	def test_a_known_customer_is_touched_not_made_a_lead_and_the_ad_is_the_last_touch(self):
		customer = make_customer(f"+{wa(2)}", "_ME Ad Customer Ravi")
		leads_before = frappe.db.count("Lead")
		message = self.write_from_ad(wa(2), source_id=ad_id(2), headline="_ME Pre-wedding")
		self.assertEqual(frappe.db.count("Lead"), leads_before)
		self.assertEqual((message.contact_doctype, message.contact_name), ("Customer", customer))
		kept = frappe.get_value(
			"WhatsApp Ad Referral", {"message": message.name}, ["lead", "contact_name"], as_dict=True
		)
		self.assertEqual((kept.lead, kept.contact_name), (None, customer))
		order = make_sales_order(customer, 48000)
		campaign = frappe.db.get_value("WhatsApp Ad", ad_id(2), "campaign")
		self.assertEqual((order.campaign, order.source), (campaign, "WhatsApp Ad"))
		self.assertEqual(
			frappe.db.get_value("Attribution", {"sales_order": order.name}, ["ad", "touch"]),
			(ad_id(2), "Ad"),
		)

	def test_an_ad_without_headline_and_a_second_ad_with_the_same_headline_get_campaigns_of_their_own(self):
		self.write_from_ad(wa(3), source_id=ad_id(3), headline=None)
		self.assertEqual(
			frappe.db.get_value(
				"Campaign",
				frappe.db.get_value("WhatsApp Ad", ad_id(3), "campaign"),
				"campaign_name",
			),
			f"Ad {ad_id(3)}",
		)
		self.write_from_ad(wa(4), source_id=ad_id(4), headline=f"_ME Baby shoots {RUN}")
		self.write_from_ad(wa(5), source_id=ad_id(5), headline=f"_ME Baby shoots {RUN}")
		first, second = (
			frappe.db.get_value("WhatsApp Ad", source, "campaign") for source in (ad_id(4), ad_id(5))
		)
		self.assertNotEqual(first, second)
		self.assertEqual(
			frappe.db.get_value("Campaign", second, "campaign_name"),
			f"_ME Baby shoots {RUN} ({ad_id(5)[-12:]})",
		)

	def test_a_message_without_referral_makes_no_ad_and_no_lead(self):
		leads_before = frappe.db.count("Lead")
		body = inbound(wa(6), {"type": "text", "text": {"body": "Hello"}, "id": f"wamid.X{time.time_ns()}"})
		self.assertEqual(webhook_request("POST", body, secret=self.secret).status_code, 200)
		self.assertEqual(frappe.db.count("Lead"), leads_before)
		self.assertFalse(frappe.db.exists("WhatsApp Ad Referral", {"phone": f"+{wa(6)}"}))
