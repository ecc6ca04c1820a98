"""Connect WhatsApp end to end through Frappe's web server: the sandbox's stand-in for Meta's popup
gives a code, the whitelisted method exchanges it with the simulator as Meta, which verifies the
site's webhook endpoint before subscribing it; the number is registered, the account is made with
the token encrypted, healthy and its templates synced. A cancelled signup and failed ones leave
nothing half-made; running it again for the same number updates its account."""

import time

import frappe
import requests
from frappe.utils.password import update_password

from marketing_engine.channel.health import billing_refused
from marketing_engine.engine import errors
from marketing_engine.engine.routing import business_account_problem
from marketing_engine.engine.simulator import SANDBOX_APP
from marketing_engine.tests.utils import LiveChannelTestCase, webhooks_applied

STUDIO_OWNER = "me_signup_owner@example.com"
PASSWORD = "Connect-WhatsApp-2026"
LOTUS = "+91 98200 10001"


class TestConnectWhatsApp(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		if not frappe.db.exists("User", STUDIO_OWNER):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": STUDIO_OWNER,
					"first_name": "Studio Owner",
					"send_welcome_email": 0,
					"roles": [{"role": "System Manager"}],
				}
			).insert(ignore_permissions=True)
		update_password(STUDIO_OWNER, PASSWORD)
		settings = frappe.get_single("Marketing Settings")
		settings.meta_app_id = SANDBOX_APP.app_id
		settings.meta_app_secret = SANDBOX_APP.app_secret
		settings.signup_config_id = SANDBOX_APP.config_id
		settings.graph_base_url = cls.simulator.base_url
		settings.graph_api_version = "v24.0"
		settings.signup_stand_in = 1
		settings.save(ignore_permissions=True)
		frappe.db.commit()

	def setUp(self):
		self.browser = requests.Session()
		self.browser.headers["X-Frappe-Site-Name"] = frappe.local.site
		login = self.browser.post(
			f"{self.server.url}/api/method/login", data={"usr": STUDIO_OWNER, "pwd": PASSWORD}, timeout=30
		)
		self.assertTrue(login.ok, login.text)
		self.accounts_before = set(frappe.get_all("WhatsApp Account", pluck="name"))

	def tearDown(self):
		frappe.db.rollback()
		for name in set(frappe.get_all("WhatsApp Account", pluck="name")) - self.accounts_before:
			frappe.db.delete("WhatsApp Template", {"account": name})
			frappe.delete_doc("WhatsApp Account", name, force=True, ignore_permissions=True)
		frappe.db.commit()

	def call(self, method: str, **data) -> requests.Response:
		return self.browser.post(
			f"{self.server.url}/api/method/marketing_engine.api.signup.{method}",
			json=data,
			headers={"X-Frappe-CSRF-Token": self.csrf_token()},
			timeout=60,
		)

	def csrf_token(self) -> str:
		# Desk reads it from the page; a logged-in session's token is in its boot.
		page = self.browser.get(f"{self.server.url}/app", timeout=30).text
		marker = 'frappe.csrf_token = "'
		return page.split(marker, 1)[1].split('"', 1)[0] if marker in page else ""

	def popup(self, **values) -> dict:
		"""The stand-in for Meta's popup, as the Connect WhatsApp dialog calls it."""
		answer = self.call(
			"stand_in_signup",
			business_name="Lotus Studio",
			display_phone_number=values.pop("display_phone_number", LOTUS),
			**values,
		)
		self.assertTrue(answer.ok, answer.text)
		return answer.json()["message"]

	def test_a_signup_connects_a_healthy_account_with_its_templates(self):
		config = self.call("signup_config").json()["message"]
		self.assertIsNone(config["problem"])
		self.assertEqual(config["app_id"], SANDBOX_APP.app_id)
		self.assertNotIn("secret", str(config).lower())

		shared = self.popup()
		number = self.simulator.numbers[shared["phone_number_id"]]
		number_sim_templates = self.simulator.templates[shared["waba_id"]]
		number_sim_templates.extend(self.simulator.templates[self.numbers[1].waba_id][:2])
		done = self.call("complete_signup", **shared)
		self.assertTrue(done.ok, done.text)
		result = done.json()["message"]
		self.assertTrue(result["registered_now"])
		self.assertTrue(result["can_send"])
		self.assertEqual(result["templates"], 2)

		frappe.db.rollback()
		account = frappe.get_doc("WhatsApp Account", result["account"])
		self.assertEqual(
			(account.waba_id, account.phone_number_id), (shared["waba_id"], shared["phone_number_id"])
		)
		self.assertEqual(account.connected_via, "Embedded Signup")
		self.assertEqual(account.connected_by, STUDIO_OWNER)
		self.assertEqual((account.display_phone_number, account.verified_name), (LOTUS, "Lotus Studio"))
		self.assertEqual(account.purpose, "Business")
		# The token and the PIN are stored encrypted, never in the row itself.
		self.assertEqual(account.get_password("access_token"), number.access_token)
		self.assertNotIn(number.access_token, str(frappe.db.get_value("WhatsApp Account", account.name, "*")))
		self.assertEqual(account.get_password("registration_pin"), number.pin)
		self.assertEqual((number.platform_type, number.status), ("CLOUD_API", "CONNECTED"))
		self.assertEqual(frappe.db.count("WhatsApp Template", {"account": account.name}), 2)

		# Meta's webhooks for the new number come to this site, signed with the platform app's secret.
		self.assertTrue(number.webhook_url.endswith("/api/method/marketing_engine.api.webhook.whatsapp"))
		self.simulator.emit_phone_quality(number.phone_number_id, "FLAGGED")
		self.assertTrue(webhooks_applied(self.simulator))
		self.assertIn(200, [status for status, _ in self.simulator.webhook_log[-1:]])

		# The same number again (Meta's popup run a second time): its account is updated, not doubled.
		self.simulator.codes["AQ-again"] = (SANDBOX_APP.app_id, number.access_token, time.monotonic())
		again = self.call(
			"complete_signup", code="AQ-again", **{k: shared[k] for k in ("waba_id", "phone_number_id")}
		)
		self.assertTrue(again.ok, again.text)
		self.assertEqual(again.json()["message"]["account"], account.name)
		self.assertFalse(again.json()["message"]["registered_now"])
		self.assertEqual(
			frappe.db.count("WhatsApp Account", {"phone_number_id": shared["phone_number_id"]}), 1
		)

	def test_a_failed_signup_says_why_and_makes_nothing(self):
		shared = self.popup(display_phone_number="+91 98200 10002")
		requests.post(
			f"{self.simulator.base_url}/_simulator/fail",
			json={"call": "register", "code": 133005, "message": "Two step verification PIN Mismatch"},
			timeout=5,
		).raise_for_status()
		failed = self.call("complete_signup", **shared)
		self.assertEqual(failed.status_code, 417, failed.text)
		said = failed.text
		self.assertIn("registering the number for the Cloud API", said)
		self.assertIn("PIN Mismatch", said)
		frappe.db.rollback()
		self.assertFalse(frappe.db.exists("WhatsApp Account", {"phone_number_id": shared["phone_number_id"]}))
		self.assertTrue(
			frappe.db.exists("Error Log", {"method": ("like", "WhatsApp signup failed at register%")})
		)

		# A code used up (or never Meta's) is refused with Meta's reason, and nothing is made.
		reused = self.call("complete_signup", **shared)
		self.assertIn("authorization code has been used", reused.text)
		self.assertFalse(frappe.db.exists("WhatsApp Account", {"phone_number_id": shared["phone_number_id"]}))

	def test_a_cancelled_signup_reaches_no_server_step_and_the_button_needs_the_app(self):
		# A cancelled popup sends no code: the method refuses it and nothing is made.
		cancelled = self.call("complete_signup", code="")
		self.assertEqual(cancelled.status_code, 417)
		self.assertIn("returned no code", cancelled.text)
		self.assertEqual(set(frappe.get_all("WhatsApp Account", pluck="name")), self.accounts_before)

		frappe.db.set_single_value("Marketing Settings", "meta_app_id", "")
		frappe.db.commit()
		try:
			problem = self.call("signup_config").json()["message"]["problem"]
			self.assertIn("App ID", problem)
			refused = self.call("complete_signup", code="AQ-anything")
			self.assertIn("Connect WhatsApp is not set up", refused.text)
		finally:
			frappe.db.set_single_value("Marketing Settings", "meta_app_id", SANDBOX_APP.app_id)
			frappe.db.commit()

	def test_a_waba_meta_cannot_bill_blocks_marketing_with_the_reason(self):
		shared = self.popup(display_phone_number="+91 98200 10003", payment_method=0)
		done = self.call("complete_signup", **shared)
		self.assertTrue(done.ok, done.text)
		frappe.db.rollback()
		account = frappe.get_doc("WhatsApp Account", done.json()["message"]["account"])
		self.assertEqual(account.payment_status, "No")
		self.assertIn("payment method", account.payment_detail)
		# Marketing through it is blocked with that reason, as a campaign's estimate shows it.
		problem = business_account_problem(account.to_state())
		self.assertIn("Meta cannot bill", problem.reason)

		# Meta refusing a send for payment (131042) on an account thought billable says so at once,
		# and a campaign's thousand refusals tell the managers once.
		frappe.db.set_value("WhatsApp Account", account.name, "payment_status", "Unknown")
		refusal = errors.from_response(
			400, {"error": {"code": 131042, "message": "(#131042) Business eligibility payment issue"}}
		)
		notified_before = frappe.db.count("Notification Log", {"subject": ("like", "%Meta cannot bill it%")})
		for _ in range(3):
			billing_refused(account.name, refusal)
		self.assertEqual(frappe.db.get_value("WhatsApp Account", account.name, "payment_status"), "No")
		notified = frappe.db.count("Notification Log", {"subject": ("like", "%Meta cannot bill it%")})
		self.assertEqual(notified - notified_before, len(self.managers()))
		frappe.db.rollback()

	def managers(self) -> set[str]:
		from marketing_engine.channel.health import MANAGER_ROLE

		users = frappe.get_all("Has Role", {"role": MANAGER_ROLE, "parenttype": "User"}, pluck="parent")
		return set(frappe.get_all("User", {"name": ("in", users or [""]), "enabled": 1}, pluck="name")) | {
			"Administrator"
		}
