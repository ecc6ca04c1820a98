"""Segments over real ERPNext records: the seed's examples, rule combinations, exclusions."""

from datetime import date

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_months, getdate, nowdate

from marketing_engine.campaigns.audience import build_audience, preview
from marketing_engine.channel.consent import (
	record_opt_in,
	record_opt_out,
)
from marketing_engine.engine.consent import OptInSource, OptOutSource
from marketing_engine.tests.utils import (
	configure_channel,
	make_address,
	make_customer,
	make_invoice,
	make_item_group,
	make_sales_order,
	review_request_campaign,
	sandbox_numbers,
	start_simulator,
)

WEDDING, MATERNITY = "_ME Wedding", "_ME Maternity"


def segment(name, rules=(), segment_type="Dynamic", **values):
	if frappe.db.exists("Segment", name):
		frappe.delete_doc("Segment", name, force=True)
	return frappe.get_doc(
		{
			"doctype": "Segment",
			"segment_name": name,
			"segment_type": segment_type,
			"rules": list(rules),
			**values,
		}
	).insert()


def members(name, marketing=True) -> set[str]:
	rows = frappe.db.sql(
		f"select contact_name from ({build_audience([name], marketing=marketing).sql}) a where reason='eligible'",
		build_audience([name], marketing=marketing).params,
		pluck=True,
	)
	return {frappe.db.get_value("Customer", r, "customer_name") or r for r in rows}


