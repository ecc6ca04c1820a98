"""The Marketing workspace as Desk renders it: every block names a widget that exists, and the
number cards' figures come out in the form Desk formats them in."""

import json
from datetime import datetime
from unittest.mock import patch

import frappe
from frappe.desk.desktop import get_desktop_page
from frappe.tests.utils import FrappeTestCase

from marketing_engine.roi import cards as dashboard
from marketing_engine.tests.utils import make_customer, make_sales_order

APP_MODULE = "Marketing Engine"
FROZEN_TODAY = "2031-01-20"  # in a month no other test writes messages into


def insert(doctype: str, **values) -> str:
	doc = frappe.get_doc({"doctype": doctype, **values})
	doc.db_insert()
	return doc.name


def outbound(status: str, at: str = "2031-01-10 10:00:00", **values) -> str:
	created = datetime.fromisoformat(at)
	return insert(
		"WhatsApp Message", direction="Outbound", status=status, creation=created, modified=created, **values
	)


class TestMarketingWorkspace(FrappeTestCase):
	def test_every_block_names_a_widget_that_desk_can_render(self):
		# Desk finds a block's widget by its label, not by the name of the chart or card it shows:
		# a block naming anything else is silently left out of the page.
		workspace = frappe.get_doc("Workspace", "Marketing")
		labels = {
			"chart": {row.label for row in workspace.charts},
			"number_card": {row.label for row in workspace.number_cards},
			"shortcut": {row.label for row in workspace.shortcuts},
			"card": {row.label for row in workspace.links if row.type == "Card Break"},
		}
		blocks = json.loads(workspace.content)
		for block in blocks:
			if block["type"] in labels:
				name = block["data"][f"{block['type']}_name"]
				self.assertIn(name, labels[block["type"]], f"{block['type']} block {name!r}")
		shown = {block["type"] for block in blocks}
		self.assertTrue({"onboarding", "chart", "number_card", "shortcut", "card"} <= shown, shown)
		for row in workspace.charts:
			self.assertTrue(frappe.db.exists("Dashboard Chart", row.chart_name), row.chart_name)
		for row in workspace.number_cards:
			self.assertTrue(frappe.db.exists("Number Card", row.number_card_name), row.number_card_name)

	def test_a_marketing_user_sees_every_figure_and_no_settings(self):
		email = "me-workspace-user@example.com"
		if not frappe.db.exists("User", email):
			frappe.get_doc(
				{
					"doctype": "User",
					"email": email,
					"first_name": "Neha",
					"send_welcome_email": 0,
					"roles": [{"role": "Marketing User"}],
				}
			).insert()
		workspace = frappe.get_doc("Workspace", "Marketing")
		# Desk counts the rows of every table of every site from information_schema when its cache
		# is empty, which is slow while other sites are being made (it once passed MariaDB's
		# max_statement_time): the counts of what this page links are put there first, so the test
		# does not depend on how busy the server is.
		linked = {row.link_to for row in workspace.links if row.link_type == "DocType" and row.link_to}
		linked |= {row.link_to for row in workspace.shortcuts if row.type == "DocType" and row.link_to}
		frappe.cache.set_value(
			"information_schema:counts",
			{
				doctype: frappe.db.count(doctype)
				for doctype in sorted(linked)
				if not frappe.get_meta(doctype).issingle  # a Single has no table to count
			},
		)
		frappe.set_user(email)
		try:
			page = get_desktop_page(json.dumps({"name": "Marketing", "title": "Marketing", "public": 1}))
		finally:
			frappe.set_user("Administrator")
		self.assertEqual(
			{row.label for row in page["number_cards"]["items"]},
			{row.label for row in workspace.number_cards},
		)
		self.assertEqual(
			{row.label for row in page["charts"]["items"]}, {row.label for row in workspace.charts}
		)
		shortcuts = {row["label"] for row in page["shortcuts"]["items"]}
		self.assertIn("Campaigns", shortcuts)
		self.assertNotIn("Settings", shortcuts)

	def test_cards_and_charts_fix_no_currency_so_desk_uses_the_sites(self):
		# A currency on a card makes Desk format even a percentage as money ("$ 0.00" on an INR site).
		for doctype in ("Number Card", "Dashboard Chart"):
			with_currency = frappe.get_all(
				doctype, filters={"module": APP_MODULE, "currency": ("is", "set")}, pluck="name"
			)
			self.assertEqual(with_currency, [], doctype)

	def test_delivery_and_read_rates_are_percentages_of_this_months_sends(self):
		for status in ("Read", "Read", "Delivered", "Sent", "Accepted"):
			outbound(status)
		outbound("Failed")  # never handed over: not in the base
		outbound("Pending")
		outbound("Read", at="2030-12-31 23:00:00")  # last month
		with patch("marketing_engine.roi.cards.nowdate", return_value=FROZEN_TODAY):
			delivered = dashboard.delivery_rate()
			read = dashboard.read_rate()
		self.assertEqual(delivered, {"value": 60.0, "fieldtype": "Percent", "precision": 1})
		self.assertEqual(read, {"value": 40.0, "fieldtype": "Percent", "precision": 1})

	def test_return_on_spend_is_the_roi_reports_total(self):
		from marketing_engine.marketing_engine.report.whatsapp_roi import whatsapp_roi

		def report_total() -> str:
			summary = whatsapp_roi.execute(frappe._dict())[4]
			return next(item["value"] for item in summary if item.get("label") == "ROI")

		campaign = insert(
			"WhatsApp Campaign",
			campaign_name="_ME Workspace ROI",
			status="Completed",
			started_at=FROZEN_TODAY,
		)
		outbound("Read", cost=0.8631, billable=1, campaign=campaign)
		outbound("Read", cost=0.8631, billable=1, campaign=campaign)
		outbound("Failed", cost=0.8631, billable=0, campaign=campaign)  # not billed: not a cost
		outbound("Read", cost=0.115, billable=1)  # a booking confirmation: not marketing's cost
		order = make_sales_order(make_customer(None, name="_ME Workspace ROI Client"), rate=25000).name
		insert("Attribution", sales_order=order, campaign=campaign, status="Active", revenue=25000)
		insert("Attribution", sales_order=order, campaign=campaign, status="Cancelled", revenue=90000)
		shown = dashboard.return_on_spend()
		self.assertRegex(shown, r"^[\d,]+(\.\d)?x$")
		self.assertEqual(shown, report_total())

	def test_messages_by_status_per_day_counts_what_was_handed_to_meta(self):
		outbound("Read", at="2031-01-19 09:00:00")
		outbound("Read", at="2031-01-19 18:00:00")
		outbound("Failed", at="2031-01-19 10:00:00")
		outbound("Delivered", at="2031-01-20 08:00:00")
		outbound("Pending", at="2031-01-20 08:00:00")  # not handed over yet: not shown
		with patch("marketing_engine.roi.cards.nowdate", return_value=FROZEN_TODAY):
			chart = dashboard.messages_by_status(from_date="2031-01-18")
		self.assertEqual(chart["labels"], ["18 Jan", "19 Jan", "20 Jan"])
		self.assertEqual(
			{dataset["name"]: dataset["values"] for dataset in chart["datasets"]},
			{"Read": [0, 2, 0], "Delivered": [0, 0, 1], "Failed": [0, 1, 0]},
		)
