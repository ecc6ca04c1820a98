"""Benchmark: tracked-link redirects per second beside bare ping, under gunicorn.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.links.run

It writes ``links`` tracked links (tokens of one benchmark campaign's messages), serves the site
with gunicorn as production does (2 workers x 4 threads), and sends with wrk, in the same run and
in ``rounds`` turns: ``/api/method/ping`` requests (the floor: what any Frappe request costs), then
as many ``/r/<token>``, one per link, with a phone browser's User-Agent. Every redirect must answer 302, and
every click must be written as a row by the click writer (one short-queue worker, running beside
gunicorn on the same cores). Goal: at least 0.8 of ping (the median of the rounds). CPU per request is read from /proc for
gunicorn, MariaDB and the writer.
"""

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

import frappe
from frappe.utils import get_bench_path, now_datetime

from marketing_engine.benchmarks.webhooks import (
	GUNICORN_THREADS,
	GUNICORN_WORKERS,
	POLL_SECONDS,
	WRK_SCRIPT,
	CpuMeter,
	applier_jobs,
	ping_request,
	send_once,
	start_workers,
	stop,
	wait_for_ping,
	wait_until_idle,
	write_file,
	write_requests,
)
from marketing_engine.engine.tracking import new_token
from marketing_engine.roi import clicks
from marketing_engine.tests.utils import RQWorker, free_port

PREFIX = "BENCHLINK"
BROWSER = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36"


def run(links: int = 10000, rounds: int = 5, connections: int = 32, max_seconds: int = 600) -> dict:
	site = frappe.local.site
	tokens = make_links(links)
	frappe.db.commit()
	sites = os.path.join(get_bench_path(), "sites")
	port = free_port()
	scratch = tempfile.mkdtemp(prefix="marketing_engine_links_")
	script = write_file(scratch, "send_once.lua", WRK_SCRIPT.encode())
	per_round = links // rounds
	redirect_files = [
		write_requests(scratch, f"redirects_{n}.txt", [redirect_request(site, t) for t in tokens[n::rounds]])
		for n in range(rounds)
	]
	pings = write_requests(scratch, "ping.txt", [ping_request(site)] * per_round)
	logs = os.path.join(get_bench_path(), "logs")
	log = open(os.path.join(logs, "marketing_engine_benchmark_gunicorn.log"), "w")
	worker_log = os.path.join(logs, "marketing_engine_benchmark_click_writer.log")
	open(worker_log, "w").close()
	gunicorn = subprocess.Popen(
		["../env/bin/gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(GUNICORN_WORKERS),
		 "--threads", str(GUNICORN_THREADS), "-t", "120", "--preload", "frappe.app:application"],
		cwd=sites, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
	)  # fmt: skip
	pool: list[RQWorker] = []
	measured = []
	ping_cpu, redirect_cpu = CpuUse(), CpuUse()
	try:
		# The click writer runs beside the redirects, on the same cores, as it does in production.
		start_workers(pool, 1, worker_log)
		wait_for_ping(port, site, gunicorn, log.name)
		url = f"http://127.0.0.1:{port}/"
		send_once(url, script, pings, connections, max_seconds)  # warm both workers up
		cpu = CpuMeter(gunicorn, pool)
		# Ping and redirects take turns, so that a slower minute of this shared machine weighs on
		# both; each round's ratio is reported, and the median.
		for redirect_file in redirect_files:
			before_ping = cpu.read()
			ping = send_once(url, script, pings, connections, max_seconds)
			before_redirects = cpu.read()
			redirect = send_once(url, script, redirect_file, connections, max_seconds, expected="302")
			after_redirects = cpu.read()
			ping_cpu.add(before_ping, before_redirects)
			redirect_cpu.add(before_redirects, after_redirects)
			measured.append((ping, redirect))
		answered = cpu.read()
		waiting_when_answered = clicks.waiting_count()
		written, all_written = wait_until_written(links, max_seconds)
		wait_until_idle(pool)
		redirect_cpu.add(answered, cpu.read())  # the writer's last batches
	finally:
		for worker in pool:
			worker.stop()
		stop(gunicorn)
		log.close()
		shutil.rmtree(scratch, ignore_errors=True)
	remove_links()
	frappe.db.commit()
	ratios = [round(per_second(redirect) / per_second(ping), 2) for ping, redirect in measured]
	result = {
		"links": links,
		"gunicorn": f"{GUNICORN_WORKERS} workers x {GUNICORN_THREADS} threads",
		"connections": connections,
		"rounds": [
			{
				"ping_per_s": per_second(ping),
				"redirects_per_s": per_second(redirect),
				"redirects_to_ping": ratio,
			}
			for (ping, redirect), ratio in zip(measured, ratios, strict=True)
		],
		"redirects_to_ping": statistics.median(ratios),
		"redirect_p50_ms": round(statistics.median(r["p50_us"] for _, r in measured) / 1000, 1),
		"redirect_p99_ms": round(max(r["p99_us"] for _, r in measured) / 1000, 1),
		"clicks_written": written,
		# Clicks still in Redis when the last redirect was answered, and how long after it the
		# last one was a row.
		"waiting_when_answered": waiting_when_answered,
		"all_written_after_s": round(all_written - answered["at"], 1),
		"writer_jobs": applier_jobs(worker_log, site),
		# CPU milliseconds per request by process ("applier_ms" is the click writer); "other_cores"
		# is what the rest of the machine used meanwhile, in cores.
		"cpu": {
			"ping": ping_cpu.per_request(per_round * rounds),
			"redirect": redirect_cpu.per_request(links),
		},
	}
	if written != links:
		raise RuntimeError(f"{links} redirects: {written} clicks written")
	print(json.dumps(result))
	print(
		f"redirects beside ping, by round: {', '.join(map(str, ratios))} (median {result['redirects_to_ping']}); "
		f"redirect p50 {result['redirect_p50_ms']} ms; all {written} clicks written "
		f"{result['all_written_after_s']} s after the last redirect; CPU per request (gunicorn + MariaDB + "
		f"click writer) {cpu_line(result['cpu']['redirect'])} beside ping's {cpu_line(result['cpu']['ping'])}"
	)
	return result


