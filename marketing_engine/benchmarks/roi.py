"""Benchmark: the WhatsApp ROI report over 100,000 campaign messages.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.roi.run

Run the seed first (README). This adds, once (a second run finds them and reuses them):

- 20 completed campaigns, one every three weeks, 5 of them with a 10 % holdout group;
- 100,000 WhatsApp Message rows to the site's customers: Read, Delivered, Sent, Accepted,
  Failed and Skipped as a studio's campaigns end up, costs frozen at the published marketing
  rate (none on the three oldest campaigns, from before costs were frozen), billable once
  delivered, a few replies;
- 10,000 link clicks on 8,000 messages;
- Attribution rows for 2 % of the messages, each on one of the customer's own submitted Sales
  Orders (a tenth of them cancelled).

Then it times the report's ``execute`` without filters (median of 5) beside the raw SQL floor:
the very statements ``execute`` sent, captured and replayed as plain SQL in the same run (the two
timed in turns, so that other load on the machine weighs on both), so the difference is what
the report adds in Python. The forms' single-row figures, and each statement, are timed too.
"""

import json
import random
import statistics
import time
from datetime import datetime, timedelta

import frappe

from marketing_engine.benchmarks.seed import insert_rows, standard_columns
from marketing_engine.marketing_engine.report.whatsapp_roi import whatsapp_roi
from marketing_engine.roi import figures as roi
from marketing_engine.roi.attribution import ensure_erpnext_campaign

PREFIX = "BENCH-ROI"
CAMPAIGNS = 20
HOLDOUT_EVERY = 4  # every fourth campaign holds 10 % of its audience out
HOLDOUT_SHARE = 0.10
FIRST_START = datetime(2025, 11, 1, 10, 0)
CAMPAIGN_EVERY = timedelta(weeks=3)
MARKETING_RATE = 0.7846  # INR per delivered marketing message to India (Meta, 2025)
UNCOSTED_CAMPAIGNS = 3  # the oldest ones, sent before costs were frozen on each message
# What a studio's finished campaign looks like: most messages read, a few never delivered.
STATUS_SHARES = {"Read": 52, "Delivered": 22, "Sent": 6, "Accepted": 2, "Failed": 6, "Skipped": 12}
SKIP_REASONS = ("No consent", "Opted out", "Invalid number", "Frequency cap")
REPLY_SHARE = 0.03  # of delivered or read messages
BOOKING_SHARE = 0.02  # of all messages
CANCELLED_SHARE = 0.10  # of bookings


def run(messages: int = 100_000, clicks: int = 10_000, repeat: int = 5, seed: int = 17) -> dict:
	seeded = seed_once(messages, clicks, seed)

	def execute():
		return whatsapp_roi.execute({})

	rows = execute()[1]  # warm: the first call compiles and caches metadata, not what is timed
	statements = captured_sql(execute)
	report_seconds, floor_seconds = paired_medians(execute, lambda: replay(statements), repeat)

	# A campaign with a holdout group: its form runs every query the report does.
	campaign = frappe.db.get_value(
		"WhatsApp Campaign", {"name": ("like", f"{PREFIX}%"), "holdout_percent": (">", 0)}, "name"
	)
	# A sequence's form reads the same tables whether or not it has sent anything yet.
	sequence = frappe.db.get_value("Drip Sequence", {}, "name")
	campaign_form = median_time(lambda: roi.campaign_figures(campaign), repeat)
	sequence_form = median_time(lambda: roi.sequence_figures(sequence), repeat) if sequence else None

	report = {
		"whatsapp_messages": frappe.db.count("WhatsApp Message"),
		"seeded": seeded,
		"report_rows": len(rows),
		"sql_statements": len(statements),
		"report_ms": round(report_seconds * 1000, 1),
		"sql_floor_ms": round(floor_seconds * 1000, 1),
		"report_over_floor": round(report_seconds / floor_seconds, 2),
		"campaign_form_ms": round(campaign_form * 1000, 1),
		"sequence_form_ms": round(sequence_form * 1000, 1) if sequence_form is not None else None,
		"statements": [
			{
				"ms": round(median_time(lambda s=s: replay([s]), repeat) * 1000, 1),
				"sql": " ".join(s[0].split())[:120],
			}
			for s in statements
		],
	}
	print(json.dumps(report, indent=1))
	print(
		f"WhatsApp ROI report: {report['report_ms']} ms for {len(rows)} rows over "
		f"{report['whatsapp_messages']:,} messages (SQL floor {report['sql_floor_ms']} ms, "
		f"{report['report_over_floor']}x); a campaign's form {report['campaign_form_ms']} ms, "
		f"a sequence's {report['sequence_form_ms']} ms"
	)
	return report


