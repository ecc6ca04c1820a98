"""Hostile and broken input, over Frappe's web server where it comes from outside: webhook bodies
the endpoint will not take answered with a 4xx at once and nothing stored; whitelisted methods
checking the permission their data needs; one campaign that cannot start stopping only itself."""

import json
import time

import frappe
import requests
from frappe.utils import add_to_date, now_datetime

from marketing_engine.api.pickers import templates as template_picker
from marketing_engine.api.pickers import usable_templates
from marketing_engine.api.replies import set_handled
from marketing_engine.api.webhook import MAX_BODY_BYTES
from marketing_engine.campaigns.dispatch import maintain_campaigns
from marketing_engine.engine.webhook import SIGNATURE_HEADER, sign
from marketing_engine.tests.utils import (
	LiveChannelTestCase,
	group_segment,
	kept_webhooks,
	make_customer,
	make_customer_group,
	review_request_campaign,
)

PORTAL_USER = "me_portal_customer@example.com"
READER = "me_message_reader@example.com"
READER_ROLE = "_ME Message Reader"


def stored() -> int:
	return kept_webhooks()


class TestHostileInput(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		if not frappe.db.exists("User", PORTAL_USER):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": PORTAL_USER,
					"first_name": "Portal",
					"user_type": "Website User",
					"send_welcome_email": 0,
				}
			).insert(ignore_permissions=True)
		if not frappe.db.exists("Role", READER_ROLE):
			frappe.get_doc({"doctype": "Role", "role_name": READER_ROLE, "desk_access": 1}).insert()
		if not frappe.db.exists("User", READER):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": READER,
					"first_name": "Reader",
					"send_welcome_email": 0,
					"roles": [{"role": READER_ROLE}],
				}
			).insert(ignore_permissions=True)
		frappe.db.commit()

	def tearDown(self):
		frappe.set_user("Administrator")
		frappe.db.rollback()

	def post(self, body: bytes, **headers) -> requests.Response:
		return requests.post(
			self.server.webhook_url,
			data=body,
			headers={"Content-Type": "application/json", **headers},
			timeout=60,
		)

	# -- the webhook ---------------------------------------------------------------------------
	def test_a_body_nested_ten_thousand_deep_is_a_400_at_once(self):
		before = stored()
		body = b"[" * 10000 + b"]" * 10000
		started = time.monotonic()
		answer = self.post(body, **{SIGNATURE_HEADER: sign(body, self.numbers[1].app_secret)})
		self.assertEqual(answer.status_code, 400, answer.text[:300])
		self.assertIn("nested too deeply", answer.text)
		self.assertNotIn("Traceback", answer.text)
		self.assertLess(time.monotonic() - started, 5)
		self.assertEqual(stored(), before)

	def test_a_body_over_the_limit_is_a_413_and_nothing_is_stored(self):
		before = stored()
		event = {"object": "whatsapp_business_account", "entry": [], "padding": "x" * (MAX_BODY_BYTES + 10)}
		body = json.dumps(event).encode()
		# Signed with a real secret: the size alone refuses it.
		answer = self.post(body, **{SIGNATURE_HEADER: sign(body, self.numbers[1].app_secret)})
		self.assertEqual(answer.status_code, 413, answer.text[:300])
		self.assertIn("larger than", answer.text)
		self.assertEqual(stored(), before)
		# The endpoint still works for what Meta sends.
		self.simulator.user_sends_text(self.numbers[1].phone_number_id, "919812999001", "Hello")
		self.assertTrue(self.simulator.wait_for_webhooks(20))
		self.assertEqual(self.simulator.webhook_log[-1][0], 200)

	def test_bodies_that_are_not_json_or_not_signed_are_refused_without_a_trace(self):
		for body, status in ((b"{not json", 400), (b"\xff\xfe\x00", 400), (b'{"object": "x"}', 403)):
			with self.subTest(body=body):
				answer = self.post(body)
				self.assertEqual(answer.status_code, status, answer.text[:300])
				self.assertNotIn("Traceback", answer.text)

	# -- permissions ---------------------------------------------------------------------------
	def test_the_template_pickers_refuse_a_portal_user(self):
		args = ("WhatsApp Template", "", "name", 0, 20, {})
		self.assertTrue(template_picker(*args))  # Administrator sees the approved templates
		frappe.set_user(PORTAL_USER)
		for picker in (template_picker, usable_templates):
			with self.subTest(picker=picker.__name__), self.assertRaises(frappe.PermissionError):
				picker(*args)
		# Over HTTP as well: a guest is refused before any template is read.
		answer = requests.get(
			f"{self.server.url}/api/method/marketing_engine.api.pickers.templates",
			params={"doctype": "WhatsApp Template", "txt": "", "searchfield": "name", "start": 0},
			timeout=30,
		)
		self.assertEqual(answer.status_code, 403, answer.text[:300])

	def test_marking_a_reply_handled_needs_write(self):
		make_customer("+919812999002", name="_ME Hostile Writer")
		frappe.db.commit()
		self.simulator.user_sends_text(self.numbers[1].phone_number_id, "919812999002", "Is Friday open?")
		self.assertTrue(self.simulator.wait_for_webhooks(20))
		from marketing_engine.tests.utils import wait_until

		reply = wait_until(
			lambda: frappe.db.get_value(
				"WhatsApp Message", {"direction": "Inbound", "phone": "+919812999002", "handled": 0}
			),
			30,
		)
		self.assertTrue(reply)
		frappe.permissions.add_permission("WhatsApp Message", READER_ROLE, 0, "read")
		frappe.db.commit()
		try:
			frappe.set_user(READER)
			self.assertTrue(frappe.has_permission("WhatsApp Message", "read", reply))
			with self.assertRaises(frappe.PermissionError):
				set_handled(reply, 1)
			frappe.set_user("Administrator")
			self.assertEqual(frappe.db.get_value("WhatsApp Message", reply, "handled"), 0)
			set_handled(reply, 1)
			self.assertEqual(frappe.db.get_value("WhatsApp Message", reply, "handled"), 1)
		finally:
			frappe.set_user("Administrator")
			frappe.permissions.reset_perms("WhatsApp Message")
			frappe.db.commit()

	# -- one failure in a shared loop ----------------------------------------------------------
	def test_a_campaign_that_cannot_start_stops_only_itself(self):
		group = make_customer_group("_ME Hostile Clients")
		make_customer("+919812999003", name="_ME Hostile Client", group=group)
		segment = group_segment("_ME Hostile Audience", group)
		due = add_to_date(now_datetime(), minutes=-1)
		broken = review_request_campaign("_ME Hostile Broken", segment)
		working = review_request_campaign("_ME Hostile Working", segment)
		for campaign in (broken, working):
			frappe.db.set_value(
				"WhatsApp Campaign", campaign.name, {"status": "Scheduled", "scheduled_at": due}
			)
		# A template gone from under it (deleted outside the form's checks).
		frappe.db.set_value("WhatsApp Campaign", broken.name, "template", "no-such-template")
		frappe.db.commit()
		errors_before = frappe.db.count("Error Log", {"reference_name": broken.name})
		try:
			maintain_campaigns()
			frappe.db.commit()
			frappe.db.rollback()
			# Started (its one member has no consent, so it may have completed already).
			self.assertIn(
				frappe.db.get_value("WhatsApp Campaign", working.name, "status"), ("Sending", "Completed")
			)
			self.assertTrue(frappe.db.get_value("WhatsApp Campaign", working.name, "started_at"))
			self.assertEqual(frappe.db.get_value("WhatsApp Campaign", broken.name, "status"), "Scheduled")
			problem = frappe.db.get_value("WhatsApp Campaign", broken.name, "run_problem")
			self.assertIn("no-such-template", problem)
			self.assertEqual(frappe.db.count("Error Log", {"reference_name": broken.name}), errors_before + 1)
			self.assertFalse(frappe.db.get_value("WhatsApp Campaign", working.name, "run_problem"))
		finally:
			for campaign in (broken, working):
				frappe.db.set_value("WhatsApp Campaign", campaign.name, "status", "Cancelled")
			frappe.db.commit()

	def test_a_step_that_succeeds_does_not_clear_another_steps_problem(self):
		from marketing_engine.background import alone

		sequence = frappe.get_all("Drip Sequence", limit=1, pluck="name")[0]

		def sweep():
			raise ValueError("the condition no longer evaluates")

		def take_step():
			return 1

		def problem():
			return frappe.db.get_value("Drip Sequence", sequence, "run_problem")

		self.assertEqual(alone("Drip Sequence", sequence, sweep, default=0), 0)
		self.assertIn("sweep failed at", problem())
		self.assertEqual(alone("Drip Sequence", sequence, take_step), 1)
		self.assertIn("the condition no longer evaluates", problem())  # still the sweep's

		def sweep():  # the same step, fixed: it succeeds now
			return 0

		alone("Drip Sequence", sequence, sweep)
		self.assertIsNone(problem())
		frappe.db.rollback()