class CpuUse:
	"""CPU used over several phases of a run (CpuMeter readings, before and after each)."""

	def __init__(self):
		self.used: dict = {}

	def add(self, before: dict, after: dict) -> None:
		for key in before:
			self.used[key] = self.used.get(key, 0.0) + after[key] - before[key]

	def per_request(self, requests: int) -> dict:
		return CpuMeter.spent(dict.fromkeys(self.used, 0.0), self.used, requests)


def make_links(count: int) -> list[str]:
	remove_links()
	now = now_datetime()
	tokens = [PREFIX + new_token()[len(PREFIX) :] for _ in range(count)]
	frappe.db.bulk_insert(
		"WhatsApp Link",
		["name", "creation", "modified", "owner", "modified_by", "token", "destination", "utm_source",
		 "utm_campaign", "phone"],
		[(t, now, now, "Administrator", "Administrator", t, "https://studio.example/book?ref=bench",
		  "benchmark", "Benchmark", f"+9198{n:08d}") for n, t in enumerate(tokens)],
	)  # fmt: skip
	return tokens


def remove_links() -> None:
	frappe.db.sql("delete from `tabWhatsApp Link Click` where link like %s", f"{PREFIX}%")
	frappe.db.sql("delete from `tabWhatsApp Link` where name like %s", f"{PREFIX}%")


def redirect_request(site: str, token: str) -> bytes:
	return f"GET /r/{token} HTTP/1.1\r\nHost: {site}\r\nUser-Agent: {BROWSER}\r\n\r\n".encode()


def wait_until_written(links: int, max_seconds: int) -> tuple[int, float]:
	"""Until every click is a row (or the time is up): how many are, and when."""
	deadline = time.monotonic() + max_seconds
	while True:
		frappe.db.rollback()  # a fresh snapshot
		written = frappe.db.count("WhatsApp Link Click", {"link": ("like", f"{PREFIX}%")})
		if written >= links or time.monotonic() > deadline:
			return written, time.monotonic()
		time.sleep(POLL_SECONDS)


def cpu_line(spent: dict) -> str:
	return f"{spent['gunicorn_ms']} + {spent['mariadb_ms']} + {spent['applier_ms']} ms"


def per_second(result: dict) -> float:
	return round(result["requests"] / (result["duration_us"] / 1e6), 1)
