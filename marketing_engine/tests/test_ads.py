"""Click-to-WhatsApp ads through the real webhook endpoint: the ad's referral makes a WhatsApp
Ad with its own ERPNext Campaign, a Lead for someone new, and a touch that a booking is
attributed to; ERPNext's Campaign Efficiency report counts the ad's lead and order, and the WhatsApp
ROI report sets the studio's ad spend against them. An "Ad Referral" drip sequence welcomes the
person who wrote."""

import time

import frappe
from frappe.tests.utils import FrappeTestCase

from marketing_engine.marketing_engine.report.whatsapp_roi import whatsapp_roi
from marketing_engine.roi import cards, figures
from marketing_engine.tests.test_webhook import inbound
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	book_lead,
	campaign_efficiency_row,
	configure_channel,
	make_customer,
	make_sales_order,
	restore_defaults,
	sandbox_numbers,
	start_simulator,
	template_name,
	use_test_customer_defaults,
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
		cls.defaults = use_test_customer_defaults()
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		restore_defaults(cls.defaults)
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

	def spend(self, amount: float, month: str, ad: str | None = None, campaign: str | None = None) -> str:
		doc = frappe.get_doc(
			{"doctype": "WhatsApp Ad Spend", "ad": ad, "campaign": campaign, "month": month, "amount": amount}
		).insert()
		self.addCleanup(frappe.db.delete, "WhatsApp Ad Spend", {"name": doc.name})
		return doc.name

	def test_the_roi_report_sets_the_ads_spend_against_its_bookings(self):
		monsoon = ad_id(10)
		for n, rate in ((10, 20000), (11, 24000), (12, 28000)):
			self.write_from_ad(wa(n), source_id=monsoon, headline=f"_ME Monsoon {RUN}")
			lead = frappe.db.get_value("WhatsApp Ad Referral", {"phone": f"+{wa(n)}"}, "lead")
			book_lead(lead, rate)
		self.write_from_ad(wa(13), source_id=monsoon, headline=f"_ME Monsoon {RUN}")  # wrote, not booked
		campaign = frappe.db.get_value("WhatsApp Ad", monsoon, "campaign")
		this_month = frappe.utils.get_first_day(frappe.utils.nowdate())
		self.spend(2500, frappe.utils.add_days(this_month, 9), ad=monsoon)
		self.spend(1500, frappe.utils.add_months(this_month, -1), campaign=campaign)

		(row,) = figures.figures({"ad": monsoon})
		self.assertEqual(
			(row["kind"], row["reference_doctype"], row["name"], row["title"], row["erpnext_campaign"]),
			("Ad", "WhatsApp Ad", monsoon, f"_ME Monsoon {RUN}", campaign),
		)
		self.assertEqual((row["audience"], row["leads"], row["bookings"]), (4, 4, 3))
		self.assertEqual((row["revenue"], row["cost"], row["roi"]), (72000, 4000, 18.0))
		self.assertIsNone(row["sent"], "an ad's messages are the people's, not the studio's")

		# This month alone: this month's spend, the people and bookings all came this month.
		(month,) = figures.figures(
			{"ad": monsoon, "from_date": this_month, "to_date": frappe.utils.nowdate()}
		)
		self.assertEqual((month["cost"], month["revenue"], month["bookings"]), (2500, 72000, 3))
		# A month with only last month's spend: the spend, nobody, nothing booked.
		last = frappe.utils.add_months(this_month, -1)
		(before,) = figures.figures(
			{"ad": monsoon, "from_date": last, "to_date": frappe.utils.add_days(this_month, -1)}
		)
		self.assertEqual(
			(before["cost"], before["audience"], before["bookings"], before["roi"]), (1500, 0, 0, 0.0)
		)
		self.assertEqual(
			figures.figures({"ad": monsoon, "from_date": "2020-01-01", "to_date": "2020-01-31"}), []
		)

		# The report shows the ad after the campaigns and sequences; its totals count the spend.
		report_rows = whatsapp_roi.execute(frappe._dict())[1]
		self.assertIn(monsoon, [r["name"] for r in report_rows if r["kind"] == "Ad"])
		self.assertEqual(report_rows[-1]["kind"], "Ad")
		self.assertNotIn("Ad", {r["kind"] for r in figures.figures({"campaign": "_ME no such campaign"})})
		summary = whatsapp_roi.execute(frappe._dict())[4]
		self.assertEqual(
			cards.return_on_spend(), next(i["value"] for i in summary if i.get("label") == "ROI")
		)

	def test_spend_entries_are_checked(self):
		ad = ad_id(14)
		self.write_from_ad(wa(14), source_id=ad, headline=f"_ME Spend checks {RUN}")
		campaign = frappe.db.get_value("WhatsApp Ad", ad, "campaign")
		name = self.spend(1000, "2026-11-17", ad=ad, campaign="_ME typed by hand")
		kept = frappe.db.get_value("WhatsApp Ad Spend", name, ["campaign", "month"], as_dict=True)
		self.assertEqual((kept.campaign, str(kept.month)), (campaign, "2026-11-01"))
		with self.assertRaisesRegex(frappe.DuplicateEntryError, "already has its spend for November 2026"):
			self.spend(500, "2026-11-30", ad=ad)
		self.spend(500, "2026-11-30", campaign=campaign)  # the Campaign's own spend, beside the ad's
		with self.assertRaisesRegex(frappe.ValidationError, "more than zero"):
			self.spend(0, "2026-12-01", ad=ad)
		plain = frappe.get_doc({"doctype": "Campaign", "campaign_name": f"_ME Not an ad {RUN}"}).insert().name
		with self.assertRaisesRegex(frappe.ValidationError, "No WhatsApp Ad belongs to the Campaign"):
			self.spend(500, "2026-11-01", campaign=plain)

	def ad_sequence(self, name: str, ad: str | None) -> str:
		doc = frappe.get_doc(
			{
				"doctype": "Drip Sequence",
				"sequence_name": name,
				"trigger": "Ad Referral",
				"ad": ad,
				"enabled": 1,
				"handover_to": "User",
				"handover_user": "Administrator",
				"steps": [{"template": template_name(BUSINESS_ACCOUNT, "review_request"), "wait": 0}],
			}
		).insert()
		for row in doc.variables:
			row.value_type, row.value = ("Fixed Text", "there")
		doc.save()
		frappe.db.commit()

		def remove():
			frappe.db.delete("Drip Enrollment", {"sequence": doc.name})
			frappe.db.set_value("Drip Sequence", doc.name, "enabled", 0)
			frappe.delete_doc("Drip Sequence", doc.name, force=True)
			frappe.db.commit()

		self.addCleanup(remove)
		return doc.name

	def test_an_ad_referral_sequence_enrols_the_writer_once_and_their_answer_hands_over(self):
		welcome_ad, other_ad = ad_id(15), ad_id(16)
		self.write_from_ad(wa(15), source_id=welcome_ad, headline=f"_ME Welcome {RUN}")
		self.write_from_ad(wa(16), source_id=other_ad, headline=f"_ME Other {RUN}")
		this_ad = self.ad_sequence(f"_ME This Ad Welcome {RUN}", welcome_ad)
		any_ad = self.ad_sequence(f"_ME Any Ad Welcome {RUN}", None)
		other = self.ad_sequence(f"_ME Other Ad Welcome {RUN}", other_ad)

		message = self.write_from_ad(wa(17), source_id=welcome_ad, headline=f"_ME Welcome {RUN}")

		def enrollments():
			return {
				e.sequence: e
				for e in frappe.get_all(
					"Drip Enrollment",
					{"sequence": ("in", (this_ad, any_ad, other))},
					[
						"sequence",
						"status",
						"contact_doctype",
						"contact_name",
						"reference_name",
						"stop_reason",
					],
				)
			}

		enrolled = enrollments()
		self.assertEqual(set(enrolled), {this_ad, any_ad}, "the other ad's sequence is not this person's")
		for enrollment in enrolled.values():
			# The message that started the sequence did not stop it as a reply.
			self.assertEqual(enrollment.status, "Active")
			self.assertEqual(
				(enrollment.contact_doctype, enrollment.reference_name),
				("Lead", message.name),
			)

		# Their next message is an answer: a person takes over.
		self.write_from_ad(wa(17), text="What are your prices?", source_id=welcome_ad)
		stopped = enrollments()
		self.assertEqual({e.status for e in stopped.values()}, {"Stopped"})
		self.assertEqual({e.stop_reason for e in stopped.values()}, {"Replied"})
		# Another tap on the same ad does not enrol them again.
		self.write_from_ad(wa(17), text="Hello again", source_id=welcome_ad)
		self.assertEqual(len(frappe.get_all("Drip Enrollment", {"sequence": this_ad})), 1)
