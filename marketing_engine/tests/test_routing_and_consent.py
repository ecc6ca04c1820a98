from datetime import timedelta

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from marketing_engine.channel.consent import (
	consent_state,
	record_opt_in,
	record_opt_out,
)
from marketing_engine.channel.messaging import BlockedMessage, send_template
from marketing_engine.channel.routing import route
from marketing_engine.engine.consent import OptInSource, OptOutSource
from marketing_engine.engine.routing import Block
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	SYSTEM_ACCOUNT,
	configure_channel,
	make_customer,
	sandbox_numbers,
	start_simulator,
	template_name,
)


class TestRoutingAndConsent(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.simulator = start_simulator(sandbox_numbers())
		configure_channel(cls.simulator.base_url)

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		super().tearDownClass()

	def setUp(self):
		frappe.db.set_value(
			"WhatsApp Account", BUSINESS_ACCOUNT, {"enabled": 1, "health_status": "AVAILABLE"}
		)
		frappe.db.set_single_value("Marketing Settings", "default_business_account", BUSINESS_ACCOUNT)
		frappe.clear_document_cache("Marketing Settings", "Marketing Settings")

	def test_transactional_goes_through_system_account_without_consent(self):
		decision = route("UTILITY", "+919800000101")
		self.assertTrue(decision.allowed)
		self.assertEqual(decision.account, SYSTEM_ACCOUNT)

	def test_marketing_needs_an_opt_in_and_goes_through_business_account(self):
		phone = "+919800000102"
		self.assertEqual(route("MARKETING", phone).block, Block.NO_CONSENT)
		record_opt_in(phone, OptInSource.FORM)
		decision = route("MARKETING", phone)
		self.assertTrue(decision.allowed)
		self.assertEqual(decision.account, BUSINESS_ACCOUNT)

	def test_opt_out_blocks_marketing_at_once(self):
		phone = "+919800000103"
		record_opt_in(phone, OptInSource.CSV, now_datetime() - timedelta(days=1))
		record_opt_out(phone, OptOutSource.STOP_KEYWORD, detail="STOP")
		decision = route("MARKETING", phone)
		self.assertEqual(decision.block, Block.OPTED_OUT)
		self.assertIn("opted out", decision.reason)
		self.assertTrue(route("UTILITY", phone).allowed)  # transactional still reaches them

	def test_no_business_account_blocks_marketing_with_reason(self):
		phone = "+919800000104"
		record_opt_in(phone, OptInSource.MANUAL)
		frappe.db.set_single_value("Marketing Settings", "default_business_account", None)
		frappe.clear_document_cache("Marketing Settings", "Marketing Settings")
		decision = route("MARKETING", phone)
		self.assertEqual(decision.block, Block.NO_BUSINESS_ACCOUNT)
		self.assertIn("Marketing Settings", decision.reason)

	def test_unhealthy_or_disabled_business_account_blocks_marketing(self):
		phone = "+919800000105"
		record_opt_in(phone, OptInSource.MANUAL)
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "health_status", "BLOCKED")
		self.assertEqual(route("MARKETING", phone).block, Block.BUSINESS_ACCOUNT_UNHEALTHY)
		frappe.db.set_value(
			"WhatsApp Account", BUSINESS_ACCOUNT, {"health_status": "AVAILABLE", "enabled": 0}
		)
		self.assertEqual(route("MARKETING", phone).block, Block.NO_BUSINESS_ACCOUNT)

	def test_blocked_marketing_send_raises_and_sends_nothing(self):
		before = len(self.simulator.sent)
		template = template_name(BUSINESS_ACCOUNT, "review_request")
		with self.assertRaises(BlockedMessage) as caught:
			send_template(template, "+919800000106", {"1": "Asha", "2": "wedding"})
		self.assertIn("no recorded WhatsApp marketing opt-in", str(caught.exception))
		self.assertEqual(len(self.simulator.sent), before)
		self.assertFalse(frappe.db.exists("WhatsApp Message", {"phone": "+919800000106"}))

	def test_invalid_number_is_refused_with_reason(self):
		template = template_name(SYSTEM_ACCOUNT, "booking_confirmation")
		with self.assertRaises(BlockedMessage) as caught:
			send_template(template, "12345", {"1": "a", "2": "b", "3": "c", "4": "d"})
		self.assertIn("wrong number of digits", str(caught.exception))

	def test_missing_template_variable_is_refused_before_sending(self):
		template = template_name(SYSTEM_ACCOUNT, "booking_confirmation")
		with self.assertRaises(BlockedMessage) as caught:
			send_template(template, "+919800000107", {"1": "Asha"})
		self.assertIn("{{2}}, {{3}}, {{4}}", str(caught.exception))

	def test_consent_history_is_kept_and_numbers_are_normalised(self):
		now = now_datetime()
		record_opt_in("98000 00108", OptInSource.FORM, now - timedelta(minutes=2), detail="website form")
		record_opt_out("+91 98000 00108", OptOutSource.OPT_OUT_BUTTON, now - timedelta(minutes=1))
		record_opt_in("919800000108", OptInSource.MANUAL, now, detail="asked at the studio")
		consent = frappe.get_doc("WhatsApp Consent", "+919800000108")
		self.assertEqual(consent.status, "Opted In")
		self.assertEqual(consent.opt_in_source, "Manual")
		self.assertEqual(consent.opt_out_source, "Opt-out Button")
		history = frappe.get_all(
			"WhatsApp Consent Log",
			filters={"consent": consent.name},
			fields=["event", "source"],
			order_by="creation",
		)
		self.assertEqual(
			[(h.event, h.source) for h in history],
			[("Opt-in", "Form"), ("Opt-out", "Opt-out Button"), ("Opt-in", "Manual")],
		)
		log = frappe.get_doc(
			"WhatsApp Consent Log",
			frappe.get_all("WhatsApp Consent Log", filters={"consent": consent.name}, pluck="name", limit=1)[
				0
			],
		)
		log.source = "tampered"
		self.assertRaises(frappe.ValidationError, log.save, ignore_permissions=True)

	def test_an_older_event_does_not_overturn_a_newer_one(self):
		phone = "+919800000109"
		now = now_datetime()
		record_opt_out(phone, OptOutSource.META_PREFERENCE, now)
		record_opt_in(phone, OptInSource.META_PREFERENCE, now - timedelta(minutes=5))  # delivered late
		self.assertFalse(consent_state(phone).may_receive_marketing)
		self.assertEqual(frappe.db.get_value("WhatsApp Consent", phone, "status"), "Opted Out")
		self.assertEqual(frappe.db.count("WhatsApp Consent Log", {"consent": phone}), 2)

	def test_invalid_consent_number_says_why(self):
		with self.assertRaises(frappe.ValidationError) as caught:
			frappe.get_doc({"doctype": "WhatsApp Consent", "phone": "not a number"}).insert()
		self.assertIn("not a phone number", str(caught.exception))

	def test_consent_and_messages_are_connections_of_customer_and_contact(self):
		customer = make_customer("+919800000110")
		record_opt_in("+919800000110", OptInSource.MANUAL, links={"customer": customer})
		data = frappe.get_meta("Customer").get_dashboard_data()
		items = [i for group in data.transactions for i in group["items"]]
		self.assertIn("WhatsApp Consent", items)
		self.assertIn("WhatsApp Message", items)
		self.assertEqual(data.non_standard_fieldnames["WhatsApp Message"], "contact_name")
		contact_data = frappe.get_meta("Contact").get_dashboard_data()
		self.assertEqual(contact_data.fieldname, "contact")
		from frappe.desk.notifications import get_open_count

		counts = get_open_count("Customer", customer)["count"]["external_links_found"]
		self.assertEqual(next(c["count"] for c in counts if c["doctype"] == "WhatsApp Consent"), 1)
		self.assertEqual(next(c["count"] for c in counts if c["doctype"] == "WhatsApp Message"), 0)

	def test_settings_refuse_an_account_of_the_wrong_purpose(self):
		settings = frappe.get_single("Marketing Settings")
		settings.default_business_account = SYSTEM_ACCOUNT
		self.assertRaises(frappe.ValidationError, settings.save)

	def test_template_lists_variables_and_opt_out_button(self):
		template = frappe.get_doc("WhatsApp Template", template_name(BUSINESS_ACCOUNT, "festive_offer"))
		self.assertEqual(template.variables, "name, offer, campaign")
		self.assertEqual(template.header_format, "IMAGE")
		url_button, opt_out = template.buttons
		self.assertEqual(url_button.url_variable, "campaign")
		self.assertTrue(opt_out.is_marketing_opt_out)
		self.assertEqual(
			frappe.db.get_value("WhatsApp Template", template_name(BUSINESS_ACCOUNT, "old_promo"), "status"),
			"PAUSED",
		)

	def test_a_number_with_letters_is_refused_with_the_reason(self):
		# phonenumbers would read the letter O as a 6 and message a stranger.
		with self.assertRaises(BlockedMessage) as caught:
			send_template(template_name(SYSTEM_ACCOUNT, "booking_confirmation"), "98765O3210", {})
		self.assertIn("letters", str(caught.exception))
		self.assertFalse(self.simulator.sent)

	def test_quiet_hours_are_on_unless_turned_off_and_an_equal_pair_is_refused(self):
		def settings(**values):
			doc = frappe.get_single("Marketing Settings")
			doc.update(values)
			return doc

		equal = settings(quiet_hours_enabled=1, quiet_hours_start="10:00:00", quiet_hours_end="10:00:00")
		self.assertRaisesRegex(frappe.ValidationError, "same time", equal.save)
		empty = settings(quiet_hours_enabled=1, quiet_hours_start=None, quiet_hours_end="09:00:00")
		self.assertRaises(frappe.ValidationError, empty.save)
		off = settings(quiet_hours_enabled=0, quiet_hours_start=None, quiet_hours_end=None)
		off.save()  # off: no times needed
		self.assertIsNone(off.quiet_hours)

	def test_customer_form_records_consent_for_its_number_and_shows_who_decided(self):
		from marketing_engine.api.consent import record, status_of

		customer = make_customer("98000 00150", name="_ME Panel Client")
		shown = status_of("Customer", customer)
		self.assertEqual((shown["number"], shown["consent"]), ("+919800000150", None))

		shown = record("Customer", customer, "Opt-in", "Form", "Signed the studio's booking form")
		consent = shown["consent"]
		self.assertEqual((consent["status"], consent["customer"]), ("Opted In", customer))
		self.assertEqual(consent["opt_in_detail"], "Signed the studio's booking form")
		self.assertEqual(consent["opt_in_actor"], "Administrator")
		self.assertEqual(shown["history"][0]["detail"], "Signed the studio's booking form")

		shown = record("Customer", customer, "Opt-out", detail="Asked on the phone")
		self.assertEqual(shown["consent"]["status"], "Opted Out")
		self.assertEqual([h["event"] for h in shown["history"]], ["Opt-out", "Opt-in"])
		self.assertEqual(route("MARKETING", "+919800000150").block, Block.OPTED_OUT)

	def test_customer_form_says_why_a_number_cannot_be_used(self):
		from marketing_engine.api.consent import record, status_of

		customer = make_customer(None, name="_ME Panel No Number")
		frappe.db.set_value("Customer", customer, "mobile_no", "12345")
		shown = status_of("Customer", customer)
		self.assertIsNone(shown["number"])
		self.assertIn("cannot be used on WhatsApp", shown["problem"])
		self.assertRaises(frappe.ValidationError, record, "Customer", customer, "Opt-in")
