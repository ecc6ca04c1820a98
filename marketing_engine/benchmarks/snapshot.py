"""Benchmark: the campaign snapshot of a large audience (one WhatsApp Message row per member).

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.snapshot.run

The audience is every customer (a rule that every customer meets), so its size is the site's
customer count; the rows are deleted again afterwards.
"""

import time

import frappe

from marketing_engine import dispatch
from marketing_engine.benchmarks.dispatch_setup import (
	ensure_channel,
	ensure_everyone_segment,
	fresh_campaign,
)


def run() -> dict:
	ensure_channel(base_url="http://127.0.0.1:9")  # nothing is sent: only the snapshot runs
	name = "Snapshot benchmark"
	campaign = fresh_campaign(name, ensure_everyone_segment())
	started = time.perf_counter()
	rows = dispatch.snapshot(campaign)
	frappe.db.commit()
	seconds = time.perf_counter() - started
	counts = dict(
		frappe.db.sql(
			"select status, count(*) from `tabWhatsApp Message` where campaign=%s group by status", name
		)
	)
	frappe.db.delete("WhatsApp Message", {"campaign": name})
	frappe.delete_doc("WhatsApp Campaign", name, force=True)
	frappe.db.commit()
	print(
		f"Snapshot of {rows:,} audience members in {seconds:.2f} s ({rows / seconds:,.0f} rows/s): {counts}"
	)
	return {"rows": rows, "seconds": seconds, "statuses": counts}
