"""A/B tests on the real send path: a campaign's variants go to an even, reproducible split of a
test share of its eligible audience (each a campaign of its own, sent by a real RQ worker through
the simulator), and at the test's end (the clock under the test's control) the winner by read
rate goes to the held-back rest, everyone messaged exactly once; a tie waits for the studio, who
picks; a variant whose template Meta paused cannot win; a lead within chance waits when the studio
asked for significance. The SQL split agrees with the core's Python one, person by person."""

import collections
from datetime import timedelta
from unittest.mock import patch

import frappe
from frappe.utils import now_datetime

from marketing_engine.campaigns import ab_testing, dispatch
from marketing_engine.channel.consent import record_opt_in
from marketing_engine.engine import ab_test
from marketing_engine.engine.consent import OptInSource
from marketing_engine.roi import figures
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	LiveChannelTestCase,
	RQWorker,
	group_segment,
	make_customer,
	make_customer_group,
	template_name,
	wait_until,
	webhooks_applied,
)

RUN = int(frappe.generate_hash(length=6), 16) % 900000 + 100000
GROUP, AUDIENCE = f"_ME AB Clients {RUN}", f"_ME AB Audience {RUN}"
PEOPLE = 40


class TestABTests(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_customer_group(GROUP)
		cls.phones = []
		for i in range(PEOPLE):
			phone = f"+9197{RUN}{i:02d}"
			customer = make_customer(phone, name=f"_ME AB Client {RUN} {i:02d}", group=GROUP)
			record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
			cls.phones.append(phone)
		group_segment(AUDIENCE, GROUP)
		frappe.db.commit()
		cls.worker = RQWorker().start()

	@classmethod
	def tearDownClass(cls):
		cls.worker.stop()
		# A test left waiting for its winner would start when a later test's scheduler minute
		# comes past its time: cancelled.
		frappe.db.sql(
			"""update `tabWhatsApp Campaign` set status = 'Cancelled'
			where campaign_name like %s and status in ('Scheduled', 'Paused')""",
			f"_ME AB %{RUN}",
		)
		frappe.db.commit()
		super().tearDownClass()

	def setUp(self):
		self.simulator.read_receipts = False  # the test says who read what
		frappe.db.set_value(
			"WhatsApp Template", template_name(BUSINESS_ACCOUNT, "festive_offer"), "status", "APPROVED"
		)
		frappe.db.commit()

	def campaign(self, name: str, **values):
		doc = frappe.get_doc(
			{
				"doctype": "WhatsApp Campaign",
				"campaign_name": f"{name} {RUN}",
				"segments": [{"segment": AUDIENCE}],
				"template": template_name(BUSINESS_ACCOUNT, "review_request"),
				"variables": [
					{"variable": "1", "value_type": "Document Field", "value": "first_name"},
					{"variable": "2", "value_type": "Fixed Text", "value": "your shoot"},
				],
				"ab_test": 1,
				"variants": [
					{
						"template": template_name(BUSINESS_ACCOUNT, "festive_offer"),
						"header_url": "https://img.example/diwali.jpg",
					}
				],
				"test_share": 50,
				"test_hours": 4,
				"winner_metric": "Read",
				**values,
			}
		).insert()
		for row in doc.variables:  # B's {{offer}}, which A does not have
			if not row.value:
				row.value_type, row.value = "Fixed Text", "15% off"
		doc.save()
		frappe.db.commit()
		return doc

	def run_test(self, campaign) -> dict[str, str]:
		"""Confirm; wait until each variant's campaign has sent; the variants by name."""
		self.assertEqual(campaign.confirm_send(), {"status": "Testing"})
		frappe.db.commit()
		variants = ab_testing.variant_campaigns(campaign)
		self.assertEqual(set(variants), {"A", "B"})
		for name in variants.values():
			self.assertTrue(wait_until(lambda n=name: self.status(n) == "Completed", 60), self.status(name))
		self.assertTrue(webhooks_applied(self.simulator))
		return variants

	def status(self, campaign: str) -> str:
		frappe.db.rollback()
		return frappe.db.get_value("WhatsApp Campaign", campaign, "status")

	def read(self, campaign: str, count: int) -> None:
		"""The first ``count`` messages of the variant's campaign were read."""
		names = frappe.get_all(
			"WhatsApp Message", {"campaign": campaign, "status": "Delivered"}, pluck="name", order_by="name"
		)[:count]
		if names:
			frappe.db.sql("update `tabWhatsApp Message` set status='Read' where name in %s", [names])
		frappe.db.commit()

	def finish_test(self, campaign) -> None:
		"""The scheduler's minute after the test's hours."""
		later = now_datetime() + timedelta(hours=4, minutes=1)
		with patch("marketing_engine.campaigns.dispatch.now_datetime", return_value=later):
			dispatch.maintain_campaigns()
		frappe.db.commit()

	def sent_to(self, *campaigns: str) -> collections.Counter:
		names = set(frappe.get_all("WhatsApp Message", {"campaign": ("in", campaigns)}, pluck="name"))
		return collections.Counter(m.to for m in self.simulator.sent if m.callback_data in names)

	def test_the_winner_by_read_rate_goes_to_the_rest_and_everyone_gets_one_message(self):
		campaign = self.campaign("_ME AB Winner")
		self.assertIn("your shoot", campaign.render_preview()["text"])  # A's, with B's variable mapped too
		variants = self.run_test(campaign)
		groups = {v: self.sent_to(name) for v, name in variants.items()}
		# An even, reproducible split of half the audience, as the core's Python computes it.
		expected = collections.defaultdict(set)
		for phone in self.phones:
			expected[ab_test.assign_group(campaign.name, phone, ["A", "B"], 0.5)].add(phone.lstrip("+"))
		self.assertEqual({v: set(g) for v, g in groups.items()}, {"A": expected["A"], "B": expected["B"]})
		self.assertTrue(expected["A"] and expected["B"] and expected[None])
		festive = template_name(BUSINESS_ACCOUNT, "festive_offer")
		b_messages = set(frappe.get_all("WhatsApp Message", {"campaign": variants["B"]}, pluck="name"))
		b_templates = {m.template for m in self.simulator.sent if m.callback_data in b_messages}
		self.assertEqual(b_templates, {frappe.db.get_value("WhatsApp Template", festive, "template_name")})

		self.assertEqual(self.status(campaign.name), "Scheduled", "waiting for the test's hours")
		self.read(variants["A"], 1)
		self.read(variants["B"], len(groups["B"]))  # everyone read B
		self.finish_test(campaign)
		campaign.reload()
		self.assertEqual(
			(campaign.ab_stage, campaign.winner, campaign.template), ("Winner Picked", "B", festive)
		)
		self.assertIn("Variant B read by 100", campaign.winner_reason)
		self.assertTrue(wait_until(lambda: self.status(campaign.name) == "Completed", 60))
		rest = self.sent_to(campaign.name)
		self.assertEqual(set(rest), expected[None])
		everyone = self.sent_to(campaign.name, *variants.values())
		self.assertEqual(set(everyone), {p.lstrip("+") for p in self.phones})
		self.assertEqual(set(everyone.values()), {1}, "nobody twice")

		# The form's table and the ROI report: the variants are rows right after their campaign.
		self.assertIn("<td>B</td>", ab_testing.figures_html(campaign).replace(" (paused by Meta)", ""))
		rows = [(row["name"], row["kind"]) for row in figures.figures({"from_date": frappe.utils.nowdate()})]
		position = rows.index((campaign.name, "Campaign"))
		self.assertEqual(
			rows[position + 1 : position + 3],
			[(variants["A"], "A/B Variant"), (variants["B"], "A/B Variant")],
		)

	def test_a_tie_waits_for_the_studio_who_picks(self):
		campaign = self.campaign("_ME AB Tie")
		variants = self.run_test(campaign)
		self.finish_test(campaign)  # nobody read either: 0 % against 0 %
		campaign.reload()
		self.assertEqual((campaign.status, campaign.pause_cause), ("Paused", ab_testing.PICK_CAUSE))
		self.assertIn("A tie", campaign.winner_reason)
		with self.assertRaisesRegex(frappe.ValidationError, "Pick the winner first"):
			campaign.resume()
		campaign.send_variant_to_rest("A")
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: self.status(campaign.name) == "Completed", 60))
		campaign.reload()
		self.assertEqual((campaign.winner, campaign.winner_reason), ("A", "Picked by Administrator"))
		everyone = self.sent_to(campaign.name, *variants.values())
		self.assertEqual(sorted(everyone.values()), [1] * PEOPLE)

	def test_a_variant_whose_template_meta_paused_cannot_win(self):
		campaign = self.campaign("_ME AB Paused")
		variants = self.run_test(campaign)
		self.read(variants["B"], 100)  # B is far ahead...
		frappe.db.set_value(
			"WhatsApp Template", template_name(BUSINESS_ACCOUNT, "festive_offer"), "status", "PAUSED"
		)
		frappe.db.commit()
		with patch.object(dispatch, "start") as start:  # ...but Meta paused its template
			self.finish_test(campaign)
		campaign.reload()
		self.assertEqual(campaign.winner, "A")
		self.assertIn("only one that can be sent", campaign.winner_reason)
		self.assertEqual(start.call_count, 1)

	def test_a_lead_within_chance_waits_when_significance_is_asked(self):
		campaign = self.campaign("_ME AB Chance", require_significance=1)
		variants = self.run_test(campaign)
		self.read(variants["A"], 2)
		self.read(variants["B"], 3)  # a lead of one read in ten: within chance
		self.finish_test(campaign)
		campaign.reload()
		self.assertEqual((campaign.status, campaign.winner), ("Paused", None))
		self.assertIn("the studio picks", campaign.winner_reason)
		self.assertIn("within chance", ab_testing.figures_html(campaign))

	def test_bad_tests_are_refused(self):
		with self.assertRaisesRegex(frappe.ValidationError, "a template of its own"):
			self.campaign(
				"_ME AB Same", variants=[{"template": template_name(BUSINESS_ACCOUNT, "review_request")}]
			)
		with self.assertRaisesRegex(frappe.ValidationError, "either an A/B test or has a holdout"):
			self.campaign("_ME AB Holdout", holdout_percent=10)
		with self.assertRaisesRegex(frappe.ValidationError, "1 to 90%"):
			self.campaign("_ME AB Share", test_share=100)
		# A variant that could not be sent stops the test before anything is made or sent.
		festive = template_name(BUSINESS_ACCOUNT, "festive_offer")
		campaign = self.campaign("_ME AB No Header", variants=[{"template": festive}])
		with self.assertRaisesRegex(frappe.ValidationError, "Variant B: The template has a image header"):
			campaign.confirm_send()
		self.assertEqual(ab_testing.variant_campaigns(campaign), {})
		self.assertEqual(self.status(campaign.name), "Draft")
