"""Campaigns end to end: estimate, safety rail, permissions, and dispatch by real RQ workers
through the Graph API simulator, with Meta's webhooks coming back through Frappe's web server.

Workers and the web server are other processes, so this test commits its data (named "_ME Camp")
and removes the accounts and settings it changed afterwards."""

import collections
import time

import frappe

from marketing_engine.background import plain_redis
from marketing_engine.campaigns import dispatch
from marketing_engine.channel import sending
from marketing_engine.channel.consent import (
	record_opt_in,
	record_opt_out,
)
from marketing_engine.engine.consent import OptInSource, OptOutSource
from marketing_engine.marketing_engine.doctype.whatsapp_rate_card.whatsapp_rate_card import (
	rate_card_of_account,
)
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	LiveChannelTestCase,
	RQWorker,
	group_segment,
	make_customer,
	make_customer_group,
	review_request_campaign,
	template_name,
	wait_until,
	webhooks_applied,
)

GROUP = "_ME Camp Clients"
AUDIENCE = "_ME Camp Audience"
FINAL = {"Accepted", "Sent", "Delivered", "Read", "Failed", "Skipped"}


class TestCampaign(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_customer_group(GROUP)
		cls.phones = {"in": [], "out": [], "none": []}
		for i in range(20):
			phone = f"+91981230{i:04d}"
			name = f"_ME Camp Client{i:02d} Rao"
			customer = frappe.db.exists("Customer", name) or make_customer(phone, name=name, group=GROUP)
			kind = "out" if i in (3, 7) else "none" if i in (5, 11) else "in"
			cls.phones[kind].append(phone)
			if kind != "none":
				record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
			if kind == "out":
				record_opt_out(phone, OptOutSource.STOP_KEYWORD)
		group_segment(AUDIENCE, GROUP)
		frappe.db.commit()
		cls.worker = RQWorker().start()

	@classmethod
	def tearDownClass(cls):
		cls.worker.stop()
		super().tearDownClass()

	def setUp(self):
		frappe.db.set_value(
			"WhatsApp Account", BUSINESS_ACCOUNT, {"messages_per_second": 80, "health_status": "AVAILABLE"}
		)
		self.simulator.expired_tokens.clear()
		self.numbers[1].rate_per_second = 80
		frappe.db.commit()

	def first_sent(self, campaign: str):
		"""A message of the campaign that went out: its number and Meta's message id."""
		return frappe.get_all(
			"WhatsApp Message",
			filters={"campaign": campaign, "status": ("!=", "Skipped")},
			fields=["phone", "message_id"],
			limit=1,
		)[0]

	def campaign(self, name: str, **values):
		return review_request_campaign(name, AUDIENCE, shoot="your wedding shoot", **values)

	def sent_to(self, campaign: str) -> collections.Counter:
		names = set(frappe.get_all("WhatsApp Message", filters={"campaign": campaign}, pluck="name"))
		return collections.Counter(m.to for m in self.simulator.sent if m.callback_data in names)

	def statuses(self, campaign: str) -> collections.Counter:
		return collections.Counter(
			frappe.get_all("WhatsApp Message", filters={"campaign": campaign}, pluck="status")
		)

	def finished(self, campaign: str):
		return frappe.db.get_value("WhatsApp Campaign", campaign, "status") in (
			"Completed",
			"Failed",
			"Cancelled",
		)

	# -----------------------------------------------------------------------------------------
	def test_estimate_then_send_to_every_eligible_recipient_once(self):
		campaign = self.campaign("_ME Camp Thank You")
		self.assertTrue(frappe.db.exists("Campaign", campaign.campaign))  # ERPNext's, for attribution
		self.assertEqual(campaign.utm_source, "me-camp-thank-you")

		estimate = campaign.get_estimate()
		self.assertEqual(estimate["eligible"], 16)
		self.assertEqual(
			{e["reason"]: e["count"] for e in estimate["excluded"]}, {"opted_out": 2, "no_consent": 2}
		)
		expected_cost = rate_card_of_account(BUSINESS_ACCOUNT).estimate({"IN": 16}, "MARKETING").total
		self.assertAlmostEqual(estimate["cost"], float(expected_cost), places=2)
		self.assertGreater(estimate["cost"], 0)
		self.assertIsNone(estimate["problem"])

		preview = campaign.render_preview()
		self.assertTrue(
			preview["text"].startswith("Hi _ME, thank you for choosing us for your wedding shoot")
		)

		campaign.confirm_send()
		frappe.db.commit()
		self.assertTrue(
			wait_until(lambda: self.finished(campaign.name), timeout=60), self.statuses(campaign.name)
		)
		self.assertEqual(frappe.db.get_value("WhatsApp Campaign", campaign.name, "status"), "Completed")

		sent = self.sent_to(campaign.name)
		self.assertEqual(set(sent), {p.lstrip("+") for p in self.phones["in"]})
		self.assertEqual(set(sent.values()), {1})  # nobody twice
		statuses = self.statuses(campaign.name)
		self.assertEqual(statuses["Skipped"], 4)
		self.assertEqual(sum(statuses.values()), 20)
		self.assertTrue(set(statuses) <= FINAL, statuses)
		skipped = frappe.get_all(
			"WhatsApp Message", filters={"campaign": campaign.name, "status": "Skipped"}, pluck="error_title"
		)
		self.assertEqual(
			collections.Counter(skipped),
			{"Opted out of WhatsApp marketing": 2, "No recorded WhatsApp marketing opt-in": 2},
		)

		# Meta's webhooks arrive through the web server: delivered and read, and one reply.
		self.assertTrue(webhooks_applied(self.simulator, 20))
		first = self.first_sent(campaign.name)
		self.simulator.user_sends_text(
			self.numbers[1].phone_number_id, first.phone, "Yes! What are the dates?", first.message_id
		)
		self.assertTrue(webhooks_applied(self.simulator, 20))

		# The form's figures follow the webhooks by themselves: nobody clicks Refresh Results.
		def figures():
			return frappe.db.get_value(
				"WhatsApp Campaign",
				campaign.name,
				[
					"sent_count",
					"delivered_count",
					"read_count",
					"skipped_count",
					"failed_count",
					"replied_count",
					"actual_cost",
				],
			)

		self.assertTrue(wait_until(lambda: figures()[:6] == (16, 16, 16, 4, 0, 1), 20), figures())
		self.assertAlmostEqual(figures()[6], float(expected_cost), places=2)
		self.assertEqual(
			frappe.get_doc("WhatsApp Campaign", campaign.name).refresh_results()["read_count"], 16
		)

	def test_worker_killed_mid_run_resumes_without_messaging_anyone_twice(self):
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 4)
		frappe.db.commit()
		campaign = self.campaign("_ME Camp Crash")
		campaign.confirm_send()
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: len(self.sent_to(campaign.name)) >= 5, timeout=30))
		self.worker.kill()
		before = self.statuses(campaign.name)
		self.assertTrue(before["Pending"] > 0, before)  # it really died in the middle

		self.assertTrue(webhooks_applied(self.simulator, 20))  # Meta settles what it accepted
		frappe.db.rollback()
		claims = set(
			frappe.get_all(
				"WhatsApp Message",
				filters={"campaign": campaign.name, "status": "Queued"},
				pluck="claimed_by",
			)
		)
		self.assertEqual(
			dispatch.recover_claims(campaign.name, older_than=0), {"retried": 0, "failed": 0}
		)  # job may be alive
		for claim in claims:  # two minutes later: the dead job's liveness keys have expired
			plain_redis().delete(sending.alive_key(claim))
		plain_redis().delete(sending.job_key(campaign.name, 1))
		recovered = dispatch.recover_claims(campaign.name, older_than=0, unknown_after=0)
		type(self).worker = RQWorker().start()
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 80)
		frappe.db.commit()
		dispatch.maintain_campaigns()  # what the scheduler does every minute
		frappe.db.commit()
		self.assertTrue(
			wait_until(lambda: self.finished(campaign.name), timeout=60), self.statuses(campaign.name)
		)

		sent = self.sent_to(campaign.name)
		self.assertEqual(set(sent.values()), {1}, (sent, recovered))
		statuses = self.statuses(campaign.name)
		self.assertTrue(set(statuses) <= FINAL, statuses)
		self.assertEqual(sum(statuses.values()), 20)
		with_id = frappe.db.count(
			"WhatsApp Message", {"campaign": campaign.name, "message_id": ("is", "set")}
		)
		self.assertEqual(with_id, sum(sent.values()))  # every message Meta took is on record
		unknown = statuses.get("Failed", 0)
		self.assertEqual(
			len(sent) + unknown, 16
		)  # each eligible recipient: sent once, or failed with the reason

	def test_pause_resume_and_cancel(self):
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 3)
		frappe.db.commit()
		campaign = self.campaign("_ME Camp Pause")
		campaign.confirm_send()
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: len(self.sent_to(campaign.name)) >= 3, timeout=30))
		frappe.get_doc("WhatsApp Campaign", campaign.name).pause()
		frappe.db.commit()
		time.sleep(2)  # the job finishes its batch and stops
		count = len(self.sent_to(campaign.name))
		time.sleep(1.5)
		self.assertEqual(len(self.sent_to(campaign.name)), count)  # nothing goes out while paused
		self.assertGreater(self.statuses(campaign.name)["Pending"], 0)

		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 80)
		frappe.db.commit()
		frappe.get_doc("WhatsApp Campaign", campaign.name).resume()
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: self.finished(campaign.name), timeout=60))
		self.assertEqual(frappe.db.get_value("WhatsApp Campaign", campaign.name, "status"), "Completed")
		self.assertEqual(len(self.sent_to(campaign.name)), 16)

		cancelled = self.campaign(
			"_ME Camp Cancel",
			send_mode="Schedule",
			scheduled_at=frappe.utils.add_days(frappe.utils.now_datetime(), 1),
		)
		cancelled.confirm_send()
		self.assertEqual(frappe.db.get_value("WhatsApp Campaign", cancelled.name, "status"), "Scheduled")
		frappe.get_doc("WhatsApp Campaign", cancelled.name).cancel()
		self.assertEqual(frappe.db.get_value("WhatsApp Campaign", cancelled.name, "status"), "Cancelled")
		self.assertEqual(self.sent_to(cancelled.name), collections.Counter())

	def test_rate_limited_sends_are_retried_until_they_go(self):
		self.numbers[1].rate_per_second = 5  # Meta allows less than the account claims
		campaign = self.campaign("_ME Camp Throttled")
		campaign.confirm_send()
		frappe.db.commit()
		self.assertTrue(
			wait_until(lambda: self.finished(campaign.name), timeout=90), self.statuses(campaign.name)
		)
		self.assertGreater(self.simulator.rate_limited, 0)  # 130429 did happen
		sent = self.sent_to(campaign.name)
		self.assertEqual(len(sent), 16)
		self.assertEqual(set(sent.values()), {1})

	def test_expired_token_stops_the_run_and_resume_finishes_it(self):
		self.simulator.expired_tokens.add(self.numbers[1].access_token)
		campaign = self.campaign("_ME Camp Token")
		campaign.confirm_send()
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: self.finished(campaign.name), timeout=30))
		failed = frappe.db.get_value("WhatsApp Campaign", campaign.name, ["status", "status_reason"])
		self.assertEqual(failed[0], "Failed")
		self.assertIn("190", failed[1])
		self.assertEqual(self.statuses(campaign.name)["Pending"], 16)  # nobody lost, nobody failed
		self.simulator.expired_tokens.clear()
		frappe.get_doc("WhatsApp Campaign", campaign.name).resume()
		frappe.db.commit()
		self.assertTrue(
			wait_until(
				lambda: frappe.db.get_value("WhatsApp Campaign", campaign.name, "status") == "Completed",
				timeout=60,
			)
		)
		self.assertEqual(len(self.sent_to(campaign.name)), 16)

	def test_scheduled_campaign_with_an_image_header_starts_when_due(self):
		image = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": "diwali.png",
				"content": b"\x89PNG\r\n\x1a\n fake image",
				"is_private": 1,
			}
		).insert()
		campaign = self.campaign(
			"_ME Camp Diwali",
			template=template_name(BUSINESS_ACCOUNT, "festive_offer"),
			variables=[
				{"variable": "name", "value_type": "Document Field", "value": "first_name"},
				{"variable": "offer", "value_type": "Fixed Text", "value": "20% off"},
				{"variable": "campaign", "value_type": "Document Field", "value": "campaign"},
			],
			header_attachment=image.file_url,
			send_mode="Schedule",
			scheduled_at=frappe.utils.add_to_date(frappe.utils.now_datetime(), minutes=10),
		)
		self.assertEqual(campaign.confirm_send(), {"status": "Scheduled"})
		frappe.db.commit()
		dispatch.maintain_campaigns()  # not due yet: nothing happens
		self.assertEqual(frappe.db.get_value("WhatsApp Campaign", campaign.name, "status"), "Scheduled")
		frappe.db.set_value(
			"WhatsApp Campaign",
			campaign.name,
			"scheduled_at",
			frappe.utils.add_to_date(frappe.utils.now_datetime(), minutes=-1),
		)
		frappe.db.commit()
		dispatch.maintain_campaigns()  # what the scheduler does every minute
		frappe.db.commit()
		self.assertTrue(
			wait_until(
				lambda: frappe.db.get_value("WhatsApp Campaign", campaign.name, "status") == "Completed",
				timeout=60,
			)
		)
		names = set(frappe.get_all("WhatsApp Message", filters={"campaign": campaign.name}, pluck="name"))
		sent = [m for m in self.simulator.sent if m.callback_data in names]
		self.assertEqual(len(sent), 16)
		media_id = frappe.db.get_value("WhatsApp Campaign", campaign.name, "header_media_id")
		self.assertIn(media_id, self.simulator.media)  # uploaded to Meta once, then reused
		for message in sent:
			header, body, button = message.payload["template"]["components"]
			self.assertEqual(header["parameters"][0]["image"]["id"], media_id)
			self.assertEqual(
				body["parameters"][1], {"type": "text", "text": "20% off", "parameter_name": "offer"}
			)
			self.assertEqual(button["parameters"][0]["text"], "me-camp-diwali")  # utm_source on the link

	def test_a_new_campaign_saves_from_desk_with_numbers_as_the_form_sends_them(self):
		"""Desk sends a new form's numeric defaults as strings ("0", "1"); the first save took them
		as they came and failed comparing a string with a number."""
		import json

		from frappe.desk.form.save import savedocs

		name = "_ME Camp From Desk"
		if frappe.db.exists("WhatsApp Campaign", name):
			frappe.delete_doc("WhatsApp Campaign", name, force=True)
		form = {
			"doctype": "WhatsApp Campaign",
			"__islocal": 1,
			"name": "new-whatsapp-campaign-1",
			"campaign_name": name,
			"holdout_percent": "0",
			"parallel_jobs": "1",
			"segments": [{"doctype": "WhatsApp Campaign Segment", "segment": AUDIENCE, "__islocal": 1}],
			"template": template_name(BUSINESS_ACCOUNT, "review_request"),
		}
		savedocs(json.dumps(form), "Save")
		saved = frappe.get_doc("WhatsApp Campaign", {"campaign_name": name})
		self.assertEqual((saved.status, saved.holdout_percent, saved.parallel_jobs), ("Draft", 0, 1))

		form.update(campaign_name=name + " Too Many", holdout_percent="60")
		with self.assertRaises(frappe.ValidationError) as caught:
			savedocs(json.dumps(form), "Save")
		self.assertIn("between 0 and 50", str(caught.exception))

	def test_no_healthy_business_account_blocks_the_campaign_with_the_reason(self):
		campaign = self.campaign("_ME Camp Blocked")
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "health_status", "BLOCKED")
		self.assertIn("Check Health", campaign.get_estimate()["problem"])
		with self.assertRaises(frappe.ValidationError) as caught:
			campaign.confirm_send()
		self.assertIn("cannot send", str(caught.exception))
		self.assertFalse(frappe.db.exists("WhatsApp Message", {"campaign": campaign.name}))

	def test_only_a_marketing_manager_can_send(self):
		campaign = self.campaign("_ME Camp Roles")
		for email, role in (
			("me-user@example.com", "Marketing User"),
			("me-manager@example.com", "Marketing Manager"),
		):
			if not frappe.db.exists("User", email):
				frappe.get_doc(
					{
						"doctype": "User",
						"email": email,
						"first_name": role,
						"send_welcome_email": 0,
						"roles": [{"role": role}],
					}
				).insert()
		frappe.set_user("me-user@example.com")
		try:
			draft = frappe.get_doc("WhatsApp Campaign", campaign.name)
			draft.parallel_jobs = 2
			draft.save()  # a Marketing User drafts...
			self.assertRaises(frappe.PermissionError, draft.confirm_send)  # ...but does not send
			frappe.set_user("me-manager@example.com")
			manager_view = frappe.get_doc("WhatsApp Campaign", campaign.name)
			manager_view.send_mode = "Schedule"
			manager_view.scheduled_at = frappe.utils.add_days(frappe.utils.now_datetime(), 2)
			manager_view.save()
			self.assertEqual(manager_view.confirm_send(), {"status": "Scheduled"})
		finally:
			frappe.set_user("Administrator")
		frappe.db.rollback()

	def settings(self, **values):
		frappe.db.set_single_value("Marketing Settings", values)
		frappe.db.commit()
		frappe.clear_document_cache("Marketing Settings", "Marketing Settings")

	def test_frequency_cap_skips_people_messaged_enough_this_week(self):
		first = self.campaign("_ME Camp Cap First")
		first.confirm_send()
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: self.finished(first.name), timeout=60))
		try:
			self.settings(frequency_cap_messages=1, frequency_cap_days=7)
			second = self.campaign("_ME Camp Cap Second")
			estimate = second.get_estimate()
			self.assertEqual(estimate["eligible"], 0)
			self.assertEqual(
				{e["reason"]: e["count"] for e in estimate["excluded"]},
				{"opted_out": 2, "no_consent": 2, "frequency_cap": 16},
			)
			second.confirm_send()
			frappe.db.commit()
			self.assertTrue(wait_until(lambda: self.finished(second.name), timeout=30))
			self.assertEqual(self.sent_to(second.name), collections.Counter())
			self.assertEqual(
				frappe.db.count(
					"WhatsApp Message", {"campaign": second.name, "error_title": "Frequency cap reached"}
				),
				16,
			)
			# Transactional messages are exempt.
			from marketing_engine.channel.routing import route

			self.assertTrue(route("UTILITY", self.phones["in"][0]).allowed)
			self.assertEqual(route("MARKETING", self.phones["in"][0]).block.value, "frequency_cap")
		finally:
			self.settings(frequency_cap_messages=0)

	def test_quiet_hours_hold_the_send_say_until_when_and_the_banner_goes_when_it_resumes(self):
		now = frappe.utils.now_datetime()
		start = (now - frappe.utils.datetime.timedelta(hours=1)).strftime("%H:%M:00")
		end = (now + frappe.utils.datetime.timedelta(hours=1)).strftime("%H:%M:00")
		try:
			self.settings(quiet_hours_enabled=1, quiet_hours_start=start, quiet_hours_end=end)
			campaign = self.campaign("_ME Camp Night")
			hold = campaign.get_estimate()["quiet_hours"]
			self.assertEqual(frappe.utils.get_datetime(hold["waits_until"]).strftime("%H:%M"), end[:5])
			campaign.confirm_send()
			frappe.db.commit()
			self.assertTrue(
				wait_until(
					lambda: (
						frappe.db.get_value("WhatsApp Campaign", campaign.name, "status_reason") or ""
					).startswith("Quiet hours"),
					20,
				)
			)
			self.assertEqual(self.sent_to(campaign.name), collections.Counter())
		finally:
			self.settings(quiet_hours_enabled=0)
		dispatch.maintain_campaigns()  # the scheduler's next minute, after quiet hours
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: self.finished(campaign.name), timeout=60))
		self.assertEqual(len(self.sent_to(campaign.name)), 16)
		self.assertFalse(frappe.db.get_value("WhatsApp Campaign", campaign.name, "status_reason"))

	def test_replies_to_a_campaign_are_handed_over_when_settings_say_so(self):
		campaign = self.campaign("_ME Camp Handover")
		campaign.confirm_send()
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: self.finished(campaign.name), timeout=60))
		self.assertTrue(webhooks_applied(self.simulator, 20))
		first = self.first_sent(campaign.name)
		try:
			self.settings(hand_over_campaign_replies=1, campaign_reply_user="Administrator")
			question = f"Do you do pre-wedding shoots? {frappe.generate_hash(length=4)}"
			self.simulator.user_sends_text(
				self.numbers[1].phone_number_id, first.phone, question, first.message_id
			)
			self.assertTrue(webhooks_applied(self.simulator, 20))
		finally:
			self.settings(hand_over_campaign_replies=0)
		self.assertTrue(
			frappe.db.exists(
				"ToDo", {"allocated_to": "Administrator", "description": ("like", f"%{question}%")}
			)
		)
		reply = frappe.get_all("WhatsApp Message", {"body": question}, ["campaign", "reply_to"])[0]
		self.assertEqual(reply.campaign, campaign.name)  # the reply counts for the campaign
