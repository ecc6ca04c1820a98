"""Benchmark: send a campaign through the Graph API simulator with real RQ workers.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.dispatch.run \
        --kwargs "{'recipients': 10000, 'rate': 80, 'workers': 1, 'latency': 0.25}"

The simulator runs in its own process with ``latency`` seconds per API call and ``rate`` msg/s
per number (130429 beyond it). ``workers`` RQ workers run the campaign's ``workers`` jobs. The
audience is a static segment of ``recipients`` opted-in customers. Status webhooks are off: this
measures sending. ``frequency_cap`` sets Marketing Settings' cap (messages in 7 days; 0 is off):
one high enough to skip nobody still does all of its work at send time. Reported: msg/s from the
first to the last send, and the peak resident memory of any worker process (the job runs in RQ's
forked work horse).
"""

import os
import socket
import subprocess
import sys
import time

import frappe
import requests
from frappe.utils import get_bench_path

from marketing_engine.benchmarks.dispatch_setup import ensure_channel, fresh_campaign


def run(
	recipients: int = 10000, rate: int = 80, workers: int = 1, latency: float = 0.25, frequency_cap: int = 0
) -> dict:
	port = _free_port()
	sim = subprocess.Popen(
		[sys.executable, "-m", "marketing_engine.engine.simulator", "--port", str(port), "--rate", str(rate),
		 "--latency", str(latency)],
		stdout=subprocess.DEVNULL,
	)  # fmt: skip
	sim_url = f"http://127.0.0.1:{port}"
	_wait_for(lambda: requests.get(f"{sim_url}/_simulator/stats", timeout=1).ok)
	pool = []
	try:
		ensure_channel(sim_url, rate, frequency_cap_messages=frequency_cap)
		segment = _static_audience(recipients)
		campaign = _campaign(segment, workers)
		sites = os.path.join(get_bench_path(), "sites")
		log = open(os.path.join(get_bench_path(), "logs", "marketing_engine_benchmark_workers.log"), "w")
		for _ in range(workers):
			pool.append(
				subprocess.Popen(
					[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue", "long"],
					cwd=sites, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
				)
			)  # fmt: skip
		time.sleep(3)  # workers up
		started = time.perf_counter()
		from marketing_engine.campaigns import dispatch

		dispatch.start(campaign)
		snapshot_seconds = time.perf_counter() - started
		peak_kb, first_send, last_count, last_change = 0, None, 0, time.perf_counter()
		while True:
			frappe.db.rollback()
			peak_kb = max(peak_kb, _peak_rss_kb([p.pid for p in pool]))
			stats = requests.get(f"{sim_url}/_simulator/stats", timeout=5).json()
			if stats["sent"] and first_send is None:
				first_send = time.perf_counter()
			if stats["sent"] != last_count:
				last_count, last_change = stats["sent"], time.perf_counter()
			status = frappe.db.get_value("WhatsApp Campaign", campaign.name, "status")
			if status != "Sending" or time.perf_counter() - last_change > 120:
				break
			time.sleep(0.5)
		finished = last_change
		counts = dict(
			frappe.db.sql(
				"select status, count(*) from `tabWhatsApp Message` where campaign=%s group by status",
				campaign.name,
			)
		)
	finally:
		for process in pool:
			os.killpg(process.pid, 15)
		sim.terminate()
	sending_seconds = finished - (first_send or finished)
	result = {
		"recipients": recipients,
		"rate_cap": rate,
		"workers": workers,
		"latency_s": latency,
		"status": status,
		"sent": last_count,
		"rate_limited_by_simulator": stats["rate_limited"],
		"statuses": counts,
		"snapshot_s": round(snapshot_seconds, 2),
		"sending_s": round(sending_seconds, 1),
		"msg_per_s": round(last_count / sending_seconds, 1) if sending_seconds else None,
		"peak_worker_rss_mb": round(peak_kb / 1024, 1),
	}
	print(result)
	return result


def _static_audience(recipients: int) -> str:
	name = f"Dispatch benchmark {recipients}"
	if not frappe.db.exists("Segment", name):
		frappe.get_doc({"doctype": "Segment", "segment_name": name, "segment_type": "Static"}).insert()
		frappe.db.sql(
			"""insert into `tabSegment Member` (name, creation, modified, owner, modified_by, segment, member_name,
				phone, region, customer)
			select concat('BENCH-SM-', %(n)s, '-', c.name), now(), now(), 'Administrator', 'Administrator', %(segment)s,
				c.customer_name, c.whatsapp_number, c.whatsapp_region, c.name
			from `tabCustomer` c join `tabWhatsApp Consent` wc on wc.name = c.whatsapp_number and wc.status = 'Opted In'
			where c.name like 'BENCH-CUST-%%' group by c.whatsapp_number order by c.name limit %(n)s""",
			{"n": recipients, "segment": name},
		)
		frappe.db.set_value("Segment", name, "member_count", recipients)
		frappe.db.commit()
	return name


def _campaign(segment: str, workers: int):
	return fresh_campaign(
		f"{segment}, {workers} worker(s)",
		segment,
		variables=[
			{"variable": "1", "value_type": "Document Field", "value": "first_name"},
			{"variable": "2", "value_type": "Fixed Text", "value": "your shoot"},
		],
		parallel_jobs=workers,
	)


def _peak_rss_kb(group_leaders: list[int]) -> int:
	"""The largest VmHWM (peak resident set) among the workers' process groups."""
	peak = 0
	for pid in os.listdir("/proc"):
		if not pid.isdigit():
			continue
		try:
			if os.getpgid(int(pid)) not in group_leaders:
				continue
			with open(f"/proc/{pid}/status") as f:
				for line in f:
					if line.startswith("VmHWM:"):
						peak = max(peak, int(line.split()[1]))
		except (OSError, ProcessLookupError):
			continue
	return peak


def _free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def _wait_for(check, timeout: float = 20):
	deadline = time.time() + timeout
	while time.time() < deadline:
		try:
			if check():
				return
		except requests.RequestException:
			pass
		time.sleep(0.2)
	raise RuntimeError("the simulator did not start")
