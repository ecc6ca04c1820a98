import json
import time

import frappe
from frappe.tests.utils import FrappeTestCase

from marketing_engine.engine.webhook import sign
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	SYSTEM_ACCOUNT,
	configure_channel,
	sandbox_numbers,
	start_simulator,
	webhook_request,
)


def delivery(field: str, value: dict, waba: str = "200000000000001") -> bytes:
	body = {
		"object": "whatsapp_business_account",
		"entry": [{"id": waba, "changes": [{"value": value, "field": field}]}],
	}
	return json.dumps(body).encode()


def status(message_id: str, state: str, at: int, callback: str | None = None, **extra) -> bytes:
	entry = {"id": message_id, "status": state, "timestamp": str(at), "recipient_id": "919800000201", **extra}
	if callback:
		entry["biz_opaque_callback_data"] = callback
	return delivery("messages", {"metadata": {"phone_number_id": "100000000000001"}, "statuses": [entry]})


def inbound(wa_id: str, message: dict) -> bytes:
	message = {
		"from": wa_id,
		"id": f"wamid.IN{frappe.generate_hash(length=10)}",
		"timestamp": str(int(time.time())),
		**message,
	}
	return delivery(
		"messages",
		{
			"metadata": {"phone_number_id": "100000000000002"},
			"contacts": [{"wa_id": wa_id, "profile": {"name": "Asha"}}],
			"messages": [message],
		},
	)


