"""Drip sequences with time under control: each trigger, the general date trigger, double passes
and two workers without a second send, a worker killed mid-step, a reply through Frappe's web
server stopping the sequence and handing over, STOP, a booking, quiet hours and 29 February, on
a site in Asia/Kolkata. Messages go out through a real worker and the Graph API simulator.

No test sleeps to let time pass: the scheduler's pass takes ``now`` and the tests hand it the
moments they need."""

import collections
import subprocess
import sys
from datetime import date, datetime, timedelta

import frappe
from frappe.utils import get_bench_path, getdate

from marketing_engine.background import plain_redis
from marketing_engine.channel import sending
from marketing_engine.channel.consent import record_opt_in
from marketing_engine.drips import enrolment, steps
from marketing_engine.drips import sending as drip_sending
from marketing_engine.engine.consent import OptInSource
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	LiveChannelTestCase,
	RQWorker,
	group_segment,
	make_customer,
	make_customer_group,
	make_item_group,
	make_sales_order,
	template_name,
	wait_until,
	webhooks_applied,
)

TZ = "Asia/Kolkata"


class TestDrips(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.time_zone = frappe.db.get_single_value("System Settings", "time_zone")
		frappe.db.set_single_value("System Settings", "time_zone", TZ)
		frappe.db.commit()
		frappe.clear_cache()
		cls.worker = RQWorker().start()
		# Numbers and a customer group new to this run: earlier runs' records keep theirs, and
		# the sequences only enrol this run's people (their audience is this group's segment).
		cls.counter = int(frappe.generate_hash(length=4), 16) % 9000
		cls.group = make_customer_group(f"_ME Drip Run {cls.counter}")
		cls.segment = group_segment(f"_ME Drip Run {cls.counter}", cls.group)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		cls.worker.stop()
		frappe.db.set_single_value("System Settings", "time_zone", cls.time_zone)
		frappe.db.commit()
		frappe.clear_cache()
		super().tearDownClass()

	def setUp(self):
		frappe.db.rollback()
		# Sequences of earlier tests must not enrol this test's people.
		frappe.db.sql("update `tabDrip Sequence` set enabled=0 where name like '\\_ME Drip%%'")
		frappe.db.commit()

	# -- helpers ------------------------------------------------------------------------------
	def person(self, name: str, consent: bool = True, **values) -> tuple[str, str]:
		type(self).counter += 1
		phone = f"+9198126{self.counter:05d}"
		customer = make_customer(phone, name=f"{name} {self.counter}", group=self.group)
		phone = frappe.db.get_value("Customer", customer, "whatsapp_number")
		if values:
			frappe.db.set_value("Customer", customer, values)
		if consent:
			record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
		frappe.db.commit()
		return customer, phone

	def sequence(self, name: str, trigger: str, steps: list[dict], audience: bool = True, **values) -> str:
		if frappe.db.exists("Drip Sequence", name):
			for enrollment in frappe.get_all("Drip Enrollment", {"sequence": name}, pluck="name"):
				frappe.db.delete("WhatsApp Message", {"drip_enrollment": enrollment})
			frappe.db.delete("Drip Enrollment", {"sequence": name})
			frappe.delete_doc("Drip Sequence", name, force=True)
		review = template_name(BUSINESS_ACCOUNT, "review_request")
		doc = frappe.get_doc(
			{
				"doctype": "Drip Sequence",
				"sequence_name": name,
				"trigger": trigger,
				"enabled": 1,
				"handover_to": "User",
				"handover_user": "Administrator",
				"steps": [{"template": review, **step} for step in steps],
				"segments": [{"segment": self.segment}] if audience else [],
				**values,
			}
		).insert()
		for row in doc.variables:
			row.value_type, row.value = (
				("Document Field", "first_name") if row.variable == "1" else ("Fixed Text", "your shoot")
			)
		doc.save()
		frappe.db.commit()
		return doc.name

	def enrollments(self, sequence: str) -> list:
		frappe.db.rollback()
		return frappe.get_all(
			"Drip Enrollment",
			{"sequence": sequence},
			["name", "status", "stop_reason", "next_run_at", "next_step", "contact_name", "handed_to"],
		)

	def sent_to(self, sequence: str) -> collections.Counter:
		names = set(frappe.get_all("WhatsApp Message", {"drip_sequence": sequence}, pluck="name"))
		return collections.Counter(m.to for m in self.simulator.sent if m.callback_data in names)

	def messages(self, sequence: str) -> list:
		frappe.db.rollback()
		return frappe.get_all(
			"WhatsApp Message",
			{"drip_sequence": sequence},
			["name", "status", "drip_step", "drip_enrollment"],
		)

	def local(self, *args) -> datetime:
		return datetime(*args)  # the site's own (Asia/Kolkata) wall clock, as now_datetime() gives it

	# -- triggers -----------------------------------------------------------------------------
	def test_project_completed_then_review_request_two_days_later_at_eleven(self):
		customer, phone = self.person("_ME Drip Project Client")
		sequence = self.sequence(
			"_ME Drip Review", "Project Completed", [{"wait": 2, "wait_after": "Trigger", "send_at": "11:00"}]
		)
		project = frappe.get_doc(
			{
				"doctype": "Project",
				"project_name": f"_ME Drip Wedding {frappe.generate_hash(length=6)}",
				"customer": customer,
			}
		).insert()
		project.status = "Completed"
		project.save()
		project.save()  # saved again: still one enrollment
		frappe.db.commit()
		(enrollment,) = self.enrollments(sequence)
		completed_at = frappe.db.get_value("Drip Enrollment", enrollment.name, "trigger_at")
		due = datetime.combine(getdate(completed_at) + timedelta(days=2), datetime.min.time()).replace(
			hour=11
		)
		self.assertEqual(enrollment.next_run_at, due)  # 11:00 in Asia/Kolkata, two days on

		steps.tick(now=due - timedelta(minutes=1))
		self.assertEqual(self.messages(sequence), [])
		steps.tick(now=due)
		steps.tick(now=due)  # a second pass finds nothing more to write
		self.assertEqual(len(self.messages(sequence)), 1)
		self.assertTrue(wait_until(lambda: self.sent_to(sequence) == {phone.lstrip("+"): 1}, 30))
		self.assertEqual(self.enrollments(sequence)[0].status, "Completed")

	def test_birthday_voucher_once_a_year_and_29_february(self):
		leapling, leap_phone = self.person("_ME Drip Leapling", birthday=date(2000, 2, 29))
		march, _ = self.person("_ME Drip March Baby", birthday=date(1995, 3, 1))
		sequence = self.sequence(
			"_ME Drip Birthday", "Birthday", [{"wait": 0, "wait_after": "Trigger", "send_at": "10:00"}]
		)
		people = lambda: {e.contact_name for e in self.enrollments(sequence)}  # noqa: E731

		steps.tick(now=self.local(2027, 2, 28, 0, 5))  # 2027 is not a leap year
		self.assertEqual(people(), {leapling})
		self.assertEqual(self.enrollments(sequence)[0].next_run_at, self.local(2027, 2, 28, 10, 0))
		steps.tick(now=self.local(2027, 2, 28, 0, 6))  # once a day, whatever the ticks
		self.assertEqual(len(self.enrollments(sequence)), 1)

		frappe.db.set_value("Drip Sequence", sequence, "last_swept_until", None)
		frappe.db.commit()
		steps.tick(now=self.local(2028, 2, 28, 9, 0))  # 2028 is a leap year: the 29th is the day
		self.assertEqual(len(self.enrollments(sequence)), 1)
		steps.tick(now=self.local(2028, 2, 29, 9, 0))
		steps.tick(now=self.local(2028, 3, 1, 9, 0))
		self.assertEqual(people(), {leapling, march})
		self.assertEqual(len(self.enrollments(sequence)), 3)  # one per person and year

		steps.tick(now=self.local(2028, 3, 1, 10, 0))
		self.assertTrue(wait_until(lambda: sum(self.sent_to(sequence).values()) == 3, 30))
		self.assertEqual(self.sent_to(sequence)[leap_phone.lstrip("+")], 2)  # 2027 and 2028

	def test_stalled_inquiry_gets_the_portfolio_and_leaving_the_status_ends_it(self):
		type(self).counter += 1
		lead = frappe.get_doc(
			{
				"doctype": "Lead",
				"first_name": f"_ME Drip Inquiry {self.counter}",
				"mobile_no": f"+9198127{self.counter:05d}",
				"status": "Open",
			}
		).insert()
		record_opt_in(lead.whatsapp_number, OptInSource.FORM, links={"lead": lead.name})
		moved = frappe.get_doc(
			{
				"doctype": "Lead",
				"first_name": f"_ME Drip Moved {self.counter}",
				"mobile_no": f"+9198128{self.counter:05d}",
			}
		).insert()
		record_opt_in(moved.whatsapp_number, OptInSource.FORM, links={"lead": moved.name})
		four_days_ago = frappe.utils.add_days(frappe.utils.now_datetime(), -4)
		frappe.db.sql(
			"update `tabLead` set modified=%s where name in %s", (four_days_ago, [lead.name, moved.name])
		)
		sequence = self.sequence(
			"_ME Drip Portfolio",
			"Inquiry Stalled",
			[
				{"wait": 0, "wait_after": "Trigger", "skip_if_booked": 1},
				{"wait": 3, "wait_after": "Previous Step"},
			],
			stalled_days=3,
			lead_statuses="Lead\nOpen\nReplied",
			audience=False,  # leads are in no customer segment
		)
		now = frappe.utils.now_datetime()
		steps.tick(now=now)
		steps.tick(now=now + timedelta(minutes=1))  # the next pass: nothing new in its window
		mine = [e for e in self.enrollments(sequence) if e.contact_name in (lead.name, moved.name)]
		self.assertEqual(sorted(e.contact_name for e in mine), sorted([lead.name, moved.name]))

		doc = frappe.get_doc("Lead", moved.name)
		doc.status = "Interested"
		doc.save()
		frappe.db.commit()
		stopped = {e.contact_name: e for e in self.enrollments(sequence)}[moved.name]
		self.assertEqual((stopped.status, stopped.stop_reason), ("Stopped", "Left Trigger Condition"))

		steps.tick(now=now + timedelta(minutes=2))
		number = lead.whatsapp_number.lstrip("+")
		self.assertTrue(wait_until(lambda: self.sent_to(sequence)[number] == 1, 30), self.sent_to(sequence))
		self.assertNotIn(moved.whatsapp_number.lstrip("+"), self.sent_to(sequence))

	def test_general_date_trigger_maternity_to_baby_shoot_six_months_later(self):
		maternity = make_item_group("_ME Drip Maternity")
		mother, phone = self.person("_ME Drip Mother")
		other, _ = self.person("_ME Drip Other Client")
		today = getdate(frappe.utils.nowdate())
		make_sales_order(mother, 30000, item_group=maternity, on=today - timedelta(days=182))
		wedding = make_item_group("_ME Drip Wedding")
		make_sales_order(other, 30000, item_group=wedding, on=today - timedelta(days=182))  # not maternity
		frappe.db.commit()
		sequence = self.sequence(
			"_ME Drip Baby Shoot",
			"Date Field",
			[{"wait": 0, "wait_after": "Trigger"}],
			reference_doctype="Sales Order",
			date_field="transaction_date",
			offset_days=182,
			condition='any(item.item_group == "_ME Drip Maternity" for item in doc.items)',
		)
		steps.tick()
		self.assertEqual({e.contact_name for e in self.enrollments(sequence)}, {mother})
		self.assertTrue(wait_until(lambda: self.sent_to(sequence) == {phone.lstrip("+"): 1}, 30))

	def test_a_condition_that_does_not_evaluate_is_refused_on_save(self):
		for condition, words in (
			("doc.grand_total >", "not an expression"),
			("doc.no_such_field.lower() == 'x'", "fails on Sales Order"),
			("__import__('os').system('true')", "not an expression"),
		):
			with self.subTest(condition=condition), self.assertRaises(frappe.ValidationError) as refused:
				self.sequence(
					"_ME Drip Bad Condition",
					"Date Field",
					[{"wait": 0, "wait_after": "Trigger"}],
					reference_doctype="Sales Order",
					date_field="transaction_date",
					condition=condition,
				)
			self.assertIn(words, str(refused.exception))
			frappe.db.rollback()

	def test_one_broken_sequence_stops_only_itself(self):
		"""A condition that stopped evaluating (saved before the check, or a field removed since)
		fails its own pass, with the reason on its form and in Error Log; the others enrol."""
		maternity = make_item_group("_ME Drip Isolated Maternity")  # no other test's orders
		mother, phone = self.person("_ME Drip Isolated Mother")
		today = getdate(frappe.utils.nowdate())
		make_sales_order(mother, 30000, item_group=maternity, on=today - timedelta(days=182))
		frappe.db.commit()
		values = {"reference_doctype": "Sales Order", "date_field": "transaction_date", "offset_days": 182}
		broken = self.sequence(
			"_ME Drip Broken", "Date Field", [{"wait": 0, "wait_after": "Trigger"}], **values
		)
		frappe.db.set_value("Drip Sequence", broken, "condition", "doc.no_such_field.lower() == 'x'")
		working = self.sequence(
			"_ME Drip Working",
			"Date Field",
			[{"wait": 0, "wait_after": "Trigger"}],
			condition='any(item.item_group == "_ME Drip Isolated Maternity" for item in doc.items)',
			**values,
		)
		frappe.db.commit()
		errors_before = frappe.db.count("Error Log", {"reference_name": broken})
		steps.tick()
		self.assertEqual({e.contact_name for e in self.enrollments(working)}, {mother})
		self.assertEqual(self.enrollments(broken), [])
		problem = frappe.db.get_value("Drip Sequence", broken, "run_problem")
		self.assertIn("AttributeError", problem)
		self.assertEqual(frappe.db.count("Error Log", {"reference_name": broken}), errors_before + 1)
		self.assertFalse(frappe.db.get_value("Drip Sequence", working, "run_problem"))
		self.assertTrue(wait_until(lambda: self.sent_to(working) == {phone.lstrip("+"): 1}, 30))

		# Fixed, its next pass succeeds and the problem is cleared.
		frappe.db.set_value("Drip Sequence", broken, {"condition": "", "last_swept_until": None})
		frappe.db.commit()
		steps.tick()
		frappe.db.rollback()
		self.assertFalse(frappe.db.get_value("Drip Sequence", broken, "run_problem"))

	# -- stopping -----------------------------------------------------------------------------
	def test_reply_through_the_webhook_stops_everything_and_hands_over(self):
		customer, phone = self.person("_ME Drip Replier")
		first = self.sequence(
			"_ME Drip Reply A",
			"Birthday",
			[{"wait": 0, "wait_after": "Trigger"}, {"wait": 2, "wait_after": "Previous Step"}],
		)
		second = self.sequence("_ME Drip Reply B", "Birthday", [{"wait": 5, "wait_after": "Trigger"}])
		now = frappe.utils.now_datetime()
		for sequence in (first, second):
			enrolment.enrol(
				sequence, "Customer", customer, "Customer", customer, trigger_at=now, key=f"test|{now}"
			)
		frappe.db.commit()
		steps.tick(now=now)
		self.assertTrue(wait_until(lambda: self.sent_to(first) == {phone.lstrip("+"): 1}, 30))
		self.assertTrue(webhooks_applied(self.simulator))
		message_id = frappe.db.get_value("WhatsApp Message", {"drip_sequence": first}, "message_id")

		question = f"Can we book for March? ({frappe.generate_hash(length=5)})"
		self.simulator.user_sends_text(
			self.numbers[1].phone_number_id, phone.lstrip("+"), question, message_id
		)
		self.assertTrue(webhooks_applied(self.simulator))
		for sequence in (first, second):
			(enrollment,) = self.enrollments(sequence)
			self.assertEqual(
				(enrollment.status, enrollment.stop_reason, enrollment.handed_to),
				("Stopped", "Replied", "Administrator"),
			)
		todo = frappe.get_all(
			"ToDo",
			{"allocated_to": "Administrator", "description": ("like", f"%{question}%")},
			["reference_type"],
		)
		self.assertEqual([t.reference_type for t in todo], ["WhatsApp Message"])  # one for both sequences
		self.assertTrue(
			frappe.db.exists(
				"Notification Log", {"for_user": "Administrator", "subject": ("like", f"%{question[-7:]}%")}
			)
		)
		steps.tick(now=now + timedelta(days=6))  # nothing further, ever
		self.assertEqual(sum(self.sent_to(first).values()) + sum(self.sent_to(second).values()), 1)

	def test_stop_opts_out_and_ends_the_sequence(self):
		customer, phone = self.person("_ME Drip Stopper")
		sequence = self.sequence("_ME Drip Stop", "Birthday", [{"wait": 1, "wait_after": "Trigger"}])
		now = frappe.utils.now_datetime()
		enrolment.enrol(sequence, "Customer", customer, "Customer", customer, trigger_at=now, key="stop-test")
		frappe.db.commit()
		self.simulator.user_sends_text(self.numbers[1].phone_number_id, phone.lstrip("+"), "STOP")
		self.assertTrue(webhooks_applied(self.simulator))
		(enrollment,) = self.enrollments(sequence)
		self.assertEqual((enrollment.status, enrollment.stop_reason), ("Stopped", "Opted Out"))
		self.assertFalse(
			frappe.db.exists("ToDo", {"description": ("like", "%STOP%"), "allocated_to": "Administrator"})
		)

	def test_a_booking_ends_a_sequence_marked_skip_if_booked(self):
		customer, _ = self.person("_ME Drip Booker")
		sequence = self.sequence(
			"_ME Drip Booking", "Birthday", [{"wait": 2, "wait_after": "Trigger", "skip_if_booked": 1}]
		)
		now = frappe.utils.now_datetime()
		enrolment.enrol(
			sequence, "Customer", customer, "Customer", customer, trigger_at=now, key="booking-test"
		)
		order = make_sales_order(customer, 50000)
		frappe.db.commit()
		(enrollment,) = self.enrollments(sequence)
		self.assertEqual((enrollment.status, enrollment.stop_reason), ("Stopped", "Booked"))
		self.assertEqual(frappe.db.get_value("Drip Enrollment", enrollment.name, "booking"), order.name)

	def test_quiet_hours_hold_a_due_step_until_they_end(self):
		customer, phone = self.person("_ME Drip Night Owl")
		sequence = self.sequence("_ME Drip Night", "Birthday", [{"wait": 0, "wait_after": "Trigger"}])
		now = frappe.utils.now_datetime()
		enrolment.enrol(
			sequence, "Customer", customer, "Customer", customer, trigger_at=now, key="night-test"
		)
		frappe.db.commit()
		start = (now - timedelta(hours=1)).strftime("%H:%M:00")
		end = (now + timedelta(hours=1)).strftime("%H:%M:00")
		try:
			frappe.db.set_single_value(
				"Marketing Settings",
				{"quiet_hours_enabled": 1, "quiet_hours_start": start, "quiet_hours_end": end},
			)
			frappe.db.commit()
			steps.tick(now=now)
			self.assertEqual([m.status for m in self.messages(sequence)], ["Pending"])
			self.assertFalse(wait_until(lambda: self.sent_to(sequence), 3))  # held
		finally:
			frappe.db.set_single_value("Marketing Settings", "quiet_hours_enabled", 0)
			frappe.db.commit()
		steps.tick(now=now)  # the next pass after quiet hours starts the sending job again
		self.assertTrue(wait_until(lambda: self.sent_to(sequence) == {phone.lstrip("+"): 1}, 30))

	# -- races and crashes --------------------------------------------------------------------
	def test_two_passes_at_once_and_two_workers_never_send_twice(self):
		people = [self.person(f"_ME Drip Crowd {i:02d}") for i in range(12)]
		sequence = self.sequence(
			"_ME Drip Crowd",
			"Birthday",
			[{"wait": 0, "wait_after": "Trigger"}, {"wait": 1, "wait_after": "Previous Step"}],
		)
		now = frappe.utils.now_datetime()
		for customer, _ in people:
			enrolment.enrol(
				sequence, "Customer", customer, "Customer", customer, trigger_at=now, key=f"crowd|{customer}"
			)
		frappe.db.commit()
		second_worker = RQWorker().start()
		try:
			passes = [tick_in_child(now) for _ in range(2)]  # two schedulers' passes at the same moment
			for process in passes:
				self.assertEqual(process.wait(120), 0, process.stderr.read())
			passes = [tick_in_child(now + timedelta(days=1, minutes=1)) for _ in range(2)]
			for process in passes:
				self.assertEqual(process.wait(120), 0, process.stderr.read())
			self.assertTrue(
				wait_until(lambda: sum(self.sent_to(sequence).values()) >= 24, 60), self.sent_to(sequence)
			)
		finally:
			second_worker.stop()
		sent_steps = collections.Counter((m.drip_enrollment, m.drip_step) for m in self.messages(sequence))
		self.assertEqual(set(sent_steps.values()), {1})
		self.assertEqual(len(sent_steps), 24)
		self.assertEqual(set(self.sent_to(sequence).values()), {2})  # each person: two steps, once each

	def test_worker_killed_mid_step_resumes_without_a_double(self):
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 4)
		frappe.db.commit()
		people = [self.person(f"_ME Drip Crash {i:02d}") for i in range(16)]
		sequence = self.sequence("_ME Drip Crash", "Birthday", [{"wait": 0, "wait_after": "Trigger"}])
		now = frappe.utils.now_datetime()
		try:
			for customer, _ in people:
				enrolment.enrol(
					sequence,
					"Customer",
					customer,
					"Customer",
					customer,
					trigger_at=now,
					key=f"crash|{customer}",
				)
			frappe.db.commit()
			steps.tick(now=now)
			self.assertTrue(wait_until(lambda: sum(self.sent_to(sequence).values()) >= 4, 30))
			self.worker.kill()
			self.assertLess(sum(self.sent_to(sequence).values()), 16)
			self.assertTrue(webhooks_applied(self.simulator))
			frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 80)
			frappe.db.commit()
			for claim in set(
				frappe.get_all(
					"WhatsApp Message", {"drip_sequence": sequence, "status": "Queued"}, pluck="claimed_by"
				)
			):
				plain_redis().delete(sending.alive_key(claim))  # as if two minutes went by
			plain_redis().delete(sending.job_key(drip_sending.NAME, 1))
			drip_sending.recover_claims(older_than=0)  # the scheduler's recovery, a minute on
			type(self).worker = RQWorker().start()
			steps.tick(now=now)  # the scheduler's next pass starts the sending job again
			frappe.db.commit()
			self.assertTrue(
				wait_until(
					lambda: (
						not frappe.db.count(
							"WhatsApp Message",
							{"drip_sequence": sequence, "status": ("in", ("Pending", "Queued"))},
						)
					),
					60,
				)
			)
		finally:
			frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 80)
			frappe.db.commit()
		sent = self.sent_to(sequence)
		self.assertEqual(set(sent.values()), {1})  # nobody twice
		failed = [m for m in self.messages(sequence) if m.status == "Failed"]
		self.assertEqual(len(sent) + len(failed), 16)  # everybody sent once, or failed with the reason