# -- timing ------------------------------------------------------------------------------------
def median_time(action, repeat: int) -> float:
	took = []
	for _ in range(repeat):
		started = time.perf_counter()
		action()
		took.append(time.perf_counter() - started)
	return statistics.median(took)


def paired_medians(first, second, repeat: int) -> tuple[float, float]:
	"""Medians of the two, timed in turns: whatever else loads the machine weighs on both."""
	took = ([], [])
	for _ in range(repeat):
		for action, times in zip((first, second), took, strict=True):
			started = time.perf_counter()
			action()
			times.append(time.perf_counter() - started)
	return statistics.median(took[0]), statistics.median(took[1])


def captured_sql(action) -> list[tuple]:
	"""The (query, values) of every statement ``action`` sends through frappe.db.sql."""
	statements = []
	original = frappe.db.sql

	def recording(query, values=(), *args, **kwargs):
		statements.append((query, values))
		return original(query, values, *args, **kwargs)

	frappe.db.sql = recording
	try:
		action()
	finally:
		frappe.db.sql = original
	return statements


def replay(statements: list[tuple]) -> None:
	for query, values in statements:
		frappe.db.sql(query, values)


# -- data --------------------------------------------------------------------------------------
def seed_once(messages: int, clicks: int, seed: int) -> dict:
	"""Write the campaigns, messages, clicks and attributions unless an earlier run did."""
	if frappe.db.count("WhatsApp Message", {"name": ("like", f"{PREFIX}-M%")}) >= messages:
		return {}
	purge()
	rng = random.Random(seed)
	started = time.perf_counter()
	campaigns = campaign_rows()
	message_rows = generate_messages(campaigns, messages, rng)
	click_rows = generate_clicks(message_rows, clicks, rng)
	attribution_rows = generate_attributions(campaigns, message_rows, rng)
	counts = {
		"WhatsApp Campaign": insert_rows("WhatsApp Campaign", campaigns),
		"WhatsApp Message": insert_rows("WhatsApp Message", message_rows),
		"WhatsApp Link Click": insert_clicks(click_rows),
		"Attribution": insert_rows("Attribution", attribution_rows),
	}
	frappe.db.commit()
	counts["seconds"] = round(time.perf_counter() - started, 1)
	return counts


def purge() -> None:
	"""An earlier, smaller or interrupted run's rows: everything named or marked BENCH-ROI."""
	like = f"{PREFIX}%"
	frappe.db.sql("delete from `tabWhatsApp Link Click` where campaign like %s", like)
	frappe.db.sql("delete from `tabAttribution` where name like %s", like)
	frappe.db.sql("delete from `tabWhatsApp Message` where name like %s", like)
	frappe.db.sql("delete from `tabWhatsApp Campaign` where name like %s", like)
	frappe.db.commit()


def campaign_rows() -> list[dict]:
	rows = []
	for number in range(1, CAMPAIGNS + 1):
		name = f"{PREFIX} Campaign {number:02d}"
		started_at = FIRST_START + CAMPAIGN_EVERY * (number - 1)
		rows.append(
			{
				**standard_columns(name, started_at - timedelta(days=2), started_at + timedelta(hours=3)),
				"campaign_name": name,
				"status": "Completed",
				"campaign": ensure_erpnext_campaign(name, "ROI benchmark"),
				"utm_source": name.lower().replace(" ", "-"),
				"started_at": started_at,
				"completed_at": started_at + timedelta(hours=2),
				"holdout_percent": HOLDOUT_SHARE * 100 if number % HOLDOUT_EVERY == 0 else 0,
			}
		)
	return rows


