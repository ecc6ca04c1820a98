"""ROI end to end over real HTTP to Frappe's web server: a campaign sent through the simulator, a
click through the tracked redirect, the booking form, a Lead with the campaign, a Quotation and a
Sales Order; the Attribution row, the ROI report and ERPNext's Campaign Efficiency agree; a
cancellation takes the revenue away. Also: forged tokens, WhatsApp's preview fetch, the
attribution window's edges, and a reproducible holdout."""

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import frappe
import requests
from frappe.utils import get_url, now_datetime

from marketing_engine.channel.consent import record_opt_in
from marketing_engine.engine.consent import OptInSource
from marketing_engine.engine.tracking import in_holdout
from marketing_engine.roi import attribution
from marketing_engine.roi.clicks import waiting_count as clicks_waiting
from marketing_engine.roi.links import landing_url
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	LiveChannelTestCase,
	RQWorker,
	book_lead,
	campaign_efficiency_row,
	group_segment,
	make_customer,
	make_customer_group,
	make_sales_order,
	template_name,
	wait_until,
	webhooks_applied,
)

BROWSER = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36"
WHATSAPP_PREVIEW = "WhatsApp/2.24.22.80 A"


class TestROI(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.run_id = frappe.generate_hash(length=5)
		cls.group = make_customer_group(f"_ME ROI {cls.run_id}")
		cls.people = []
		base = int(frappe.generate_hash(length=4), 16) % 9000
		for i in range(10):
			phone = f"+9198130{base + i:05d}"
			customer = make_customer(phone, name=f"_ME ROI Client {cls.run_id} {i}", group=cls.group)
			record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
			cls.people.append((customer, phone))
		cls.segment = group_segment(f"_ME ROI {cls.run_id}", cls.group)
		frappe.db.commit()
		cls.worker = RQWorker().start()

	@classmethod
	def tearDownClass(cls):
		cls.worker.stop()
		super().tearDownClass()

	def send_campaign(self, title: str, holdout: float = 0):
		campaign = frappe.get_doc(
			{
				"doctype": "WhatsApp Campaign",
				"campaign_name": f"{title} {self.run_id}",
				"segments": [{"segment": self.segment}],
				"template": template_name(BUSINESS_ACCOUNT, "diwali_offer"),
				"holdout_percent": holdout,
				"variables": [
					{"variable": "name", "value_type": "Document Field", "value": "first_name"},
					{"variable": "offer", "value_type": "Fixed Text", "value": "20% off family portraits"},
					{
						"variable": "link",
						"value_type": "Tracked Link",
						"value": f"{self.server.url}/book?ref=festive#slots",
					},
				],
			}
		).insert()
		frappe.db.commit()
		campaign.confirm_send()
		frappe.db.commit()
		self.assertTrue(
			wait_until(
				lambda: frappe.db.get_value("WhatsApp Campaign", campaign.name, "status") == "Completed", 60
			)
		)
		self.assertTrue(webhooks_applied(self.simulator))
		return frappe.get_doc("WhatsApp Campaign", campaign.name)

	def token_sent_to(self, phone: str, campaign: str) -> str:
		names = set(frappe.get_all("WhatsApp Message", {"campaign": campaign}, pluck="name"))
		(sent,) = [m for m in self.simulator.sent if m.to == phone.lstrip("+") and m.callback_data in names]
		(button,) = [c for c in sent.payload["template"]["components"] if c["type"] == "button"]
		return button["parameters"][0]["text"]

	def clicks(self, campaign: str) -> int:
		# The redirect keeps a click in Redis; the short-queue worker writes it within a moment.
		self.assertTrue(wait_until(lambda: not clicks_waiting(), 15))
		frappe.db.rollback()
		return frappe.db.count("WhatsApp Link Click", {"campaign": campaign})

	def test_campaign_click_booking_form_quotation_order_attribution_report_and_efficiency(self):
		campaign = self.send_campaign("_ME ROI Diwali Offer")
		customer, phone = self.people[0]
		token = self.token_sent_to(phone, campaign.name)
		browser = requests.Session()
		browser.headers["User-Agent"] = BROWSER

		# WhatsApp fetches the link to draw its preview: redirected, not a click.
		preview = requests.get(
			f"{self.server.url}/r/{token}", headers={"User-Agent": WHATSAPP_PREVIEW}, allow_redirects=False
		)
		self.assertEqual(preview.status_code, 302)
		self.assertEqual(self.clicks(campaign.name), 0)

		# The person taps: 302 to the destination with the campaign's utm values, its own kept.
		tapped = browser.get(f"{self.server.url}/r/{token}", allow_redirects=False)
		self.assertEqual(tapped.status_code, 302)
		location = urlparse(tapped.headers["Location"])
		query = parse_qs(location.query)
		self.assertEqual(location.path, "/book")
		self.assertEqual(location.fragment, "slots")
		self.assertEqual(
			(query["ref"], query["utm_source"], query["utm_medium"], query["utm_campaign"]),
			(["festive"], [campaign.utm_source], ["whatsapp"], [campaign.campaign_name]),
		)
		self.assertEqual(self.clicks(campaign.name), 1)
		click = frappe.get_all("WhatsApp Link Click", {"campaign": campaign.name}, ["phone", "message"])[0]
		self.assertEqual(click.phone, phone)

		# The booking form, as the browser submits it: its script put the cookie's utm_source in.
		self.assertIn("whatsapp_utm", browser.cookies)
		form = browser.get(f"{self.server.url}/book")
		self.assertEqual(form.status_code, 200)
		utm_source = browser.cookies["whatsapp_utm"].split("|")[0]
		accepted = browser.post(
			f"{self.server.url}/api/method/frappe.website.doctype.web_form.web_form.accept",
			data={
				"web_form": "book-a-shoot",
				"data": json.dumps(
					{
						"doctype": "Lead",
						"first_name": "Asha",
						"mobile_no": phone,
						"inquiry_details": "Diwali family portrait, 6 people",
						"utm_source": utm_source,
					}
				),
			},
		)
		self.assertEqual(accepted.status_code, 200, accepted.text[:500])
		frappe.db.rollback()
		lead = frappe.get_doc("Lead", {"whatsapp_number": phone, "inquiry_details": ("like", "%Diwali%")})
		self.assertEqual(
			(lead.campaign_name, lead.source, lead.customer), (campaign.campaign, "WhatsApp", customer)
		)
		# Not Guest, the visitor who filled the form: someone at the studio, who made the campaign
		# (or takes campaign replies, when the settings name someone).
		settings = frappe.get_single("Marketing Settings")
		studio_user = (
			settings.campaign_reply_user
			if settings.hand_over_campaign_replies and settings.campaign_reply_user
			else campaign.owner
		)
		self.assertEqual(lead.lead_owner, studio_user)

		# The studio quotes the lead and books it: ERPNext carries the campaign to the order.
		quotation, order = book_lead(lead.name, 50000)
		self.assertEqual(quotation.campaign, campaign.campaign)
		frappe.db.commit()
		self.assertEqual((order.customer, order.campaign), (customer, campaign.campaign))

		(row,) = frappe.get_all(
			"Attribution", {"sales_order": order.name}, ["campaign", "touch", "revenue", "status", "lead"]
		)
		self.assertEqual(
			(row.campaign, row.touch, row.revenue, row.status, row.lead),
			(campaign.name, "UTM Landing", order.base_net_total, "Active", lead.name),
		)
		from marketing_engine.roi.figures import campaign_figures

		figures = campaign_figures(campaign.name)
		self.assertEqual((figures["bookings"], figures["revenue"], figures["clicked"]), (1, 50000, 1))
		self.assertGreater(figures["cost"], 0)
		self.assertAlmostEqual(figures["roi"], 50000 / figures["cost"], places=2)
		efficiency = campaign_efficiency_row(campaign.campaign)
		self.assertEqual(
			(
				efficiency["lead_count"],
				efficiency["quot_count"],
				efficiency["order_count"],
				efficiency["order_value"],
			),
			(1, 1, 1, 50000),
		)

		# Cancelled: the revenue goes, in the report and in ERPNext's.
		order.reload()
		order.cancel()
		frappe.db.commit()
		self.assertEqual(
			frappe.db.get_value("Attribution", {"sales_order": order.name}, "status"), "Cancelled"
		)
		self.assertEqual(campaign_figures(campaign.name)["revenue"], 0)

	def test_a_forged_or_unknown_token_goes_home_and_records_nothing(self):
		for path in ("/r/AAAAAAAAAAAAAAAAAAAAAA", "/r/not-a-token", "/r/%27%20or%201=1--"):
			response = requests.get(
				self.server.url + path, headers={"User-Agent": BROWSER}, allow_redirects=False
			)
			self.assertEqual(response.status_code, 302, path)
			self.assertEqual(urlparse(response.headers["Location"]).path, "/")
			self.assertNotIn("Traceback", response.text)
			self.assertNotIn("whatsapp_utm", response.cookies)

	def test_other_pages_are_resolved_by_frappe_as_before(self):
		# The app answers /r/<token> before Frappe's website machinery (which costs more than the
		# click itself), and leaves every other path to Frappe.
		def get(path):
			return requests.get(
				self.server.url + path, headers={"User-Agent": BROWSER}, allow_redirects=False
			)

		book = get("/book")
		self.assertEqual((book.status_code, urlparse(book.headers["Location"]).path), (301, "/book/new"))
		self.assertEqual(get("/book/new").status_code, 200)
		self.assertEqual(get("/r/not/a-token").status_code, 404)
		self.assertEqual(get("/no-such-page-of-the-studio").status_code, 404)

	def test_a_path_is_a_page_of_this_site_and_a_web_form_lands_on_its_form(self):
		# Frappe redirects /book to /book/new and drops the query, and the utm values with it.
		site = get_url()
		self.assertEqual(landing_url("/book?ref=festive#slots"), f"{site}/book/new?ref=festive#slots")
		self.assertEqual(landing_url(f"{site}/book/"), f"{site}/book/new")
		self.assertEqual(landing_url("/portfolio"), f"{site}/portfolio")
		self.assertEqual(landing_url("https://studio.example/book"), "https://studio.example/book")

	def test_a_destination_no_click_could_reach_is_refused_when_saved(self):
		for destination in ("book", "javascript:alert(1)", "//evil.example/x", "", "ftp://studio.example/a"):
			campaign = frappe.get_doc(
				{
					"doctype": "WhatsApp Campaign",
					"campaign_name": f"_ME ROI Bad Link {self.run_id}",
					"segments": [{"segment": self.segment}],
					"template": template_name(BUSINESS_ACCOUNT, "diwali_offer"),
					"variables": [
						{"variable": "name", "value_type": "Document Field", "value": "first_name"},
						{"variable": "offer", "value_type": "Fixed Text", "value": "20% off"},
						{"variable": "link", "value_type": "Tracked Link", "value": destination},
					],
				}
			)
			with self.assertRaises(frappe.ValidationError, msg=destination) as refused:
				campaign.insert()
			self.assertIn("Tracked Link leads to a web address", str(refused.exception))

	def test_an_order_without_a_campaign_takes_the_last_touch_within_the_window(self):
		campaign = self.send_campaign("_ME ROI Click Window")
		customer, phone = self.people[1]
		token = self.token_sent_to(phone, campaign.name)
		requests.get(f"{self.server.url}/r/{token}", headers={"User-Agent": BROWSER}, allow_redirects=False)
		self.assertEqual(self.clicks(campaign.name), 1)

		order = make_sales_order(customer, 30000)  # nobody set a campaign
		self.assertEqual((order.campaign, order.source), (campaign.campaign, "WhatsApp"))
		self.assertEqual(frappe.db.get_value("Attribution", {"sales_order": order.name}, "touch"), "Click")

		# A campaign set by hand is the studio's word.
		other = frappe.get_doc(
			{"doctype": "Campaign", "campaign_name": f"_ME ROI Walk-in {self.run_id}"}
		).insert()
		by_hand = make_sales_order(customer, 10000, submit=False)
		by_hand.campaign = other.name
		by_hand.submit()
		self.assertEqual(by_hand.campaign, other.name)
		self.assertFalse(frappe.db.exists("Attribution", {"sales_order": by_hand.name}))

		# The window's edges: exactly 7 days after the click counts, a minute more does not.
		clicked_at = frappe.db.get_value("WhatsApp Link Click", {"campaign": campaign.name}, "clicked_at")
		edge = attribution.last_touch_of(customer, clicked_at + timedelta(days=7))
		self.assertEqual((edge.kind, edge.campaign), ("click", campaign.name))
		self.assertIsNone(attribution.last_touch_of(customer, clicked_at + timedelta(days=7, minutes=1)))
		self.assertIsNone(attribution.last_touch_of(customer, clicked_at - timedelta(minutes=1)))

	def test_a_reply_is_a_touch(self):
		campaign = self.send_campaign("_ME ROI Reply")
		customer, phone = self.people[2]
		message_id = frappe.db.get_value(
			"WhatsApp Message", {"campaign": campaign.name, "phone": phone}, "message_id"
		)
		self.simulator.user_sends_text(
			self.numbers[1].phone_number_id, phone.lstrip("+"), "Is 2 Nov free?", message_id
		)
		self.assertTrue(webhooks_applied(self.simulator))
		order = make_sales_order(customer, 20000)
		self.assertEqual(order.campaign, campaign.campaign)
		self.assertEqual(frappe.db.get_value("Attribution", {"sales_order": order.name}, "touch"), "Reply")

	def test_holdout_is_reproducible_and_held_out_people_get_nothing(self):
		# A name whose split holds some people back and messages the others (chosen, not hoped for).
		title = next(
			f"_ME ROI Holdout {k}"
			for k in range(100)
			if 0 < sum(in_holdout(f"_ME ROI Holdout {k} {self.run_id}", p, 0.3) for _, p in self.people) < 5
		)
		campaign = self.send_campaign(title, holdout=30)
		held = set(
			frappe.get_all(
				"WhatsApp Message", {"campaign": campaign.name, "error_title": "Holdout"}, pluck="phone"
			)
		)
		expected = {phone for _, phone in self.people if in_holdout(campaign.name, phone, 0.3)}
		self.assertEqual(held, expected)  # the same people, however often it is computed
		names = set(frappe.get_all("WhatsApp Message", {"campaign": campaign.name}, pluck="name"))
		messaged = {m.to for m in self.simulator.sent if m.callback_data in names}
		self.assertEqual(messaged, {phone.lstrip("+") for _, phone in self.people if phone not in expected})
