"""The booking confirmation of a Sales Order, end to end over real HTTP: Frappe sends through
the Graph API simulator, and the simulator's signed status webhooks come back through Frappe's
own web server. The web server is another process, so this test commits what it creates and
removes it afterwards."""

import time

import frappe

from marketing_engine.api.sales_order import send_booking_confirmation
from marketing_engine.engine.simulator import Outcome
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	SYSTEM_ACCOUNT,
	LiveChannelTestCase,
	make_customer,
	make_sales_order,
)


class TestSalesOrderConfirmation(LiveChannelTestCase):
	@classmethod
	def tearDownClass(cls):
		super().tearDownClass()
		for name in frappe.get_all(
			"WhatsApp Message", filters={"account": ("in", [SYSTEM_ACCOUNT, BUSINESS_ACCOUNT])}, pluck="name"
		):
			frappe.delete_doc("WhatsApp Message", name, force=True, ignore_permissions=True)
		for name in frappe.get_all(
			"WhatsApp Template", filters={"account": ("in", [SYSTEM_ACCOUNT, BUSINESS_ACCOUNT])}, pluck="name"
		):
			frappe.delete_doc("WhatsApp Template", name, force=True, ignore_permissions=True)
		for name in (SYSTEM_ACCOUNT, BUSINESS_ACCOUNT):
			frappe.delete_doc("WhatsApp Account", name, force=True, ignore_permissions=True)
		frappe.db.commit()

	def wait_for_status(self, message: str, status: str, timeout: float = 15) -> str:
		deadline = time.time() + timeout
		while time.time() < deadline:
			frappe.db.rollback()  # see what the web server committed
			current = frappe.db.get_value("WhatsApp Message", message, "status")
			if current == status:
				return current
			time.sleep(0.1)
		return current

	def booking(self, mobile: str):
		order = make_sales_order(make_customer(mobile), rate=125000)
		frappe.db.commit()
		return order

	def test_confirmation_is_sent_through_the_system_account_and_followed_to_read(self):
		order = self.booking("+919800000301")
		result = send_booking_confirmation(order.name)
		self.assertEqual(result["status"], "Accepted", result)

		(sent,) = [m for m in self.simulator.sent if m.to == "919800000301"]
		self.assertEqual(sent.phone_number_id, self.numbers[0].phone_number_id)  # the system number
		self.assertEqual(sent.template, "booking_confirmation")
		self.assertEqual(sent.callback_data, result["message"])
		texts = [p["text"] for p in sent.payload["template"]["components"][0]["parameters"]]
		self.assertEqual(texts[:2], [order.customer_name, order.name])
		# formatted as the user sees it (Indian digit grouping on an Indian site)
		self.assertEqual(
			texts[3], frappe.format_value(order.grand_total, order.meta.get_field("grand_total"), order)
		)
		self.assertIn("25,000", texts[3])

		self.assertEqual(self.wait_for_status(result["message"], "Read"), "Read")
		message = frappe.get_doc("WhatsApp Message", result["message"])
		self.assertEqual((message.account, message.category), (SYSTEM_ACCOUNT, "UTILITY"))
		self.assertEqual((message.reference_doctype, message.reference_name), ("Sales Order", order.name))
		self.assertEqual((message.contact_doctype, message.contact_name), ("Customer", order.customer))
		self.assertEqual(message.message_id, sent.message_id)
		self.assertTrue(message.sent_at and message.delivered_at and message.read_at)
		self.assertEqual(message.pricing_category, "utility")
		self.assertIn(order.name, message.body)

	def test_undeliverable_number_ends_failed_with_metas_reason(self):
		order = self.booking("+919800000302")
		self.simulator.outcomes["919800000302"] = Outcome(131026, "Message undeliverable")
		result = send_booking_confirmation(order.name)
		self.assertEqual(self.wait_for_status(result["message"], "Failed"), "Failed")
		error = frappe.db.get_value("WhatsApp Message", result["message"], ["error_code", "error_title"])
		self.assertEqual(error, (131026, "Message undeliverable"))

	def test_expired_token_is_recorded_not_lost(self):
		order = self.booking("+919800000303")
		self.simulator.expired_tokens.add(self.numbers[0].access_token)
		try:
			result = send_booking_confirmation(order.name)
		finally:
			self.simulator.expired_tokens.clear()
		self.assertEqual(result["status"], "Failed")
		self.assertIn("(190)", result["error"])
		self.assertIn("190", frappe.db.get_value("WhatsApp Account", SYSTEM_ACCOUNT, "health_detail"))
		self.assertFalse([m for m in self.simulator.sent if m.to == "919800000303"])

	def test_lost_answer_is_reconciled_from_the_webhook_without_a_second_send(self):
		order = self.booking("+919800000304")
		self.simulator.latency = 0.6
		frappe.db.set_value("WhatsApp Account", SYSTEM_ACCOUNT, "request_timeout", 0.2)
		try:
			result = send_booking_confirmation(order.name)
		finally:
			frappe.db.set_value("WhatsApp Account", SYSTEM_ACCOUNT, "request_timeout", 30)
			frappe.db.commit()
			self.simulator.latency = 0
		self.assertEqual(result["status"], "Queued")  # no answer: neither sent again nor failed
		self.assertEqual(self.wait_for_status(result["message"], "Read"), "Read")
		sent = [m for m in self.simulator.sent if m.to == "919800000304"]
		self.assertEqual(len(sent), 1)
		self.assertEqual(
			frappe.db.get_value("WhatsApp Message", result["message"], "message_id"), sent[0].message_id
		)

	def test_draft_order_and_missing_number_are_refused(self):
		draft = make_sales_order(make_customer("+919800000305"), submit=False)
		self.assertRaisesRegex(
			frappe.ValidationError, "Submit the Sales Order", send_booking_confirmation, draft.name
		)
		no_number = make_sales_order(make_customer(None))
		self.assertRaisesRegex(
			frappe.ValidationError, "no mobile number", send_booking_confirmation, no_number.name
		)
