"""Meta's account-health signals, emitted by the simulator and delivered through Frappe's web
server and a real worker: a paused template, a flagged number and a restricted account pause the
campaigns they touch, with the reason on the form and a notification; Meta's all-clear resumes."""

import frappe
from frappe.utils import add_days, now_datetime

from marketing_engine.campaigns.snapshot import snapshot
from marketing_engine.channel.consent import record_opt_in
from marketing_engine.engine.consent import OptInSource
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	LiveChannelTestCase,
	group_segment,
	make_customer,
	make_customer_group,
	template_name,
	wait_until,
	webhooks_applied,
)

GROUP = "_ME Health Clients"
AUDIENCE = "_ME Health Audience"


class TestAccountHealth(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_customer_group(GROUP)
		for i in range(3):
			phone = f"+91981240{i:04d}"
			name = f"_ME Health Client{i}"
			customer = frappe.db.exists("Customer", name) or make_customer(phone, name=name, group=GROUP)
			record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
		group_segment(AUDIENCE, GROUP)
		frappe.db.commit()

	def tearDown(self):
		frappe.db.rollback()
		for campaign in frappe.get_all(
			"WhatsApp Campaign", {"campaign_name": ("like", "_ME Health%")}, pluck="name"
		):
			frappe.db.delete("WhatsApp Message", {"campaign": campaign})
			frappe.delete_doc("WhatsApp Campaign", campaign, force=True)
		frappe.db.set_value(
			"WhatsApp Account",
			BUSINESS_ACCOUNT,
			{"health_status": "AVAILABLE", "can_send": 1, "quality_rating": ""},
		)
		frappe.db.commit()

	def campaign(self, name: str, template: str = "review_request", **values):
		doc = frappe.get_doc(
			{
				"doctype": "WhatsApp Campaign",
				"campaign_name": name,
				"segments": [{"segment": AUDIENCE}],
				"template": template_name(BUSINESS_ACCOUNT, template),
				"variables": [
					{"variable": "1", "value_type": "Document Field", "value": "first_name"},
					{"variable": "2", "value_type": "Fixed Text", "value": "your shoot"},
				],
				"send_mode": "Schedule",
				"scheduled_at": add_days(now_datetime(), 1),
				**values,
			}
		).insert()
		doc.confirm_send()
		frappe.db.commit()
		return doc.name

	def sending(self, name: str) -> str:
		"""A campaign in the middle of sending: its audience written, nothing sent yet (no worker
		runs the long queue in this test)."""
		campaign = self.campaign(name)
		frappe.db.set_value("WhatsApp Campaign", campaign, "status", "Sending")
		snapshot(frappe.get_doc("WhatsApp Campaign", campaign))
		frappe.db.commit()
		return campaign

	def state(self, campaign: str) -> tuple[str, str]:
		frappe.db.rollback()
		return frappe.db.get_value("WhatsApp Campaign", campaign, ["status", "status_reason"])

	def notified(self, words: str) -> bool:
		return bool(
			frappe.db.exists(
				"Notification Log", {"for_user": "Administrator", "subject": ("like", f"%{words}%")}
			)
		)

	def test_paused_template_pauses_its_campaigns_and_reinstated_resumes_them(self):
		waba = self.numbers[1].waba_id
		uses_it = self.campaign("_ME Health Review")
		other = self.campaign(
			"_ME Health Festive",
			template="festive_offer",
			header_url="https://studio.example/diwali.jpg",
			variables=[
				{"variable": "name", "value_type": "Document Field", "value": "first_name"},
				{"variable": "offer", "value_type": "Fixed Text", "value": "20% off"},
				{"variable": "campaign", "value_type": "Document Field", "value": "campaign"},
			],
		)
		sequence = frappe.get_doc(
			{
				"doctype": "Drip Sequence",
				"sequence_name": f"_ME Health Sequence {frappe.generate_hash(length=5)}",
				"trigger": "Birthday",
				"enabled": 1,
				"steps": [{"wait": 0, "template": template_name(BUSINESS_ACCOUNT, "review_request")}],
			}
		).insert()
		frappe.db.commit()
		self.simulator.emit_template_status(
			waba,
			"review_request",
			"en",
			"PAUSED",
			"NONE",
			other_info={"title": "FIRST_PAUSE", "description": "Low quality"},
		)
		self.assertTrue(webhooks_applied(self.simulator))
		status, reason = self.state(uses_it)
		self.assertEqual(status, "Paused")
		self.assertIn("paused", reason)
		self.assertIn("Low quality", reason)
		self.assertEqual(self.state(other)[0], "Scheduled")  # another template: untouched
		self.assertEqual(frappe.db.get_value("Drip Sequence", sequence.name, "status"), "Paused")
		template = template_name(BUSINESS_ACCOUNT, "review_request")
		self.assertEqual(frappe.db.get_value("WhatsApp Template", template, "status"), "PAUSED")
		self.assertTrue(self.notified("review_request"))

		self.simulator.emit_template_status(waba, "review_request", "en", "REINSTATED")
		self.assertTrue(webhooks_applied(self.simulator))
		self.assertEqual(self.state(uses_it)[0], "Scheduled")  # back to waiting for its time
		self.assertEqual(frappe.db.get_value("Drip Sequence", sequence.name, "status"), "Active")
		frappe.delete_doc("Drip Sequence", sequence.name, force=True)
		frappe.db.commit()
		self.assertEqual(frappe.db.get_value("WhatsApp Template", template, "status"), "APPROVED")

	def test_flagged_number_pauses_sending_and_unflagged_resumes(self):
		campaign = self.sending("_ME Health Flagged")
		self.simulator.emit_phone_quality(self.numbers[1].phone_number_id, "FLAGGED")
		self.assertTrue(webhooks_applied(self.simulator))
		status, reason = self.state(campaign)
		self.assertEqual(status, "Paused")
		self.assertIn("flagged", reason)
		self.assertEqual(frappe.db.get_value("WhatsApp Account", BUSINESS_ACCOUNT, "quality_rating"), "RED")
		self.assertTrue(self.notified("flagged"))

		self.simulator.emit_phone_quality(self.numbers[1].phone_number_id, "UNFLAGGED")
		self.assertTrue(webhooks_applied(self.simulator))
		self.assertEqual(self.state(campaign)[0], "Sending")

	def test_restricted_account_blocks_marketing_until_meta_lifts_it(self):
		campaign = self.sending("_ME Health Restricted")
		waba = self.numbers[1].waba_id
		self.simulator.emit_account_update(
			waba,
			"ACCOUNT_RESTRICTION",
			restrictions=[
				{
					"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
					"expiration": "2026-12-01T00:00:00+0000",
				}
			],
		)
		self.assertTrue(webhooks_applied(self.simulator))
		self.assertEqual(self.state(campaign)[0], "Paused")
		self.assertEqual(
			frappe.db.get_value("WhatsApp Account", BUSINESS_ACCOUNT, "health_status"), "BLOCKED"
		)
		# Resuming by hand is refused while the account is blocked, with the reason.
		with self.assertRaises(frappe.ValidationError):
			frappe.get_doc("WhatsApp Campaign", campaign).resume()
		frappe.db.rollback()

		self.simulator.emit_account_update(waba, "ACCOUNT_RESTRICTION")  # no restrictions left
		self.assertTrue(webhooks_applied(self.simulator))
		self.assertTrue(
			wait_until(lambda: frappe.db.get_value("WhatsApp Campaign", campaign, "status") == "Sending", 10)
		)
		self.assertEqual(
			frappe.db.get_value("WhatsApp Account", BUSINESS_ACCOUNT, "health_status"), "AVAILABLE"
		)
