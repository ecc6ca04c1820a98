"""The message table's indexes: the ones every snapshot row pays for, each needed by a query of
the app, and the app's queries each with an index that serves them (MariaDB's plan names it among
its possible keys; on a test site's small table it may still prefer a scan)."""

import frappe
from frappe.tests.utils import FrappeTestCase

from marketing_engine.install import INDEXES, UNIQUE_INDEXES, UNNEEDED_INDEXES

TABLE = "tabWhatsApp Message"
# Index -> what reads through it.
EXPECTED = {
	"PRIMARY": "every row by name",
	"message_id": "status webhooks find their message (unique)",
	"me_drip_step": "one message per enrollment and step (unique); a stopped enrollment's rows",
	"user_id": "people known by a business-scoped user ID",
	"contact_name": "the Customer form's messages; the holdout's bookings",
	"creation": "the list, newest first",
	"me_campaign_status": "claims and counters",
	"me_phone_submitted": "a reply's last message to the person; the cap at send time",
	"me_drip_sequence": "a sequence's funnel and return",
}
QUERIES = {
	"claim": (
		f"""select name from `{TABLE}` where campaign=%s and status='Pending'
		and (next_attempt_at is null or next_attempt_at <= now()) order by name limit 50""",
		("x",),
		"me_campaign_status",
	),
	"counters": (
		f"select status, count(*) from `{TABLE}` where campaign=%s group by status",
		("x",),
		"me_campaign_status",
	),
	"status webhook": (f"select name from `{TABLE}` where message_id in %s", (("wamid.x",),), "message_id"),
	"stopped enrollment": (
		f"select name from `{TABLE}` where drip_enrollment=%s and status='Pending'",
		("x",),
		"me_drip_step",
	),
	"funnel": (
		f"select drip_step, status, count(*) from `{TABLE}` where drip_sequence=%s group by drip_step, status",
		("x",),
		"me_drip_sequence",
	),
	"cap at send time": (
		f"""select phone from `{TABLE}` where phone in %s and submitted_at >= now() - interval 7 day
		and category='MARKETING'""",
		(("+919800000001",),),
		"me_phone_submitted",
	),
	"cap of people known by user ID": (
		f"""select user_id, submitted_at from `{TABLE}` where phone is null and user_id in %s
		and submitted_at >= now() - interval 7 day and category='MARKETING'""",
		(("IN.x",),),
		"user_id",
	),
	"reply to": (
		f"""select name from `{TABLE}` where phone=%s and direction='Outbound'
		and submitted_at between now() - interval 30 day and now() order by submitted_at desc limit 1""",
		("+919800000001",),
		"me_phone_submitted",
	),
	"by user ID": (f"select name from `{TABLE}` where user_id=%s", ("IN.x",), "user_id"),
	"customer's messages": (f"select count(*) from `{TABLE}` where contact_name=%s", ("x",), "contact_name"),
}


def indexes() -> dict[str, list[str]]:
	found: dict[str, list[str]] = {}
	for row in frappe.db.sql(f"show index from `{TABLE}`", as_dict=True):
		found.setdefault(row.Key_name, []).append(row.Column_name)
	return found


class TestMessageIndexes(FrappeTestCase):
	def test_the_table_keeps_only_the_indexes_a_query_needs(self):
		found = indexes()
		# Frappe adds `creation` (the list's sort) on the first migrate after install, not at install.
		self.assertLessEqual(set(EXPECTED) - {"creation"}, set(found))
		self.assertLessEqual(set(found), set(EXPECTED))
		for name, columns in {**INDEXES["WhatsApp Message"], **UNIQUE_INDEXES["WhatsApp Message"]}.items():
			self.assertEqual(found[name], columns, name)

	def test_every_query_of_the_app_has_an_index_that_serves_it(self):
		# A row with the values asked for: on a unique index, a value no row has is answered while
		# planning ("impossible WHERE"), and the plan names no key.
		frappe.get_doc(
			{
				"doctype": "WhatsApp Message",
				"direction": "Outbound",
				"status": "Accepted",
				"phone": "+919800000001",
				"category": "MARKETING",
				"message_id": "wamid.x",
			}
		).insert(ignore_permissions=True)
		for label, (sql, values, index) in QUERIES.items():
			with self.subTest(query=label):
				(plan, *_) = frappe.db.sql(f"explain {sql}", values, as_dict=True)
				possible = (plan.possible_keys or "").split(",")
				self.assertIn(index, possible, f"{label}: {plan}")

	def test_a_dropped_index_is_dropped_again_after_migrate(self):
		from marketing_engine.install import drop_unneeded_indexes

		frappe.db.sql_ddl(f"alter table `{TABLE}` add index `modified`(`modified`)")
		self.assertIn("modified", indexes())
		drop_unneeded_indexes()
		self.assertNotIn("modified", indexes())
		self.assertEqual(set(UNNEEDED_INDEXES["WhatsApp Message"]) & set(indexes()), set())

	def test_an_index_the_app_retired_is_dropped_on_migrate(self):
		from marketing_engine.install import RETIRED_INDEXES, drop_unneeded_indexes

		frappe.db.add_index("WhatsApp Message", ["category", "submitted_at"], "me_recent_marketing")
		self.assertIn("me_recent_marketing", indexes())
		drop_unneeded_indexes()
		self.assertEqual(set(RETIRED_INDEXES["WhatsApp Message"]) & set(indexes()), set())
