"""Benchmark: evaluate the seed's example segments over the benchmark site's customers.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.segments.run

Each segment's full preview (eligible count, exclusions by reason, a sample) is timed three
times, with the app's covering indexes and then with ERPNext's own indexes only.
"""

import time

import frappe

from marketing_engine.benchmarks.seed import wedding_expo_csv
from marketing_engine.campaigns.audience import build_audience, preview
from marketing_engine.campaigns.segment_import import import_csv
from marketing_engine.install import INDEXES, add_indexes

EXAMPLES = {
	"All Weddings from 2024": [
		{
			"criterion": "Booked Item Group",
			"operator": "booked",
			"value": "Wedding",
			"booked_from": "2024-01-01",
			"booked_to": "2024-12-31",
		}
	],
	"VIP Clients (over ₹1L lifetime spend)": [
		{"criterion": "Lifetime Spend", "operator": ">", "value": "1,00,000"}
	],
	"Maternity clients, 6 months later": [
		{"criterion": "Booked Item Group", "operator": "booked", "value": "Maternity", "booked_months_ago": 6}
	],
	"Clients in Mumbai": [{"criterion": "City", "operator": "is", "value": "Mumbai"}],
	"VIP in Mumbai, not booked in the last year": [
		{"criterion": "Lifetime Spend", "operator": ">", "value": "1L"},
		{"criterion": "City", "operator": "is", "value": "Mumbai"},
		{"criterion": "Last Booking Date", "operator": "within last months", "value": "12", "negate": 1},
	],
}
EXPO = "Leads from Wedding Expo"


def ensure_segments() -> list[str]:
	for name, rules in EXAMPLES.items():
		if frappe.db.exists("Segment", name):
			frappe.delete_doc("Segment", name, force=True)
		frappe.get_doc({"doctype": "Segment", "segment_name": name, "rules": rules}).insert()
	if not frappe.db.exists("Segment", EXPO):
		expo = frappe.get_doc({"doctype": "Segment", "segment_name": EXPO, "segment_type": "Static"}).insert()
		started = time.perf_counter()
		report = import_csv(expo, wedding_expo_csv(2000))
		print(f"CSV import of 2,000 rows: {time.perf_counter() - started:.2f} s ({report['summary']})")
	frappe.db.commit()
	return [*EXAMPLES, EXPO]


def time_previews(names: list[str], repeat: int) -> dict[str, tuple[float, int]]:
	results = {}
	for name in names:
		timings = []
		for _ in range(repeat):
			started = time.perf_counter()
			result = preview(build_audience([name]), sample_size=10)
			timings.append(time.perf_counter() - started)
		results[name] = (sorted(timings)[len(timings) // 2], result.eligible, result.total)
	return results


def drop_app_indexes():
	for doctype, indexes in INDEXES.items():
		for index in indexes:
			if frappe.db.has_index(f"tab{doctype}", index):
				frappe.db.sql_ddl(f"alter table `tab{doctype}` drop index `{index}`")


def run(repeat: int = 3) -> dict:
	names = ensure_segments()
	customers = frappe.db.count("Customer")
	with_indexes = time_previews(names, repeat)
	drop_app_indexes()
	try:
		without = time_previews(names, repeat)
	finally:
		add_indexes()
	print(f"\nSegment preview over {customers:,} customers (median of {repeat}; eligible / members)")
	print(f"{'segment':45} {'app indexes':>12} {'ERPNext only':>13} {'eligible':>9} {'members':>9}")
	for name in names:
		seconds, eligible, total = with_indexes[name]
		print(
			f"{name:45} {seconds * 1000:9.0f} ms {without[name][0] * 1000:10.0f} ms {eligible:9,} {total:9,}"
		)
	return {"customers": customers, "with_indexes": with_indexes, "erpnext_indexes_only": without}
