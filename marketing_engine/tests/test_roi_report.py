"""The ROI figures and the WhatsApp ROI report over synthetic rows: a campaign whose five
messages cover every status that counts differently, a drip sequence with messages in and
outside the period, and a campaign with a holdout group whose customers book in and outside the
attribution window. Rows go in through ``db_insert`` (the figures read tables, not validations)
and are rolled back with the test class.

The dates are in March 2026, a month no other test writes into, so the report filtered to it
shows these rows alone."""

from datetime import datetime
from unittest.mock import patch

import frappe
from frappe.tests.utils import FrappeTestCase

from marketing_engine.marketing_engine.report.whatsapp_roi import whatsapp_roi
from marketing_engine.roi import figures as roi
from marketing_engine.roi.attribution import ensure_erpnext_campaign
from marketing_engine.tests.utils import make_customer, make_sales_order

MARCH = {"from_date": "2026-03-01", "to_date": "2026-03-31"}
WINDOW_DAYS = 5  # the holdout campaign starts on 10 March: its window runs to 15 March


def insert(doctype: str, **values) -> str:
	doc = frappe.get_doc({"doctype": doctype, **values})
	doc.db_insert()
	return doc.name


def message(at: str, status: str, cost=None, billable=0, **values) -> str:
	return insert(
		"WhatsApp Message",
		direction="Outbound",
		status=status,
		cost=cost,
		billable=billable,
		creation=datetime.fromisoformat(at),
		modified=datetime.fromisoformat(at),
		**values,
	)


def click(message_name: str, at: str, **values) -> None:
	insert("WhatsApp Link Click", message=message_name, clicked_at=at, **values)


def attribution(sales_order: str, revenue: float, status: str = "Active", **values) -> str:
	return insert("Attribution", sales_order=sales_order, status=status, revenue=revenue, **values)


