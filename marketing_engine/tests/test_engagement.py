"""Engagement segments against hand-counted fixtures: who received, had delivered, read, clicked,
answered or booked from a campaign or a sequence (or any), in the last days asked; the negative
operators; combined with the other rules; and Follow Up of a completed campaign."""

from datetime import timedelta

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import now_datetime

from marketing_engine.campaigns.audience import build_audience, preview, refresh_statistics
from marketing_engine.channel.consent import record_opt_in
from marketing_engine.engine.consent import OptInSource
from marketing_engine.engine.segment_rules import RuleError
from marketing_engine.tests.test_segments import segment
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	configure_channel,
	make_address,
	make_customer,
	make_sales_order,
	review_request_campaign,
	sandbox_numbers,
	start_simulator,
	template_name,
)

PEOPLE = ("Asha", "Bina", "Chand", "Esha", "Farid", "Gita")
TOWNS = ("_ME Eng Uptown", "_ME Eng Downtown")
RUN = int(frappe.generate_hash(length=6), 16) % 900000 + 100000  # numbers of this run's people


def insert(doctype: str, **values) -> str:
	doc = frappe.get_doc({"doctype": doctype, **values})
	doc.db_insert()
	return doc.name


class TestEngagementSegments(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.simulator = start_simulator(sandbox_numbers())
		configure_channel(cls.simulator.base_url)
		cls.people = {}
		for n, name in enumerate(PEOPLE):
			mobile = f"+9198{RUN}{n:02d}"  # an earlier run's customers keep theirs
			cls.people[name] = make_customer(mobile, name=f"_ME Eng {name} {RUN}")
			# Towns of their own: other tests count who lives in Mumbai or Pune.
			make_address(cls.people[name], TOWNS[0] if name in ("Asha", "Bina") else TOWNS[1])
			record_opt_in(mobile, OptInSource.FORM, links={"customer": cls.people[name]})
		everyone = segment(
			"_ME Eng Everyone", [{"criterion": "City", "operator": "is", "value": ", ".join(TOWNS)}]
		)
		cls.diwali = review_request_campaign("_ME Eng Diwali", everyone.name, status="Completed").name
		cls.monsoon = review_request_campaign("_ME Eng Monsoon", everyone.name, status="Completed").name
		cls.sequence = frappe.get_doc(
			{
				"doctype": "Drip Sequence",
				"sequence_name": "_ME Eng Sequence",
				"trigger": "Birthday",
				"enabled": 0,
				"steps": [{"template": template_name(BUSINESS_ACCOUNT, "review_request"), "wait": 0}],
			}
		)
		if not frappe.db.exists("Drip Sequence", cls.sequence.sequence_name):
			cls.sequence.insert()
		cls.sequence = cls.sequence.sequence_name
		frappe.db.delete("WhatsApp Message", {"campaign": ("in", (cls.diwali, cls.monsoon))})
		frappe.db.delete("WhatsApp Message", {"drip_sequence": cls.sequence})
		now = now_datetime()

		def message(person, status, days_ago=1, replied=False, clicked=False, **origin):
			at = now - timedelta(days=days_ago)
			name = insert(
				"WhatsApp Message",
				direction="Outbound",
				status=status,
				contact_doctype="Customer",
				contact_name=cls.people[person],
				phone=frappe.db.get_value("Customer", cls.people[person], "whatsapp_number"),
				creation=at,
				modified=at,
				replied_at=at + timedelta(hours=1) if replied else None,
				**origin,
			)
			if clicked:
				insert("WhatsApp Link Click", message=name, clicked_at=at, **origin)
			return name

		d, m, s = {"campaign": cls.diwali}, {"campaign": cls.monsoon}, {"drip_sequence": cls.sequence}
		# Hand-counted: who did what with which.
		message("Asha", "Read", clicked=True, **d)
		message("Asha", "Delivered", **m)
		message("Bina", "Delivered", replied=True, **d)
		message("Chand", "Failed", **d)  # never reached Chand: not "received"
		message("Chand", "Read", days_ago=40, **m)
		message("Esha", "Sent", **d)
		message("Esha", "Read", replied=True, **s)
		message("Gita", "Read", **d)
		# Farid got nothing.
		# The attribution alone (no Sales Order: other tests count who booked lately).
		insert(
			"Attribution",
			sales_order=f"_ME Eng Order {RUN}",
			customer=cls.people["Gita"],
			status="Active",
			revenue=30000,
			campaign=cls.diwali,
			touch="Click",
			touch_at=now,
		)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		super().tearDownClass()

	def who(self, operator: str, *, extra=(), negate=False, marketing=False, **rule) -> set[str]:
		name = segment(
			"_ME Eng Test",
			[
				{"criterion": "Campaign Engagement", "operator": operator, "negate": negate, **rule},
				*extra,
			],
		).name
		audience = build_audience([name], marketing=marketing)
		rows = frappe.db.sql(
			f"select contact_name from ({audience.sql}) a where reason = 'eligible'",
			audience.params,
			pluck=True,
		)
		names = {customer: person for person, customer in self.people.items()}
		return {names[r] for r in rows if r in names}

	def test_each_operator_on_a_named_campaign(self):
		diwali = {"engaged_with": "WhatsApp Campaign", "engagement_reference": self.diwali}
		expected = {
			"received": {"Asha", "Bina", "Esha", "Gita"},
			"delivered": {"Asha", "Bina", "Gita"},
			"read": {"Asha", "Gita"},
			"not read": {"Bina", "Esha"},
			"clicked": {"Asha"},
			"not clicked": {"Bina", "Esha", "Gita"},
			"replied": {"Bina"},
			"did not reply": {"Asha", "Esha", "Gita"},
			"booked": {"Gita"},
		}
		for operator, people in expected.items():
			with self.subTest(operator):
				self.assertEqual(self.who(operator, **diwali), people)

	def test_any_campaign_or_sequence_and_the_last_days(self):
		self.assertEqual(self.who("read"), {"Asha", "Chand", "Esha", "Gita"})
		self.assertEqual(self.who("read", within_days=30), {"Asha", "Esha", "Gita"}, "Chand read 40 days ago")
		self.assertEqual(self.who("read", engaged_with="WhatsApp Campaign"), {"Asha", "Chand", "Gita"})
		self.assertEqual(self.who("replied", engaged_with="Drip Sequence"), {"Esha"})
		self.assertEqual(
			self.who("read", engaged_with="Drip Sequence", engagement_reference=self.sequence), {"Esha"}
		)
		# Not read across everything in 30 days: received something, read none of it.
		self.assertEqual(self.who("not read", within_days=30), {"Bina"})

	def test_combined_with_other_rules_negated_and_in_an_or_group(self):
		diwali = {"engaged_with": "WhatsApp Campaign", "engagement_reference": self.diwali}
		uptown = {"criterion": "City", "operator": "is", "value": TOWNS[0]}
		self.assertEqual(self.who("not read", extra=[uptown], **diwali), {"Bina"})
		# Negate: everyone else, those never messaged too (the "not read" operator leaves them out).
		self.assertEqual(self.who("read", negate=1, **diwali), {"Bina", "Chand", "Esha", "Farid"})
		# (read Diwali) or (in Uptown): group 2.
		self.assertEqual(
			self.who("read", extra=[{**uptown, "rule_group": 2}], **diwali), {"Asha", "Bina", "Gita"}
		)
		# Marketing: every fixture person opted in, so consent keeps them all.
		self.assertEqual(self.who("not read", marketing=True, **diwali), {"Bina", "Esha"})

	def test_a_bad_engagement_rule_is_refused_with_its_row(self):
		with self.assertRaisesRegex(frappe.LinkValidationError, "Could not find Row #1: Which"):
			self.who("read", engaged_with="WhatsApp Campaign", engagement_reference="_ME no such campaign")
		# A campaign deleted after the segment was saved: the segment says so when it is used.
		kept = segment(
			"_ME Eng Stale",
			[{"criterion": "Campaign Engagement", "operator": "read", "engaged_with": "WhatsApp Campaign"}],
		)
		kept.rules[0].engagement_reference = "_ME deleted campaign"
		kept.db_update_all()
		with self.assertRaisesRegex(RuleError, "Rule 1: WhatsApp Campaign _ME deleted campaign not found"):
			build_audience([kept.name])
		with self.assertRaisesRegex(frappe.ValidationError, "takes received, delivered"):
			self.who("opened")

	def test_follow_up_makes_a_draft_to_those_who_did_not_read_with_another_template(self):
		original = frappe.get_doc("WhatsApp Campaign", self.diwali)
		original.db_set({"completed_at": now_datetime() - timedelta(hours=2)})
		festive = template_name(BUSINESS_ACCOUNT, "festive_offer")
		with self.assertRaisesRegex(frappe.ValidationError, "Choose another template"):
			original.make_follow_up("Did not read", 24, original.template)
		with self.assertRaisesRegex(frappe.ValidationError, "Wait between 0 and 720 hours"):
			original.make_follow_up("Did not read", -1, festive)
		name = original.make_follow_up("Did not read", 24, festive)
		follow_up = frappe.get_doc("WhatsApp Campaign", name)
		self.assertEqual(
			(follow_up.status, follow_up.follow_up_of, follow_up.template, follow_up.send_mode),
			("Draft", self.diwali, festive, "Schedule"),
		)
		self.assertAlmostEqual(
			(follow_up.scheduled_at - original.completed_at).total_seconds(), 24 * 3600, delta=2
		)
		estimate = preview(follow_up.audience()[0])
		names = {customer: person for person, customer in self.people.items()}
		self.assertEqual({names[m["contact_name"]] for m in estimate.sample}, {"Bina", "Esha"})
		self.assertEqual(estimate.eligible, 2)
		# A second follow-up of the same campaign gets names of its own; a draft cannot be followed up.
		again = frappe.get_doc("WhatsApp Campaign", original.make_follow_up("Did not click", 0, festive))
		self.assertNotEqual(again.campaign_name, follow_up.campaign_name)
		self.assertGreaterEqual(again.scheduled_at, now_datetime() - timedelta(seconds=5), "a past time: now")
		with self.assertRaisesRegex(frappe.ValidationError, "Only a completed campaign"):
			follow_up.make_follow_up("Did not read", 24, original.template)

	def test_the_daily_statistics_tell_mariadb_how_few_messages_have_a_reply(self):
		refresh_statistics()
		frappe.db.commit()
		(plan,) = frappe.db.sql(
			"explain extended select count(*) from `tabWhatsApp Message` where replied_at is not null",
			as_dict=True,
		)
		replied = frappe.db.sql(
			"select 100 * sum(replied_at is not null) / count(*) from `tabWhatsApp Message`"
		)[0][0]
		self.assertLess(replied, 50)  # a guess of "half" would be far off
		self.assertAlmostEqual(float(plan.filtered), float(replied), delta=5)
