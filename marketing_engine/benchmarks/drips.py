"""Benchmark: the drip scheduler's pass over the 100k-customer site with 50,000 leads.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.drips.run

Run the seed first (README). This adds 50,000 leads (once; their last change spread over 60 days),
enables the three shipped sequences with the sandbox templates, and times:

- an **idle pass**: everything swept up to now, nothing due: what the scheduler pays every minute;
- a **busy pass**: a day's birthdays and a day's stalled inquiries enrolled and their first step
  written as messages: the work proportional to what is due.

Each beside the raw SQL floor measured in the same run: the same reads as plain SQL for the idle
pass, and for the busy pass the same reads plus one multi-row INSERT of the same enrollments and
messages.
"""

import json
import random
import statistics
import time
from datetime import timedelta

import frappe
from frappe.utils import now_datetime

from marketing_engine.benchmarks.dispatch_setup import ACCOUNT, ensure_channel
from marketing_engine.benchmarks.seed import insert_rows, random_mobile_digits, standard_columns
from marketing_engine.drips import enrolment, steps
from marketing_engine.engine import drip
from marketing_engine.marketing_engine.doctype.drip_sequence.drip_sequence import SHIPPED, ship_sequences

LEAD_PREFIX = "BENCH-LEAD-"
STATUSES = ("Lead", "Open", "Replied", "Opportunity", "Interested", "Converted", "Do Not Contact")


def run(leads: int = 50_000, repeat: int = 10) -> dict:
	ensure_channel("http://127.0.0.1:9")  # nothing is sent: the pass only writes messages
	made = ensure_leads(leads)
	sequences = enable_shipped_sequences()
	reset(sequences)
	frappe.db.commit()

	now = now_datetime()
	steps.tick(now=now)  # the first pass catches up (30 days of stalled leads): not what is timed
	frappe.db.commit()
	settle(sequences)

	idle = timed(lambda: steps.tick(now=now + timedelta(seconds=1)), repeat)
	idle_floor = timed(lambda: idle_sql(now), repeat)

	# A day later: that day's birthdays, and the leads that became stalled during that day.
	tomorrow = now + timedelta(days=1)
	due = expected_due(sequences, tomorrow)
	started = time.perf_counter()
	result = steps.tick(now=tomorrow)
	busy = time.perf_counter() - started
	frappe.db.rollback()
	# What became of the pass's enrollments: a first step waiting for its time of day, a message
	# written, or stopped (a lead without an opt-in cannot be sent marketing).
	outcomes = {
		f"{status} {reason or ''}".strip(): count
		for status, reason, count in frappe.db.sql(
			"""select status, stop_reason, count(*) from `tabDrip Enrollment`
			where sequence in %s and creation >= %s group by status, stop_reason""",
			(sequences, now_datetime() - timedelta(seconds=busy + 5)),
		)
	}
	busy_floor = busy_sql(tomorrow, due)

	report = {
		"customers": frappe.db.count("Customer"),
		"leads": frappe.db.count("Lead"),
		"leads_added": made,
		"idle_pass_ms": round(idle * 1000, 1),
		"idle_sql_floor_ms": round(idle_floor * 1000, 1),
		"busy_pass_s": round(busy, 2),
		"busy_enrolled": result["enrolled"],
		"busy_messages": result["messages"],
		"busy_sql_floor_s": round(busy_floor, 3),
		"busy_ms_per_enrollment": round(busy * 1000 / max(result["enrolled"], 1), 1),
		"busy_outcomes": outcomes,
		"expected_due": due,
	}
	print(json.dumps(report, indent=1))
	print(
		f"idle pass {report['idle_pass_ms']} ms (SQL floor {report['idle_sql_floor_ms']} ms); "
		f"busy pass {report['busy_pass_s']} s for {result['enrolled']} enrolments and {result['messages']} "
		f"messages (SQL floor {report['busy_sql_floor_s']} s)"
	)
	cleanup(sequences)
	return report


def ensure_leads(count: int) -> int:
	"""Leads with Indian mobiles, statuses as a studio has them, last changed over 60 days."""
	have = frappe.db.count("Lead", {"name": ("like", f"{LEAD_PREFIX}%")})
	if have >= count:
		return 0
	rng = random.Random(11)
	now = now_datetime()
	rows = []
	for i in range(have, count):
		modified = now - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
		digits = random_mobile_digits(rng)
		rows.append(
			{
				**standard_columns(f"{LEAD_PREFIX}{i:06d}", modified - timedelta(days=2), modified),
				"naming_series": "CRM-LEAD-.YYYY.-",
				"first_name": f"Bench Lead {i}",
				"lead_name": f"Bench Lead {i}",
				"status": rng.choices(STATUSES, weights=(30, 25, 10, 10, 10, 10, 5))[0],
				"mobile_no": digits,
				"whatsapp_number": f"+91{digits}",
				"whatsapp_region": "IN",
				"whatsapp_line_type": "mobile",
				"company": frappe.defaults.get_defaults().get("company"),
			}
		)
	insert_rows("Lead", rows)
	frappe.db.commit()
	return len(rows)