class TestWebhook(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.simulator = start_simulator(sandbox_numbers())
		numbers = configure_channel(cls.simulator.base_url)
		cls.system_secret = numbers["system"].app_secret
		cls.business_secret = numbers["business"].app_secret

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		super().tearDownClass()

	def outbound(self, message_id: str | None = "wamid.T" + "0" * 8, status: str = "Accepted") -> str:
		message = frappe.get_doc(
			{
				"doctype": "WhatsApp Message",
				"direction": "Outbound",
				"status": status,
				"phone": "+919800000201",
				"account": SYSTEM_ACCOUNT,
				"category": "UTILITY",
				"message_id": message_id,
			}
		).insert(ignore_permissions=True)
		return message.name

	def post(self, body: bytes, secret: str | None = None):
		return webhook_request("POST", body, secret=self.system_secret if secret is None else secret)

	# -- subscription ---------------------------------------------------------------------
	def test_subscription_answers_challenge_only_for_our_verify_token(self):
		ok = webhook_request(
			"GET",
			query_string={
				"hub.mode": "subscribe",
				"hub.verify_token": "verify-system",
				"hub.challenge": "987",
			},
		)
		self.assertEqual((ok.status_code, ok.get_data(as_text=True)), (200, "987"))
		bad = webhook_request(
			"GET", query_string={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "987"}
		)
		self.assertEqual(bad.status_code, 403)
		self.assertNotIn("987", bad.get_data(as_text=True))

	# -- signature ------------------------------------------------------------------------
	def test_signed_status_is_applied(self):
		name = self.outbound("wamid.SIGNED1")
		response = self.post(status("wamid.SIGNED1", "delivered", 1764000000))
		self.assertEqual(response.status_code, 200)
		self.assertEqual(frappe.db.get_value("WhatsApp Message", name, "status"), "Delivered")

	def test_business_app_secret_is_accepted_too(self):
		name = self.outbound("wamid.SIGNED2")
		self.assertEqual(
			self.post(status("wamid.SIGNED2", "sent", 1764000000), self.business_secret).status_code, 200
		)
		self.assertEqual(frappe.db.get_value("WhatsApp Message", name, "status"), "Sent")

	def test_forged_or_unsigned_payloads_are_refused_and_change_nothing(self):
		name = self.outbound("wamid.FORGED")
		body = status("wamid.FORGED", "read", 1764000000)
		forged = self.post(body, secret="not-the-app-secret")
		unsigned = webhook_request("POST", body)
		tampered = webhook_request(
			"POST",
			body.replace(b'"read"', b'"failed"'),
			headers={"X-Hub-Signature-256": sign(body, self.system_secret)},
		)
		self.assertEqual([forged.status_code, unsigned.status_code, tampered.status_code], [403, 403, 403])
		self.assertEqual(frappe.db.get_value("WhatsApp Message", name, "status"), "Accepted")

	def test_malformed_signed_payload_is_a_400(self):
		for body in (
			b"{not json",
			json.dumps({"object": "page"}).encode(),
			delivery("messages", {"statuses": [{"status": "read"}]}),
		):
			self.assertEqual(self.post(body).status_code, 400, body)

	def test_disabled_account_secret_is_not_trusted(self):
		account = frappe.get_doc("WhatsApp Account", SYSTEM_ACCOUNT)
		account.app_secret = "secret-of-this-account-only"
		account.save()
		body = status("wamid.X", "read", 1764000000)
		self.assertEqual(self.post(body, "secret-of-this-account-only").status_code, 200)
		account.enabled = 0
		account.save()
		try:
			self.assertEqual(self.post(body, "secret-of-this-account-only").status_code, 403)
		finally:
			account.reload()
			account.update({"enabled": 1, "app_secret": self.system_secret})
			account.save()

	# -- status ordering ------------------------------------------------------------------
	def test_late_older_status_never_overwrites_newer(self):
		name = self.outbound("wamid.ORDER")
		self.post(status("wamid.ORDER", "read", 1764000300))
		self.post(status("wamid.ORDER", "delivered", 1764000200))
		self.post(status("wamid.ORDER", "sent", 1764000100))
		self.post(status("wamid.ORDER", "delivered", 1764000200))  # a redelivery
		message = frappe.get_doc("WhatsApp Message", name)
		self.assertEqual(message.status, "Read")
		self.assertTrue(message.sent_at < message.delivered_at < message.read_at)

	def test_failed_with_error_records_code_and_title(self):
		name = self.outbound("wamid.FAIL")
		self.post(status("wamid.FAIL", "sent", 1764000000))
		self.post(
			status(
				"wamid.FAIL",
				"failed",
				1764000001,
				errors=[{"code": 131026, "title": "Message undeliverable"}],
			)
		)
		message = frappe.get_doc("WhatsApp Message", name)
		self.assertEqual(
			(message.status, message.error_code, message.error_title),
			("Failed", 131026, "Message undeliverable"),
		)

	def test_status_reconciles_a_send_whose_answer_was_lost(self):
		name = self.outbound(message_id=None, status="Queued")
		self.post(status("wamid.LOST", "sent", 1764000000, callback=name))
		self.assertEqual(
			frappe.db.get_value("WhatsApp Message", name, ["message_id", "status"]), ("wamid.LOST", "Sent")
		)
		# the callback data cannot move an id that is already known
		other = self.outbound("wamid.KNOWN")
		self.post(status("wamid.OTHER", "read", 1764000000, callback=other))
		self.assertEqual(
			frappe.db.get_value("WhatsApp Message", other, ["message_id", "status"]),
			("wamid.KNOWN", "Accepted"),
		)

	def test_pricing_is_recorded(self):
		name = self.outbound("wamid.PRICE")
		self.post(
			status(
				"wamid.PRICE",
				"sent",
				1764000000,
				pricing={"billable": True, "pricing_model": "PMP", "category": "utility"},
			)
		)
		self.assertEqual(
			frappe.db.get_value("WhatsApp Message", name, ["pricing_category", "billable"]), ("utility", 1)
		)

	# -- inbound and consent --------------------------------------------------------------
	def test_stop_word_opts_out_at_once_and_message_is_stored_once(self):
		body = inbound("919800000202", {"type": "text", "text": {"body": "Stop"}})
		self.post(body)
		self.post(body)  # Meta redelivers
		self.assertEqual(
			frappe.db.count("WhatsApp Message", {"phone": "+919800000202", "direction": "Inbound"}), 1
		)
		consent = frappe.get_doc("WhatsApp Consent", "+919800000202")
		self.assertEqual((consent.status, consent.opt_out_source), ("Opted Out", "STOP Keyword"))
		self.assertEqual(frappe.db.count("WhatsApp Consent Log", {"consent": consent.name}), 1)

	def test_ordinary_reply_changes_no_consent(self):
		self.post(inbound("919800000203", {"type": "text", "text": {"body": "Can you stop by on Monday?"}}))
		self.assertFalse(frappe.db.exists("WhatsApp Consent", "+919800000203"))
		self.assertTrue(
			frappe.db.exists(
				"WhatsApp Message", {"phone": "+919800000203", "body": "Can you stop by on Monday?"}
			)
		)

	def test_marketing_opt_out_button_opts_out(self):
		self.post(
			inbound(
				"919800000204",
				{
					"type": "button",
					"button": {"text": "Stop promotions", "payload": "Stop promotions"},
					"context": {"id": "wamid.PROMO"},
				},
			),
			self.business_secret,
		)
		consent = frappe.get_doc("WhatsApp Consent", "+919800000204")
		self.assertEqual((consent.status, consent.opt_out_source), ("Opted Out", "Opt-out Button"))
		reply = frappe.get_value(
			"WhatsApp Message", {"phone": "+919800000204"}, ["reply_to_message_id", "account"]
		)
		self.assertEqual(reply, ("wamid.PROMO", BUSINESS_ACCOUNT))

	def test_user_preferences_webhook_stops_and_resumes(self):
		def preference(value, at):
			return delivery(
				"user_preferences",
				{
					"metadata": {"phone_number_id": "100000000000002"},
					"user_preferences": [
						{
							"wa_id": "919800000205",
							"category": "marketing_messages",
							"value": value,
							"timestamp": at,
						}
					],
				},
			)

		self.post(preference("stop", 1764000000))
		self.assertEqual(frappe.db.get_value("WhatsApp Consent", "+919800000205", "status"), "Opted Out")
		self.post(preference("resume", 1764000500))
		consent = frappe.get_doc("WhatsApp Consent", "+919800000205")
		self.assertEqual((consent.status, consent.opt_in_source), ("Opted In", "Meta Preference"))

	def test_meta_error_131050_records_opt_out(self):
		self.outbound("wamid.OPTOUT")
		self.post(
			status(
				"wamid.OPTOUT",
				"failed",
				1764000000,
				errors=[{"code": 131050, "title": "User has stopped marketing messages"}],
			)
		)
		self.assertEqual(
			frappe.db.get_value("WhatsApp Consent", "+919800000201", "opt_out_source"), "Meta Error 131050"
		)

	def test_start_reply_opts_in_only_when_the_policy_says_so(self):
		self.post(inbound("919800000206", {"type": "text", "text": {"body": "START"}}))
		self.assertFalse(frappe.db.exists("WhatsApp Consent", "+919800000206"))
		frappe.db.set_single_value("Marketing Settings", "opt_in_policy", "Recorded opt-in or START reply")
		frappe.clear_document_cache("Marketing Settings", "Marketing Settings")
		try:
			self.post(inbound("919800000206", {"type": "text", "text": {"body": "start"}}))
			consent = frappe.get_doc("WhatsApp Consent", "+919800000206")
			self.assertEqual((consent.status, consent.opt_in_source), ("Opted In", "Inbound Message"))
		finally:
			frappe.db.set_single_value("Marketing Settings", "opt_in_policy", "Recorded opt-in only")
			frappe.clear_document_cache("Marketing Settings", "Marketing Settings")

	def test_inbound_message_is_linked_to_the_customer(self):
		from marketing_engine.tests.utils import make_customer

		customer = make_customer("98000 00207")  # typed without the country code
		self.post(inbound("919800000207", {"type": "text", "text": {"body": "Hello"}}))
		self.assertEqual(
			frappe.db.get_value(
				"WhatsApp Message", {"phone": "+919800000207"}, ["contact_doctype", "contact_name"]
			),
			("Customer", customer),
		)
