"""Conversions back to Meta through the real webhook and the simulator: an ad's person becomes a
Lead (LeadSubmitted) and books (Purchase, base net total and currency, the ad's click id); each
reaches Meta once, a failure Meta may get over is retried after its back-off, one it will not is
kept Failed with Meta's words; a cancelled order is recorded, an opted-out person not reported,
and with the setting off nothing is recorded at all."""

from datetime import timedelta
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from marketing_engine.channel.consent import record_opt_out
from marketing_engine.engine.consent import OptOutSource
from marketing_engine.roi import conversions
from marketing_engine.tests.test_ads import ad_id, referral, wa
from marketing_engine.tests.test_webhook import inbound
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	book_lead,
	configure_channel,
	restore_defaults,
	sandbox_numbers,
	start_simulator,
	use_test_customer_defaults,
	webhook_request,
)


class TestConversionsToMeta(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.simulator = start_simulator(sandbox_numbers())
		cls.secret = configure_channel(cls.simulator.base_url)["business"].app_secret
		cls.defaults = use_test_customer_defaults()
		frappe.db.set_single_value("Marketing Settings", "send_conversions", 1)
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "conversions_dataset", None)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		frappe.db.set_single_value("Marketing Settings", "send_conversions", 0)
		restore_defaults(cls.defaults)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		self.simulator.reset_conversions()
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "conversions_dataset", None)
		frappe.db.delete("WhatsApp Conversion", {"status": "Queued"})  # earlier tests' leftovers

	def write_from_ad(self, n: int, source: int, text: str = "Is the offer on?") -> tuple[str, str]:
		kept = referral(source_id=ad_id(source), headline=f"_ME Conversions {source}")
		body = inbound(wa(n), {"type": "text", "text": {"body": text}, "referral": kept})
		self.assertEqual(webhook_request("POST", body, secret=self.secret).status_code, 200)
		lead = frappe.db.get_value("WhatsApp Ad Referral", {"phone": f"+{wa(n)}"}, "lead")
		return lead, kept["ctwa_clid"]

	def conversion(self, **filters):
		return frappe.get_doc("WhatsApp Conversion", filters)

	def events(self, name: str) -> list[dict]:
		return [r["event"] for r in self.simulator.conversion_events() if r["event"]["event_name"] == name]

	def test_lead_and_purchase_reach_meta_once_each(self):
		lead, clid = self.write_from_ad(40, 40)
		submitted = self.conversion(reference_doctype="Lead", reference_name=lead)
		self.assertEqual((submitted.event_name, submitted.status), ("LeadSubmitted", "Queued"))
		self.assertEqual(conversions.send_due(), 1)
		(event,) = self.events("LeadSubmitted")
		self.assertEqual(
			(event["action_source"], event["messaging_channel"], event["user_data"]["ctwa_clid"]),
			("business_messaging", "whatsapp", clid),
		)
		waba = frappe.db.get_value("WhatsApp Account", BUSINESS_ACCOUNT, "waba_id")
		self.assertEqual(str(event["user_data"]["whatsapp_business_account_id"]), waba)
		self.assertEqual(event["event_id"], submitted.event_id)
		self.assertTrue(frappe.db.get_value("WhatsApp Account", BUSINESS_ACCOUNT, "conversions_dataset"))

		_quotation, order = book_lead(lead, 36000)
		self.assertEqual(conversions.send_due(), 1)
		(purchase,) = self.events("Purchase")
		currency = frappe.get_cached_value("Company", order.company, "default_currency")
		self.assertEqual(purchase["custom_data"], {"value": 36000.0, "currency": currency})
		self.assertEqual(purchase["user_data"]["ctwa_clid"], clid)
		(shown,) = conversions.conversions_of_order(order.name)
		self.assertEqual((shown.event_name, shown.status), ("Purchase", "Sent"))
		self.assertIsNotNone(shown.sent_at)

		# Nothing is sent twice: another pass has nothing due, queueing again is a no-op.
		requests = len(self.simulator.conversion_requests)
		self.assertEqual(conversions.send_due(), 0)
		self.assertIsNone(conversions.on_sales_order_submit(order))
		self.assertEqual(frappe.db.count("WhatsApp Conversion", {"reference_name": order.name}), 1)
		self.assertEqual(len(self.simulator.conversion_requests), requests)

		# Cancelling is recorded on the conversion; Meta hears nothing.
		order.reload()
		order.cancel()
		self.assertEqual(conversions.send_due(), 0)
		cancelled = self.conversion(reference_name=order.name)
		self.assertEqual(cancelled.status, "Sent")
		self.assertIsNotNone(cancelled.order_cancelled_at)
		self.assertEqual(len(self.simulator.conversion_requests), requests)

	def test_a_failure_meta_may_get_over_is_retried_after_its_back_off(self):
		lead, _clid = self.write_from_ad(41, 41)
		self.simulator.fail_conversions(count=1, status=500, code=2)
		self.assertEqual(conversions.send_due(), 0)
		row = self.conversion(reference_name=lead)
		self.assertEqual((row.status, row.attempts), ("Queued", 1))
		self.assertIn("trying again at", row.reason)
		self.assertAlmostEqual(
			(row.next_attempt_at - now_datetime()).total_seconds(), 60, delta=10
		)  # the first back-off: a minute
		self.assertEqual(conversions.send_due(), 0, "not before its time")
		later = now_datetime() + timedelta(minutes=2)
		with patch("marketing_engine.roi.conversions.now_datetime", return_value=later):
			self.assertEqual(conversions.send_due(), 1)
		row.reload()
		self.assertEqual((row.status, row.attempts), ("Sent", 2))
		self.assertEqual(len(self.events("LeadSubmitted")), 1)

	def test_a_refusal_is_kept_failed_with_metas_words_and_the_rest_still_go(self):
		first, _ = self.write_from_ad(42, 42)
		second, _ = self.write_from_ad(43, 43)
		# Meta refuses the batch, then the first event alone: the second still goes, alone.
		self.simulator.fail_conversions(count=2, status=400, code=100, message="Invalid parameter")
		self.assertEqual(conversions.send_due(), 1)
		rows = {name: self.conversion(reference_name=name) for name in (first, second)}
		self.assertEqual(sorted(r.status for r in rows.values()), ["Failed", "Sent"])
		failed = next(r for r in rows.values() if r.status == "Failed")
		self.assertIn("Invalid parameter", failed.reason)
		self.assertEqual(conversions.send_due(), 0, "a refusal is not retried")

	def test_an_opted_out_person_is_not_reported_and_the_setting_off_records_nothing(self):
		record_opt_out(f"+{wa(44)}", OptOutSource.STOP_KEYWORD)
		lead, _ = self.write_from_ad(44, 44)
		row = self.conversion(reference_name=lead)
		self.assertEqual((row.status, row.reason), ("Not Sent", "The person opted out of WhatsApp marketing"))
		self.assertEqual(conversions.send_due(), 0)
		frappe.db.set_single_value("Marketing Settings", "send_conversions", 0)
		try:
			lead, _ = self.write_from_ad(45, 45)
			self.assertFalse(frappe.db.exists("WhatsApp Conversion", {"reference_name": lead}))
		finally:
			frappe.db.set_single_value("Marketing Settings", "send_conversions", 1)