def enable_shipped_sequences() -> list[str]:
	ship_sequences()
	template = frappe.db.get_value(
		"WhatsApp Template", {"template_name": "review_request", "account": ACCOUNT}
	)
	names = []
	for values in SHIPPED:
		sequence = frappe.get_doc("Drip Sequence", values["sequence_name"])
		for step in sequence.steps:
			step.template = template
		sequence.enabled = 1
		sequence.status = "Active"
		sequence.save(ignore_permissions=True)
		for row in sequence.variables:
			row.value_type, row.value = (
				("Document Field", "first_name") if row.variable == "1" else ("Fixed Text", "x")
			)
		sequence.save(ignore_permissions=True)
		names.append(sequence.name)
	return names


def reset(sequences: list[str]) -> None:
	for sequence in sequences:
		frappe.db.sql("delete from `tabWhatsApp Message` where drip_sequence=%s", sequence)
		frappe.db.sql("delete from `tabDrip Enrollment` where sequence=%s", sequence)
		frappe.db.set_value("Drip Sequence", sequence, "last_swept_until", None, update_modified=False)


def settle(sequences: list[str]) -> None:
	"""What the first pass wrote is as good as sent: the idle pass must find nothing due."""
	frappe.db.sql(
		"update `tabWhatsApp Message` set status='Accepted' where drip_sequence in %s and status='Pending'",
		(sequences,),
	)
	frappe.db.sql(
		"""update `tabDrip Enrollment` set next_run_at=%s where sequence in %s and status='Active'""",
		(now_datetime() + timedelta(days=30), sequences),
	)
	frappe.db.commit()


def expected_due(sequences: list[str], when) -> dict:
	birthdays = enrolment.birthdays_today("Customers", when.date())
	stalled = frappe.db.get_value(
		"Drip Sequence", {"trigger": "Inquiry Stalled", "name": ("in", sequences)}, "last_swept_until"
	)
	after, until = drip.stalled_window(stalled, when, 3)
	leads = frappe.db.sql(
		"select count(*) from `tabLead` where modified > %s and modified <= %s and status in ('Lead', 'Open', 'Replied')",
		(after, until),
	)[0][0]
	return {"birthdays": len(birthdays), "stalled_leads": leads}


def idle_sql(now) -> None:
	"""The reads of an idle pass, as plain SQL."""
	frappe.db.sql(
		"select name, `trigger`, last_swept_until from `tabDrip Sequence` where enabled=1 and status='Active'"
	)
	frappe.db.sql(
		"select name, modified from `tabLead` where modified > %s and modified <= %s and status in ('Lead','Open','Replied')",
		(now - timedelta(days=3), now - timedelta(days=3)),
	)
	frappe.db.sql(
		"select name from `tabOpportunity` where modified > %s and modified <= %s and status='Open'",
		(now - timedelta(days=3), now - timedelta(days=3)),
	)
	frappe.db.sql(
		"select name from `tabDrip Enrollment` where status='Active' and next_run_at <= %s limit 500", now
	)
	frappe.db.sql(
		"""select count(*) from `tabWhatsApp Message` where campaign is null and status='Pending'
		and drip_enrollment is not null"""
	)
	frappe.db.commit()


def busy_sql(when, due: dict) -> float:
	"""The busy pass's reads, and the same number of enrollments and messages written with one
	multi-row INSERT each (then removed): what the work costs without any application logic."""
	started = time.perf_counter()
	birthdays = enrolment.birthdays_today("Customers", when.date())
	leads = frappe.db.sql(
		"select name from `tabLead` where modified > %s and modified <= %s and status in ('Lead','Open','Replied')",
		(when - timedelta(days=4), when - timedelta(days=3)),
		pluck=True,
	)
	count = len(birthdays) + len(leads)
	at = now_datetime()
	insert_rows(
		"Drip Enrollment",
		[
			{**standard_columns(f"BENCHFLOOR{i}", at), "sequence": "Birthday Voucher", "status": "Completed",
			"enrollment_key": f"floor|{i}"}
			for i in range(count)
		],
	)  # fmt: skip
	insert_rows(
		"WhatsApp Message",
		[
			{**standard_columns(f"BENCHFLOOR{i}", at), "direction": "Outbound", "status": "Pending", "phone": f"+91{i}",
			"category": "MARKETING"}
			for i in range(count)
		],
	)  # fmt: skip
	elapsed = time.perf_counter() - started
	frappe.db.sql("delete from `tabDrip Enrollment` where name like 'BENCHFLOOR%%'")
	frappe.db.sql("delete from `tabWhatsApp Message` where name like 'BENCHFLOOR%%'")
	frappe.db.commit()
	return elapsed


def timed(action, repeat: int) -> float:
	times = []
	for _ in range(repeat):
		started = time.perf_counter()
		action()
		times.append(time.perf_counter() - started)
	return statistics.median(times)


def cleanup(sequences: list[str]) -> None:
	reset(sequences)
	for sequence in sequences:
		frappe.db.set_value("Drip Sequence", sequence, "enabled", 0)
	frappe.db.commit()
	from frappe.utils.background_jobs import get_queue

	for job in get_queue("long").get_jobs():
		if (job.kwargs or {}).get("site") == frappe.local.site and "run_drips" in str(job.func_name):
			job.delete()