def tick_in_child(now: datetime) -> subprocess.Popen:
	"""A scheduler pass in another process, as a second scheduler (or a slow first one) would run."""
	return subprocess.Popen(
		[
			sys.executable,
			"-m",
			"frappe.utils.bench_helper",
			"frappe",
			"--site",
			frappe.local.site,
			"execute",
			"marketing_engine.drips.steps.tick",
			"--kwargs",
			repr({"now": now.isoformat()}),
		],
		cwd=f"{get_bench_path()}/sites",
		stdout=subprocess.PIPE,
		stderr=subprocess.PIPE,
		text=True,
	)


class TestRepliesInbox(LiveChannelTestCase):
	def test_answer_freely_inside_the_24_hour_window_only(self):
		from marketing_engine.api.replies import answer, get_replies
		from marketing_engine.channel.messaging import BlockedMessage

		phone = f"+9198129{int(frappe.generate_hash(length=4), 16) % 90000:05d}"
		customer = make_customer(phone, name=f"_ME Inbox Client {phone[-5:]}")
		frappe.db.commit()
		self.simulator.user_sends_text(self.numbers[1].phone_number_id, phone.lstrip("+"), "Is Sunday free?")
		self.assertTrue(webhooks_applied(self.simulator))
		frappe.db.rollback()
		(reply,) = [r for r in get_replies() if r.phone == phone]
		self.assertEqual((reply.person, reply.body, reply.can_answer), (customer, "Is Sunday free?", True))

		sent = answer(reply.name, "Yes, 11 am works. See you!")
		self.assertEqual(sent["status"], "Accepted", sent)
		(text,) = [m for m in self.simulator.sent if m.callback_data == sent["name"]]
		self.assertEqual((text.message_type, text.text), ("text", "Yes, 11 am works. See you!"))
		self.assertEqual(frappe.db.get_value("WhatsApp Message", reply.name, "handled"), 1)
		self.assertNotIn(reply.name, [r.name for r in get_replies()])  # handled: off the to-do list

		# A day later the window is closed: WhatsApp allows only a template, and the inbox says so.
		frappe.db.set_value(
			"WhatsApp Message", reply.name, "received_at", frappe.utils.add_to_date(None, hours=-25)
		)
		self.assertRaisesRegex(BlockedMessage, "24-hour window", answer, reply.name, "Still there?")
