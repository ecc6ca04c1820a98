"""Benchmark: evaluate the seed's example segments over the benchmark site's customers.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.segments.run

Each segment's full preview (eligible count, exclusions by reason, a sample) is timed three
times with the frequency cap on (2 marketing messages in 7 days, the default) and off, with the
app's covering indexes, and then with the cap on and ERPNext's own indexes only. Changing the cap
recomputes every consent record's ``marketing_capped_until`` once; that is timed too.
"""

import statistics
import time

import frappe

from marketing_engine.benchmarks.dispatch_setup import DEFAULT_CAP, set_frequency_cap
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


def time_previews_with_and_without_cap(names: list[str], repeat: int) -> tuple[dict, dict]:
	"""Each segment's preview with the cap on and off in turns, so that both meet the same caches.
	The two audiences are built first (building one brings the consent records' caps up to date
	for the cap it reads, an update of every record when the cap changed, which is not what is
	compared); the preview, the audience's one SQL statement, is timed."""
	audiences = {}
	for cap_on in (False, True):  # the records are left holding the cap that is on
		set_frequency_cap(*(DEFAULT_CAP if cap_on else (0, 7)))
		audiences[cap_on] = {name: build_audience([name]) for name in names}
	with_cap, without_cap = {}, {}
	for name in names:
		timings: dict[bool, list[float]] = {True: [], False: []}
		results = {}
		for _ in range(repeat):
			for cap_on in (True, False):
				started = time.perf_counter()
				results[cap_on] = preview(audiences[cap_on][name], sample_size=10)
				timings[cap_on].append(time.perf_counter() - started)
		for cap_on, into in ((True, with_cap), (False, without_cap)):
			into[name] = (statistics.median(timings[cap_on]), results[cap_on].eligible, results[cap_on].total)
	return with_cap, without_cap


def drop_app_indexes():
	for doctype, indexes in INDEXES.items():
		for index in indexes:
			if frappe.db.has_index(f"tab{doctype}", index):
				frappe.db.sql_ddl(f"alter table `tab{doctype}` drop index `{index}`")


def run(repeat: int = 3) -> dict:
	names = ensure_segments()
	customers = frappe.db.count("Customer")
	messages = frappe.db.count("WhatsApp Message")
	recompute = {}
	try:
		recompute["off"] = set_frequency_cap(0, 7)
		recompute["on"] = set_frequency_cap(*DEFAULT_CAP)
		with_cap, without_cap = time_previews_with_and_without_cap(names, repeat)
		drop_app_indexes()
		try:
			erpnext_only = time_previews(names, repeat)
		finally:
			add_indexes()
	finally:
		set_frequency_cap(*DEFAULT_CAP)
	print(
		f"\nSegment preview over {customers:,} customers and {messages:,} messages (median of {repeat};"
		" eligible / members with the cap on)"
	)
	print(
		f"{'segment':45} {'cap on':>9} {'cap off':>9} {'on/off':>7} {'ERPNext only':>13} {'eligible':>9}"
		f" {'members':>9}"
	)
	for name in names:
		seconds, eligible, total = with_cap[name]
		print(
			f"{name:45} {seconds * 1000:6.0f} ms {without_cap[name][0] * 1000:6.0f} ms"
			f" {seconds / without_cap[name][0]:7.2f} {erpnext_only[name][0] * 1000:10.0f} ms {eligible:9,} {total:9,}"
		)
	print(
		f"Changing the cap recomputed every consent record in {recompute['on']:.2f} s"
		f" (turning it off: {recompute['off']:.2f} s)"
	)
	return {
		"customers": customers,
		"messages": messages,
		"cap_on": with_cap,
		"cap_off": without_cap,
		"erpnext_indexes_only": erpnext_only,
		"recompute_seconds": recompute,
	}