class TestSegments(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_item_group(WEDDING)
		make_item_group(MATERNITY)
		today = getdate(nowdate())

		def client(name, mobile, city=None, consent=True):
			customer = make_customer(mobile, name=f"_ME Seg {name}")
			if city:
				make_address(customer, city)
			if consent and mobile:
				record_opt_in(mobile, OptInSource.FORM, links={"customer": customer})
			return customer

		cls.asha = client("Asha", "+919811000001", "Mumbai")  # wedding 2024, VIP
		cls.ravi = client("Ravi", "+919811000002", "Pune")  # wedding 2023
		cls.meera = client("Meera", "+919811000003", "Mumbai")  # maternity 7 months ago
		cls.kavya = client("Kavya", "+919811000004", "Thane")  # maternity last month
		cls.dev = client("Dev", "+919811000005", "Mumbai", consent=False)  # no consent, VIP
		cls.nisha = client("Nisha", "+919811000006", "Mumbai")  # opted out later
		record_opt_out("+919811000006", OptOutSource.STOP_KEYWORD)
		cls.no_number = client("Nonum", None, "Mumbai")
		cls.bad_number = client("Badnum", "12345", "Mumbai", consent=False)
		cls.twin = client("Twin", "+919811000001", "Mumbai")  # shares Asha's number

		vip = make_sales_order(cls.asha, 150000, item_group=WEDDING, on=date(2024, 2, 14))
		make_invoice(vip)
		make_sales_order(cls.ravi, 90000, item_group=WEDDING, on=date(2023, 12, 1))
		make_sales_order(cls.meera, 30000, item_group=MATERNITY, on=add_months(today, -7))
		make_sales_order(cls.kavya, 30000, item_group=MATERNITY, on=add_months(today, -1))
		make_invoice(make_sales_order(cls.dev, 120000, item_group=WEDDING, on=date(2025, 1, 5)))
		for name in (cls.asha, cls.meera):
			frappe.db.set_value("Customer", name, "birthday", date(1990, 3, 12))
		cls.scope = segment(
			"_ME Seg scope",
			[{"criterion": "Customer Group", "operator": "is", "value": "_ME Test Customer Group"}],
		)

	def test_all_weddings_from_2024(self):
		segment("_ME All Weddings 2024", [
			{"criterion": "Booked Item Group", "operator": "booked", "value": WEDDING,
			 "booked_from": "2024-01-01", "booked_to": "2024-12-31"},
		])  # fmt: skip
		self.assertEqual(members("_ME All Weddings 2024"), {"_ME Seg Asha"})

	def test_vip_clients_by_lifetime_spend(self):
		segment("_ME VIP", [{"criterion": "Lifetime Spend", "operator": ">", "value": "₹1,00,000"}])
		self.assertEqual(
			members("_ME VIP", marketing=False) & {"_ME Seg Asha", "_ME Seg Dev"},
			{"_ME Seg Asha", "_ME Seg Dev"},
		)
		# Dev never opted in: a marketing audience leaves him out and says why.
		result = preview(build_audience(["_ME VIP"]))
		self.assertNotIn("_ME Seg Dev", members("_ME VIP"))
		self.assertGreaterEqual(result.excluded.get("no_consent", 0), 1)

	def test_maternity_clients_six_months_later(self):
		segment("_ME Maternity 6m", [
			{"criterion": "Booked Item Group", "operator": "booked", "value": MATERNITY, "booked_months_ago": 6},
		])  # fmt: skip
		self.assertEqual(members("_ME Maternity 6m"), {"_ME Seg Meera"})

	def test_clients_in_mumbai_with_every_exclusion_reason(self):
		segment("_ME Mumbai", [
			{"criterion": "City", "operator": "is", "value": "Mumbai"},
			{"criterion": "Customer Group", "operator": "is", "value": "_ME Test Customer Group"},
		])  # fmt: skip
		result = preview(build_audience(["_ME Mumbai"]))
		names = members("_ME Mumbai")
		self.assertEqual(names, {"_ME Seg Asha", "_ME Seg Meera"})
		for reason, expected in {"opted_out": 1, "no_number": 1, "invalid_number": 1, "duplicate": 1}.items():
			self.assertEqual(result.excluded.get(reason), expected, reason)
		self.assertEqual(result.excluded.get("no_consent"), 1)  # Dev (Badnum's number is invalid first)
		self.assertEqual(result.eligible, 2)
		self.assertEqual({s["display_name"] for s in result.sample}, names)

	def test_the_snapshot_keeps_each_skipped_members_number_as_typed(self):
		"""The snapshot's one insert says, on each skipped row, which number was the problem: the
		invalid one as the customer's record has it, the shared one as it was read."""
		from marketing_engine.campaigns.snapshot import snapshot

		simulator = start_simulator(sandbox_numbers())
		try:
			configure_channel(simulator.base_url)
			segment("_ME Mumbai snapshot", [
				{"criterion": "City", "operator": "is", "value": "Mumbai"},
				{"criterion": "Customer Group", "operator": "is", "value": "_ME Test Customer Group"},
			])  # fmt: skip
			campaign = review_request_campaign("_ME Seg Snapshot", "_ME Mumbai snapshot")
			snapshot(campaign)
			rows = {
				row.contact_name: row
				for row in frappe.get_all(
					"WhatsApp Message",
					{"campaign": campaign.name},
					["contact_name", "status", "error_title", "error_detail", "phone"],
				)
			}
		finally:
			simulator.stop()
		self.assertEqual(rows[self.bad_number].status, "Skipped")
		self.assertEqual(rows[self.bad_number].error_detail, "12345")
		self.assertEqual(rows[self.twin].error_detail, "+919811000001")  # Asha has it first
		self.assertEqual(
			{name for name, row in rows.items() if row.error_detail}, {self.bad_number, self.twin}
		)
		self.assertEqual({rows[n].status for n in (self.asha, self.meera)}, {"Pending"})
		self.assertIsNone(rows[self.no_number].error_detail)

	def test_or_groups_and_negation(self):
		segment("_ME Pune or Thane", [
			{"criterion": "City", "operator": "is", "value": "Pune", "rule_group": 1},
			{"criterion": "City", "operator": "is", "value": "Thane", "rule_group": 2},
		])  # fmt: skip
		self.assertEqual(members("_ME Pune or Thane"), {"_ME Seg Ravi", "_ME Seg Kavya"})
		segment("_ME Weddings not in Mumbai", [
			{"criterion": "Booked Item Group", "operator": "booked", "value": WEDDING},
			{"criterion": "City", "operator": "is", "value": "Mumbai", "negate": 1},
		])  # fmt: skip
		self.assertEqual(members("_ME Weddings not in Mumbai"), {"_ME Seg Ravi"})

	def test_dates_and_birthdays(self):
		segment("_ME March birthdays", [
			{"criterion": "Birthday Month", "operator": "is", "value": "March"},
			{"criterion": "Customer Group", "operator": "is", "value": "_ME Test Customer Group"},
		])  # fmt: skip
		self.assertEqual(members("_ME March birthdays"), {"_ME Seg Asha", "_ME Seg Meera"})
		segment("_ME Recent bookers", [
			{"criterion": "Last Booking Date", "operator": "within last months", "value": "3"},
			{"criterion": "Customer Group", "operator": "is", "value": "_ME Test Customer Group"},
		])  # fmt: skip
		self.assertEqual(members("_ME Recent bookers"), {"_ME Seg Kavya"})
		segment("_ME First booked before 2024", [
			{"criterion": "First Booking Date", "operator": "before", "value": "2024-01-01"},
			{"criterion": "Customer Group", "operator": "is", "value": "_ME Test Customer Group"},
		])  # fmt: skip
		self.assertEqual(members("_ME First booked before 2024"), {"_ME Seg Ravi"})

	def test_a_bad_rule_is_refused_with_its_row(self):
		with self.assertRaises(frappe.ValidationError) as caught:
			segment("_ME Bad", [{"criterion": "Lifetime Spend", "operator": ">", "value": "lots"}])
		self.assertIn("Rule 1", str(caught.exception))
		with self.assertRaises(frappe.ValidationError) as caught:
			segment(
				"_ME Bad group", [{"criterion": "Booked Item Group", "operator": "booked", "value": "Nope"}]
			)
		self.assertIn("Item Group not found: Nope", str(caught.exception))

	def test_exclude_segment_and_live_evaluation(self):
		segment("_ME Mumbai all", [{"criterion": "City", "operator": "is", "value": "Mumbai"}])
		segment("_ME VIP x", [{"criterion": "Lifetime Spend", "operator": ">=", "value": "1L"}])
		audience = build_audience(["_ME Mumbai all"], ["_ME VIP x"])
		rows = frappe.db.sql(
			f"select * from ({audience.sql}) a where reason='eligible'", audience.params, as_dict=True
		)
		names = {frappe.db.get_value("Customer", r.contact_name, "customer_name") for r in rows}
		self.assertIn("_ME Seg Meera", names)
		self.assertNotIn("_ME Seg Asha", names)
		# live: a new opt-in shows at the next evaluation, with nothing to refresh
		frappe.db.savepoint("live_evaluation")
		self.assertNotIn("_ME Seg Dev", members("_ME VIP x"))
		record_opt_in("+919811000005", OptInSource.MANUAL)
		self.assertIn("_ME Seg Dev", members("_ME VIP x"))
		frappe.db.rollback(save_point="live_evaluation")


EXPO_CSV = b"""Name,Mobile No.,Email,City,Consent,Tags
Priya Shah,98200 11111,priya@example.com,Mumbai,yes,expo;wedding
Rahul Jain,+91 98200 22222,,Pune,yes,expo
Bad Number,12345,,Mumbai,yes,expo
Priya Again,9820011111,,Mumbai,yes,expo

No Consent,98200 33333,,Mumbai,no,expo
Known Client,+919811000077,,Mumbai,,expo
Spreadsheet,9.19820E+11,,Delhi,yes,expo
""" + "Caf\xe9 Owner,98200 44444,,Goa,yes,expo\n".encode("latin-1")


class TestStaticSegment(FrappeTestCase):
	def test_leads_from_wedding_expo_csv(self):
		known = frappe.db.exists("Customer", "_ME Seg Known Client") or make_customer(
			"+919811000077", name="_ME Seg Known Client"
		)
		record_opt_in("+919811000077", OptInSource.MANUAL, links={"customer": known})
		file = frappe.get_doc(
			{"doctype": "File", "file_name": "wedding-expo.csv", "content": EXPO_CSV, "is_private": 1}
		).insert()
		expo = segment("_ME Leads from Wedding Expo", segment_type="Static", member_csv=file.file_url)
		report = expo.import_members()

		errors = {e["line"]: e["kind"] for e in report["errors"]}
		self.assertEqual(
			errors, {4: "bad_number", 5: "duplicate", 7: "missing_consent", 9: "bad_number", 10: "encoding"}
		)
		self.assertIn("scientific notation", next(e["reason"] for e in report["errors"] if e["line"] == 9))
		self.assertIn("line 2", next(e["reason"] for e in report["errors"] if e["line"] == 5))
		self.assertEqual(report["kept"], 3)
		members = frappe.get_all(
			"Segment Member", filters={"segment": expo.name}, fields=["member_name", "phone", "customer", "csv_line"],
			order_by="csv_line",
		)  # fmt: skip
		self.assertEqual(
			[(m.member_name, m.phone, m.csv_line) for m in members],
			[
				("Priya Shah", "+919820011111", 2),
				("Rahul Jain", "+919820022222", 3),
				("Known Client", "+919811000077", 8),
			],
		)
		self.assertEqual(members[2].customer, known)  # matched by number
		# the CSV's "yes" is a recorded opt-in with its source, and the history has it
		self.assertEqual(
			frappe.db.get_value("WhatsApp Consent", "+919820011111", ["status", "opt_in_source"]),
			("Opted In", "CSV"),
		)
		self.assertTrue(
			frappe.db.exists("WhatsApp Consent Log", {"consent": "+919820011111", "source": "CSV"})
		)
		self.assertEqual(frappe.db.get_value("Segment", expo.name, "member_count"), 3)

		result = preview(build_audience([expo.name]))
		self.assertEqual(result.eligible, 3)
		self.assertIn(
			"_ME Seg Known Client", {s["display_name"] for s in result.sample}
		)  # the matched customer

	def test_csv_opt_in_never_overrides_an_opt_out(self):
		record_opt_out("+919820055555", OptOutSource.STOP_KEYWORD)
		file = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": "stale.csv",
				"content": b"name,phone,consent\nOld Form,9820055555,yes\n",
				"is_private": 1,
			}
		).insert()
		stale = segment("_ME Stale forms", segment_type="Static", member_csv=file.file_url)
		report = stale.import_members()
		self.assertIn("opted out before", report["summary"])
		self.assertEqual(frappe.db.get_value("WhatsApp Consent", "+919820055555", "status"), "Opted Out")
		self.assertEqual(preview(build_audience([stale.name])).excluded, {"opted_out": 1})

	def test_file_without_phone_column_is_refused(self):
		file = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": "nophone.csv",
				"content": b"name,city\nA,Mumbai\n",
				"is_private": 1,
			}
		).insert()
		seg = segment("_ME No phone", segment_type="Static", member_csv=file.file_url)
		self.assertRaisesRegex(frappe.ValidationError, "phone", seg.import_members)

	def test_import_report_outlives_the_dialog_and_warnings_cost_fields_not_rows(self):
		content = (
			b"Name,Phone,Email,City,Consent\n"
			b"Asha Mobile,98200 66661,asha@example,Mumbai,yes\n"  # bad email: kept, email dropped
			b"Mumbai Office,022 2345 6789,,#N/A,yes\n"  # a landline: kept, with a warning
			b"US Cousin,+1 415 555 0132,,San Francisco,yes\n"  # Meta delivers no marketing to US numbers
			b"Typo,98200 O6664,,Pune,yes\n"  # a letter: refused, never a stranger's number
			b"Extra,98200 66665,,Pune,yes,walk-in,stall 4\n"  # values beyond the header: ignored
		)
		file = frappe.get_doc(
			{"doctype": "File", "file_name": "mixed.csv", "content": content, "is_private": 1}
		).insert()
		mixed = segment("_ME Mixed list", segment_type="Static", member_csv=file.file_url)
		report = mixed.import_members()

		self.assertEqual(report["kept"], 4)
		self.assertEqual([(e["line"], e["kind"]) for e in report["errors"]], [(5, "bad_number")])
		self.assertIn("letters", report["errors"][0]["reason"])
		self.assertEqual(
			{(w["line"], w["kind"]) for w in report["warnings"]},
			{
				(2, "bad_email"),
				(3, "landline"),
				(3, "bad_city"),
				(4, "marketing_not_delivered"),
				(6, "extra_columns"),
			},
		)
		members = {
			m.member_name: m
			for m in frappe.get_all(
				"Segment Member", {"segment": mixed.name}, ["member_name", "email", "line_type", "warnings"]
			)
		}
		self.assertIsNone(members["Asha Mobile"].email)
		self.assertEqual(members["Mumbai Office"].line_type, "fixed_line")

		# The report is a file on the segment, downloadable after the dialog is gone.
		saved = frappe.get_doc("Segment", mixed.name)
		self.assertEqual(saved.import_warnings, 5)
		report_file = frappe.get_doc("File", {"file_url": saved.import_report})
		lines = report_file.get_content()
		lines = lines.decode("utf-8-sig") if isinstance(lines, bytes) else lines.lstrip("\ufeff")
		self.assertIn("rejected", lines)
		self.assertIn("landline", lines)

		# Marketing leaves out the landline and the US number, each with its own reason.
		self.assertEqual(
			preview(build_audience([mixed.name])).excluded, {"landline": 1, "marketing_not_delivered": 1}
		)
		self.assertEqual(preview(build_audience([mixed.name], marketing=False)).eligible, 4)

	def test_a_preview_never_makes_the_users_save_conflict(self):
		seg = segment(
			"_ME Seg preview",
			[{"criterion": "Customer Group", "operator": "is", "value": "_ME Test Customer Group"}],
		)
		opened = frappe.get_doc("Segment", seg.name)  # the form, as the user opened it
		seg.get_preview()
		seg.get_preview()  # the form's own refresh previews again
		opened.description = "Clients from the test group"
		opened.save()  # no TimestampMismatchError
		self.assertEqual(
			frappe.db.get_value("Segment", seg.name, "description"), "Clients from the test group"
		)
