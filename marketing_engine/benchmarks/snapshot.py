"""Benchmark: the campaign snapshot of a large audience (one WhatsApp Message row per member).

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.snapshot.run

The audience is every customer (a rule that every customer meets), so its size is the site's
customer count. The snapshot runs with the frequency cap off and on (2 marketing messages in 7
days, the default, read from each person's consent record), ``repeat`` times each, beside its
floor measured in the same run: the audience query alone, as plain SQL (``select count(*)`` over
the very statement the snapshot inserts from). The rows are deleted again after each run.
"""

import statistics
import time

import frappe

from marketing_engine.benchmarks.dispatch_setup import (
	DEFAULT_CAP,
	ensure_channel,
	ensure_everyone_segment,
	fresh_campaign,
	set_frequency_cap,
)
from marketing_engine.campaigns.audience import allow_in_memory_temp_tables, build_audience
from marketing_engine.campaigns.snapshot import snapshot

NAME = "Snapshot benchmark"


def run(repeat: int = 3) -> dict:
	ensure_channel(base_url="http://127.0.0.1:9")  # nothing is sent: only the snapshot runs
	segment = ensure_everyone_segment()
	result = {"messages_on_site": frappe.db.count("WhatsApp Message")}
	for label, (messages, days) in (("cap off", (0, 7)), ("cap on", DEFAULT_CAP)):
		set_frequency_cap(messages, days)
		snapshots, floors, counts = [], [], {}
		for _ in range(repeat):
			floors.append(timed(lambda: audience_floor(segment)))
			campaign = fresh_campaign(NAME, segment)
			snapshots.append(timed(lambda campaign=campaign: snapshot(campaign)))
			counts = dict(
				frappe.db.sql(
					"select status, count(*) from `tabWhatsApp Message` where campaign=%s group by status",
					NAME,
				)
			)
			remove()
		seconds, floor = statistics.median(snapshots), statistics.median(floors)
		result[label] = {
			"snapshot_s": round(seconds, 2),
			"audience_sql_floor_s": round(floor, 2),
			"over_floor": round(seconds / floor, 2),
			"rows_per_s": round(sum(counts.values()) / seconds),
			"statuses": counts,
		}
		print(
			f"{label}: snapshot of {sum(counts.values()):,} members in {seconds:.2f} s "
			f"(audience query alone {floor:.2f} s, {seconds / floor:.1f}x): {counts}"
		)
	set_frequency_cap(*DEFAULT_CAP)
	frappe.db.commit()
	return result


def audience_floor(segment: str) -> int:
	audience = build_audience([segment], [], marketing=True)
	allow_in_memory_temp_tables()
	return frappe.db.sql(f"select count(*) from ({audience.sql}) a", audience.params)[0][0]


def timed(action) -> float:
	started = time.perf_counter()
	action()
	frappe.db.commit()
	return time.perf_counter() - started


def remove() -> None:
	frappe.db.delete("WhatsApp Message", {"campaign": NAME})
	frappe.delete_doc("WhatsApp Campaign", NAME, force=True)
	frappe.db.commit()