def generate_messages(campaigns: list[dict], total: int, rng: random.Random) -> list[dict]:
	"""Each campaign messages a random slice of the customers (audiences of 2,500 to 7,500)."""
	customers = frappe.db.sql(
		"select name, whatsapp_number from `tabCustomer` where whatsapp_number is not null and whatsapp_number != ''"
	)
	weights = [rng.uniform(0.5, 1.5) for _ in campaigns]
	sizes = [int(total * weight / sum(weights)) for weight in weights]
	sizes[-1] += total - sum(sizes)
	statuses, shares = list(STATUS_SHARES), list(STATUS_SHARES.values())
	rows, number = [], 0
	for index, (campaign, size) in enumerate(zip(campaigns, sizes, strict=True)):
		holdout = campaign["holdout_percent"] / 100
		costed = index >= UNCOSTED_CAMPAIGNS
		for customer, phone in rng.sample(customers, size):
			number += 1
			at = campaign["started_at"] + timedelta(seconds=number % 7200)
			status = rng.choices(statuses, shares)[0]
			error_title = rng.choice(SKIP_REASONS) if status == "Skipped" else None
			if holdout and rng.random() < holdout:
				status, error_title = "Skipped", "Holdout"
			submitted = status != "Skipped"
			rows.append(
				{
					**standard_columns(f"{PREFIX}-M{number:07d}", at, at + timedelta(minutes=5)),
					"direction": "Outbound",
					"status": status,
					"phone": phone,
					"contact_doctype": "Customer",
					"contact_name": customer,
					"category": "MARKETING",
					"campaign": campaign["name"],
					"region": "IN",
					"submitted_at": at if submitted else None,
					"billable": int(status in ("Delivered", "Read")),
					"cost": MARKETING_RATE if submitted and costed else 0,  # Currency columns hold no NULL
					"replied_at": at + timedelta(minutes=30)
					if status in ("Delivered", "Read") and rng.random() < REPLY_SHARE
					else None,
					"error_title": error_title,
				}
			)
	return rows


def generate_clicks(messages: list[dict], total: int, rng: random.Random) -> list[dict]:
	"""Clicks on read messages: four in five clicked once, the rest twice or three times."""
	read = [row for row in messages if row["status"] == "Read"]
	clicks = []
	while len(clicks) < total:
		row = rng.choice(read)
		for _ in range(rng.choices((1, 2, 3), (80, 15, 5))[0]):
			at = row["creation"] + timedelta(minutes=rng.randint(1, 600))
			clicks.append(
				{
					"creation": at,
					"modified": at,
					"link": f"{PREFIX}-L{row['name'][-7:]}",
					"message": row["name"],
					"campaign": row["campaign"],
					"phone": row["phone"],
					"clicked_at": at,
					"user_agent": "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile",
				}
			)
	return clicks[:total]


def insert_clicks(rows: list[dict], chunk_size: int = 2000) -> int:
	"""Link clicks are named by their table's sequence, as the redirect inserts them."""
	fields = list(rows[0])
	columns = ", ".join(["name", "owner", "modified_by", *fields])
	placeholders = (
		"(nextval(`whatsapp_link_click_id_seq`), 'Guest', 'Guest', " + ", ".join(["%s"] * len(fields)) + ")"
	)
	for start in range(0, len(rows), chunk_size):
		chunk = rows[start : start + chunk_size]
		frappe.db.sql(
			f"insert into `tabWhatsApp Link Click` ({columns}) values {', '.join([placeholders] * len(chunk))}",
			[row[field] for row in chunk for field in fields],
		)
	return len(rows)


def generate_attributions(campaigns: list[dict], messages: list[dict], rng: random.Random) -> list[dict]:
	"""Bookings for 2 % of the messages: each on a submitted order of the message's customer."""
	orders: dict[str, list] = {}
	for name, customer, revenue in frappe.db.sql(
		"select name, customer, base_net_total from `tabSales Order` where docstatus = 1"
	):
		orders.setdefault(customer, []).append((name, revenue))
	erpnext_campaign = {row["name"]: row["campaign"] for row in campaigns}
	candidates = [
		row for row in messages if row["status"] in ("Read", "Delivered") and row["contact_name"] in orders
	]
	rows = []
	for number, row in enumerate(rng.sample(candidates, int(len(messages) * BOOKING_SHARE)), start=1):
		order, revenue = rng.choice(orders[row["contact_name"]])
		touched = row["creation"] + timedelta(hours=rng.randint(1, 72))
		rows.append(
			{
				**standard_columns(f"{PREFIX}-A{number:06d}", touched + timedelta(days=1)),
				"sales_order": order,
				"customer": row["contact_name"],
				"status": "Cancelled" if rng.random() < CANCELLED_SHARE else "Active",
				"revenue": revenue,
				"campaign": row["campaign"],
				"erpnext_campaign": erpnext_campaign[row["campaign"]],
				"touch": "Click",
				"touch_at": touched,
				"message": row["name"],
			}
		)
	return rows