class TestROIReport(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.suffix = frappe.generate_hash(length=5)
		# The window is read through get_settings, patched rather than saved: a saved value would
		# reach the shared document cache, and every other process on the site, before rollback.
		window = patch(
			"marketing_engine.roi.figures.get_settings",
			return_value=frappe._dict(attribution_window_days=WINDOW_DAYS),
		)
		window.start()
		cls.addClassCleanup(window.stop)
		cls.make_campaign()
		cls.make_sequence()
		cls.make_holdout_campaign()

	@classmethod
	def new_campaign(cls, title: str, started_at: str | None, status: str = "Completed", **values) -> str:
		name = f"_ME ROI {title} {cls.suffix}"
		return insert(
			"WhatsApp Campaign",
			name=name,
			campaign_name=name,
			status=status,
			campaign=ensure_erpnext_campaign(name, "ROI test"),
			started_at=started_at,
			**values,
		)

	@classmethod
	def make_campaign(cls):
		"""Five messages: one per status that counts differently, costs that tell which rows a
		sum took (0.5 + 0.75 billable, 1 sent unbilled, none on an old row, 2 failed)."""
		cls.campaign = cls.new_campaign("Diwali", "2026-03-02 10:00:00")
		cls.customer = make_customer(None)
		on = {"campaign": cls.campaign}
		read = message(
			"2026-03-02 10:00:01",
			"Read",
			0.5,
			1,
			replied_at="2026-03-02 11:00:00",
			contact_doctype="Customer",
			contact_name=cls.customer,
			**on,
		)
		delivered = message("2026-03-02 10:00:02", "Delivered", 0.75, 1, **on)
		message("2026-03-02 10:00:03", "Sent", 1.0, 0, **on)
		message("2026-03-02 10:00:04", "Accepted", None, 0, **on)  # from before costs were frozen
		message("2026-03-02 10:00:05", "Failed", 2.0, 0, **on)
		click(read, "2026-03-02 10:05:00", phone="+910000000001", **on)
		click(read, "2026-03-02 10:06:00", phone="+910000000001", **on)  # the same message again
		click(delivered, "2026-03-03 09:00:00", phone="+910000000002", **on)
		booking, other_booking, cancelled = (
			make_sales_order(cls.customer, rate, on="2026-03-04").name for rate in (30000, 20000, 99000)
		)
		attribution(booking, 30000, campaign=cls.campaign, message=read, touch="Click")
		attribution(other_booking, 20000, campaign=cls.campaign, message=delivered, touch="Click")
		attribution(cancelled, 99000, status="Cancelled", campaign=cls.campaign, message=read)

		# Not in March: shown when asked for by name, not in the month's report.
		cls.april_campaign = cls.new_campaign("April", "2026-04-01 10:00:00")
		message("2026-04-01 10:00:01", "Pending", 1.0, 0, campaign=cls.april_campaign)
		# Skipped, but not held out: no holdout group to measure.
		message(
			"2026-04-01 10:00:02",
			"Skipped",
			campaign=cls.april_campaign,
			contact_doctype="Customer",
			contact_name=cls.customer,
			error_title="No consent",
		)
		cls.draft_campaign = cls.new_campaign("Draft", None, status="Draft")

	@classmethod
	def make_sequence(cls):
		"""Three enrollments in March and one in February, whose message, click and booking only
		count over all time, with a booking from a landing in February."""
		cls.sequence = f"_ME ROI Sequence {cls.suffix}"
		insert(
			"Drip Sequence",
			name=cls.sequence,
			sequence_name=cls.sequence,
			campaign=ensure_erpnext_campaign(cls.sequence, "ROI test"),
			enabled=0,
		)
		enrollments = [
			insert(
				"Drip Enrollment",
				sequence=cls.sequence,
				status="Active",
				creation=datetime.fromisoformat(at),
			)
			for at in (
				"2026-03-05 09:00:00",
				"2026-03-05 09:00:01",
				"2026-03-06 09:00:00",
				"2026-02-20 09:00:00",
			)
		]

		def step(enrollment: int, number: int, at: str, status: str, billable: int, **values) -> str:
			return message(
				at,
				status,
				0.8,
				billable,
				drip_sequence=cls.sequence,
				drip_enrollment=enrollments[enrollment],
				drip_step=number,
				**values,
			)

		first = step(0, 1, "2026-03-05 09:00:00", "Read", 1)
		step(0, 2, "2026-03-12 09:00:00", "Delivered", 1, replied_at="2026-03-12 10:00:00")
		step(1, 1, "2026-03-05 09:00:01", "Failed", 0)
		step(2, 1, "2026-03-06 09:00:00", "Sent", 0)
		february = step(3, 1, "2026-02-20 09:00:00", "Read", 1)
		on = {"drip_sequence": cls.sequence}
		click(first, "2026-03-05 12:00:00", phone="+910000000003", **on)
		click(february, "2026-02-21 12:00:00", phone="+910000000004", **on)
		customer = make_customer(None)
		for sent, rate, booked_at in ((first, 12000, "2026-03-06"), (february, 5000, "2026-02-22")):
			order = make_sales_order(customer, rate, on=booked_at).name
			attribution(order, rate, drip_sequence=cls.sequence, drip_step=1, message=sent, touch="Click")
		# A landing from the sequence's link in February, booked in March: no message to date it by,
		# so the landing does (it belongs to February's figures, like the message it came from).
		attribution(
			make_sales_order(customer, 3000, on="2026-03-03").name,
			3000,
			drip_sequence=cls.sequence,
			touch="UTM Landing",
			touch_at=datetime(2026, 2, 25, 18, 0),
			creation=datetime(2026, 3, 3, 11, 0),
		)

	@classmethod
	def make_holdout_campaign(cls):
		"""Three customers messaged (one of them twice) and two held out; a customer skipped for
		another reason, one whose message failed, and a lead, who are in neither group. Then a
		second holdout campaign whose window overlaps the first's."""
		cls.holdout_campaign = cls.new_campaign("Holdout", "2026-03-10 09:30:00", holdout_percent=40)
		m1, m2, m3, h1, h2, skipped, failed = (make_customer(None) for _ in range(7))

		def row(customer, status, cost=None, billable=0, campaign=cls.holdout_campaign, **values):
			return message(
				"2026-03-10 09:30:00",
				status,
				cost,
				billable,
				campaign=campaign,
				contact_doctype="Customer",
				contact_name=customer,
				**values,
			)

		first = row(m1, "Delivered", 1.0, 1)
		row(m1, "Read", 0.0, 0, phone="+910000000005")  # a second number of the same customer
		row(m2, "Read", 1.0, 1)
		row(m3, "Sent", 1.0, 0)
		row(h1, "Skipped", error_title="Holdout")
		row(h2, "Skipped", error_title="Holdout")
		row(skipped, "Skipped", error_title="No consent")
		row(failed, "Failed", 1.0, 0)
		message(
			"2026-03-10 09:30:00",
			"Delivered",
			0.5,
			1,
			campaign=cls.holdout_campaign,
			contact_doctype="Lead",
			contact_name="_ME ROI Lead",
		)

		orders = {
			m1: [("2026-03-10", 40000), ("2026-03-15", 10000), ("2026-03-16", 70000), ("2026-03-09", 80000)],
			h1: [("2026-03-11", 15000), ("2026-03-20", 25000)],
			skipped: [("2026-03-12", 33000)],
			failed: [("2026-03-12", 44000)],
		}
		booked = {}
		for customer, bookings in orders.items():
			for on_date, rate in bookings:
				booked[customer, on_date] = make_sales_order(customer, rate, on=on_date)
		make_sales_order(m2, 60000, submit=False, on="2026-03-12")  # a draft is no booking
		make_sales_order(m2, 90000, on="2026-03-12").cancel()
		attribution(
			booked[m1, "2026-03-10"].name, 40000, campaign=cls.holdout_campaign, message=first, touch="Click"
		)

		# Four days later, its window 14 to 19 March: m1 again, m4, who booked the day before it
		# started (inside the first campaign's window), and h1 held out again.
		second = cls.new_campaign("Holdout Two", "2026-03-14 10:00:00", holdout_percent=30)
		cls.second_holdout_campaign = second
		m4 = make_customer(None)
		make_sales_order(m4, 20000, on="2026-03-13")
		row(m1, "Read", 1.0, 1, campaign=second)
		row(m4, "Delivered", 0.0, 0, campaign=second)
		row(h1, "Skipped", campaign=second, error_title="Holdout")

	def row_of(self, rows: list[dict], name: str) -> dict:
		found = [row for row in rows if row["name"] == name]
		self.assertEqual(len(found), 1, f"{name} in {[row['name'] for row in rows]}")
		return found[0]

	def test_campaign_figures(self):
		row = self.row_of(roi.figures(MARCH), self.campaign)
		expected = {
			"kind": "Campaign",
			"reference_doctype": "WhatsApp Campaign",
			"title": self.campaign,
			"erpnext_campaign": self.campaign,
			"audience": 5,
			"sent": 4,  # Read, Delivered, Sent, Accepted
			"delivered": 2,
			"read": 1,
			"clicked": 2,  # three clicks on two messages
			"replied": 1,
			"bookings": 2,  # the cancelled attribution is not one
			"revenue": 50000.0,
			"cost": 1.25,  # billable only
			"estimated_cost": 2.25,  # sent only, the old row without a cost as nothing
			"roi": 40000.0,
			"revenue_per_recipient": 12500.0,
		}
		self.assertEqual({key: row[key] for key in expected}, expected)
		for figure in roi.HOLDOUT_FIGURES:
			self.assertIsNone(row[figure], f"{figure} without a holdout group")
		self.assertEqual(roi.campaign_figures(self.campaign), row)

	def test_the_forms_ask_by_doctype_and_need_read_permission(self):
		self.assertEqual(
			roi.figures_of("WhatsApp Campaign", self.campaign), roi.campaign_figures(self.campaign)
		)
		self.assertEqual(roi.figures_of("Drip Sequence", self.sequence), roi.sequence_figures(self.sequence))
		self.assertRaises(frappe.ValidationError, roi.figures_of, "Customer", self.customer)
		frappe.set_user("Guest")
		try:
			self.assertRaises(frappe.PermissionError, roi.figures_of, "WhatsApp Campaign", self.campaign)
		finally:
			frappe.set_user("Administrator")

	def test_sequence_figures_over_all_time_and_over_the_period(self):
		all_time = roi.sequence_figures(self.sequence)
		self.assertEqual(
			{key: all_time[key] for key in ("kind", "reference_doctype", "erpnext_campaign")},
			{
				"kind": "Drip Sequence",
				"reference_doctype": "Drip Sequence",
				"erpnext_campaign": self.sequence,
			},
		)
		expected_all_time = {
			"audience": 4,
			"sent": 4,
			"delivered": 3,
			"read": 2,
			"clicked": 2,
			"replied": 1,
			"bookings": 3,
			"revenue": 20000.0,
			"cost": 2.4,
			"estimated_cost": 3.2,
			"roi": 20000 / 2.4,
			"revenue_per_recipient": 5000.0,
		}
		self.assertEqual({key: all_time[key] for key in expected_all_time}, expected_all_time)
		self.assertEqual(self.row_of(roi.figures({"drip_sequence": self.sequence}), self.sequence), all_time)

		# March leaves out February's enrollment, its message, the click on it and its booking, and
		# the booking from February's landing.
		march = self.row_of(roi.figures(MARCH), self.sequence)
		expected_march = {
			"audience": 3,
			"sent": 3,
			"delivered": 2,
			"read": 1,
			"clicked": 1,
			"replied": 1,
			"bookings": 1,
			"revenue": 12000.0,
			"cost": 1.6,
			"estimated_cost": 2.4,
			"roi": 7500.0,
			"revenue_per_recipient": 4000.0,
		}
		self.assertEqual({key: march[key] for key in expected_march}, expected_march)
		self.assertIsNone(march["incremental_revenue"])
		february = roi.figures(
			{"from_date": "2026-02-01", "to_date": "2026-02-28", "drip_sequence": self.sequence}
		)
		self.assertEqual(
			[
				(row["audience"], row["sent"], row["clicked"], row["bookings"], row["revenue"])
				for row in february
			],
			[(1, 1, 1, 2, 8000.0)],
		)

	def test_holdout_figures(self):
		row = self.row_of(roi.figures(MARCH), self.holdout_campaign)
		# Messaged: m1 (40,000 on the first day + 10,000 on the window's last), m2 (a draft and a
		# cancelled order only), m3 (nothing); held out: h1 (15,000 inside, 25,000 after), h2.
		expected = {
			"audience": 9,
			"sent": 5,  # the customers' four, and the lead's
			"bookings": 1,
			"revenue": 40000.0,  # attributed: only what a touch earned
			"cost": 2.5,
			"messaged_people": 3,
			"holdout_people": 2,
			"messaged_revenue_per_person": 16666.67,
			"holdout_revenue_per_person": 7500.0,
			"incremental_revenue_per_person": 9166.67,
			"incremental_revenue": 27500.0,
			"incremental_roi": 11000.0,
		}
		actual = {key: row[key] for key in expected}
		self.assertAlmostEqual(actual.pop("incremental_roi"), expected.pop("incremental_roi"), places=6)
		self.assertEqual(actual, expected)

	def test_holdout_campaigns_keep_their_own_windows(self):
		"""The second campaign counts m1's orders of the 15th and 16th (the first campaign only
		the 15th's), not m4's of the 13th, inside the first campaign's window but before its own."""
		row = self.row_of(roi.figures(MARCH), self.second_holdout_campaign)
		expected = {
			"audience": 3,
			"sent": 2,
			"cost": 1.0,
			"revenue": 0.0,
			"roi": 0.0,
			"messaged_people": 2,
			"holdout_people": 1,
			"messaged_revenue_per_person": 40000.0,
			"holdout_revenue_per_person": 0.0,
			"incremental_revenue_per_person": 40000.0,
			"incremental_revenue": 80000.0,
			"incremental_roi": 80000.0,
		}
		self.assertEqual({key: row[key] for key in expected}, expected)
		first = self.row_of(roi.figures(MARCH), self.holdout_campaign)
		self.assertEqual(first["messaged_revenue_per_person"], 16666.67)

	def test_holdout_window_follows_the_setting(self):
		"""With a one-day window m1's order on the 15th drops out of the messaged group's revenue;
		an unset window is the week attribution uses."""
		with patch(
			"marketing_engine.roi.figures.get_settings", return_value=frappe._dict(attribution_window_days=1)
		):
			row = roi.campaign_figures(self.holdout_campaign)
		self.assertEqual(row["messaged_revenue_per_person"], 13333.33)
		self.assertEqual(row["holdout_revenue_per_person"], 7500.0)
		with patch(
			"marketing_engine.roi.figures.get_settings", return_value=frappe._dict(attribution_window_days=0)
		):
			self.assertEqual(roi.attribution_window_days(), 7)
			row = roi.campaign_figures(self.holdout_campaign)
		# A week: m1's order on the 16th counts too, and h1's on the 20th still does not.
		self.assertEqual(row["messaged_revenue_per_person"], 40000.0)
		self.assertEqual(row["holdout_revenue_per_person"], 7500.0)

	def test_filters(self):
		march = roi.figures(MARCH)
		self.assertEqual(
			[(row["kind"], row["name"]) for row in march],
			[
				("Campaign", self.second_holdout_campaign),  # latest start first
				("Campaign", self.holdout_campaign),
				("Campaign", self.campaign),
				("Drip Sequence", self.sequence),
			],
		)
		self.assertEqual([row["name"] for row in roi.figures({"campaign": self.campaign})], [self.campaign])
		self.assertEqual(
			[row["name"] for row in roi.figures({"campaign": self.campaign, "drip_sequence": self.sequence})],
			[self.campaign, self.sequence],
		)
		self.assertEqual(roi.figures({**MARCH, "campaign": self.april_campaign}), [])
		# The last day counts whole: the campaign started at 10:00 on the 2nd.
		self.assertEqual(
			[row["name"] for row in roi.figures({"from_date": "2026-03-01", "to_date": "2026-03-02"})],
			[self.campaign],
		)
		april = roi.figures({"campaign": self.april_campaign})[0]
		self.assertEqual((april["audience"], april["sent"]), (2, 0))
		self.assertIsNone(april["holdout_people"])
		self.assertIsNone(april["roi"], "no cost, no ratio")
		self.assertIsNone(april["revenue_per_recipient"], "nothing sent")

		# A draft is no campaign to report on; its form still gets its (empty) figures.
		self.assertEqual(roi.figures({"campaign": self.draft_campaign}), [])
		draft = roi.campaign_figures(self.draft_campaign)
		self.assertEqual((draft["audience"], draft["sent"], draft["cost"]), (0, 0, 0.0))
		self.assertIsNone(roi.campaign_figures(f"_ME ROI Missing {self.suffix}"))
		self.assertIsNone(roi.sequence_figures(f"_ME ROI Missing {self.suffix}"))

	def test_a_handful_of_queries_whatever_the_rows(self):
		"""The same statements for one campaign as for every row of the month: no query per row."""
		original = frappe.db.sql

		def statements(filters) -> list[str]:
			sent = []

			def counting(query, *args, **kwargs):
				sent.append(query)
				return original(query, *args, **kwargs)

			with patch.object(frappe.db, "sql", counting):
				self.assertTrue(roi.figures(filters))
			return sent

		# Campaigns, sequences, messages, clicks, attributions, enrollments, and the holdout
		# groups' customers and revenue; one campaign needs neither sequences nor enrollments,
		# nor the ads' four (their Campaigns, referrals, attributions and spend).
		if not frappe.db.exists("WhatsApp Ad", {"campaign": ("is", "set")}):
			campaign = frappe.get_doc({"doctype": "Campaign", "campaign_name": f"_ME ROI Ad {self.suffix}"})
			frappe.get_doc(
				{"doctype": "WhatsApp Ad", "ad_id": f"9{self.suffix}", "campaign": campaign.insert().name}
			).insert()
		self.assertEqual(len(statements(MARCH)), 12)
		self.assertEqual(len(statements({"campaign": self.holdout_campaign})), 6)
		# Without a holdout group (the April campaign skipped someone, but held nobody out) there
		# are no groups to query.
		self.assertEqual(len(statements({"campaign": self.april_campaign})), 4)

	def test_report(self):
		columns, data, message, chart, summary = whatsapp_roi.execute(frappe._dict(MARCH))
		self.assertIsNone(message)
		by_field = {column["fieldname"]: column for column in columns}
		self.assertEqual(
			[column["fieldname"] for column in columns if not column.get("hidden")],
			[
				"name",
				"kind",
				"erpnext_campaign",
				"audience",
				"leads",
				"sent",
				"delivered",
				"read",
				"clicked",
				"replied",
				"bookings",
				"revenue",
				"cost",
				"estimated_cost",
				"roi",
				"revenue_per_recipient",
				"messaged_people",
				"holdout_people",
				"messaged_revenue_per_person",
				"holdout_revenue_per_person",
				"incremental_revenue",
				"incremental_roi",
			],
		)
		self.assertEqual(
			(by_field["name"]["fieldtype"], by_field["name"]["options"]),
			("Dynamic Link", "reference_doctype"),
		)
		self.assertEqual(by_field["revenue"]["fieldtype"], "Currency")
		self.assertTrue(all(row["currency"] == "INR" for row in data))
		self.assertEqual(
			[{key: value for key, value in row.items() if key != "currency"} for row in data],
			roi.figures(MARCH),
		)

		self.assertEqual(chart["type"], "bar")
		self.assertEqual(
			chart["data"]["labels"],
			[self.second_holdout_campaign, self.holdout_campaign, self.campaign, self.sequence],
		)
		self.assertEqual(
			[(dataset["name"], dataset["values"]) for dataset in chart["data"]["datasets"]],
			[("Cost", [1.0, 2.5, 1.25, 1.6]), ("Revenue", [0.0, 40000.0, 50000.0, 12000.0])],
		)

		# 6.35 spent, 102,000 earned: 16,063 rupees per rupee.
		self.assertEqual(
			[(item.get("label"), item["value"]) for item in summary],
			[
				("Cost", "₹6.35"),
				(None, "→"),
				("Revenue", "₹102,000"),
				(None, "="),
				("ROI", "16,063x"),
				("Bookings", 4),
			],
		)
		self.assertEqual(summary[4]["indicator"], "Green")

	def test_empty_report(self):
		_columns, data, _message, chart, summary = whatsapp_roi.execute(
			{"from_date": "2001-01-01", "to_date": "2001-01-31"}
		)
		self.assertEqual(data, [])
		self.assertIsNone(chart)
		self.assertEqual([item["value"] for item in summary], ["₹0", "→", "₹0", "=", "-", 0])

	def test_money_and_ratio_as_shown(self):
		self.assertEqual(whatsapp_roi.rupees(500), "₹500")
		self.assertEqual(whatsapp_roi.rupees(50000), "₹50,000")
		self.assertEqual(whatsapp_roi.rupees(1.25), "₹1.25")
		self.assertEqual(whatsapp_roi.times(100.0), "100x")
		self.assertEqual(whatsapp_roi.times(2.5), "2.5x")
		self.assertEqual(whatsapp_roi.times(2.04), "2x")
