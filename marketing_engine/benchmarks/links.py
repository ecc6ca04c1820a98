"""Benchmark: tracked-link redirects per second beside bare ping, under gunicorn.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.links.run

It writes ``links`` tracked links (tokens of one benchmark campaign's messages), serves the site
with gunicorn as production does (2 workers x 4 threads), and sends with wrk, in the same run: the
same number of ``/api/method/ping`` requests (the floor: what any Frappe request costs), then one
``/r/<token>`` per link with a phone browser's User-Agent. Every redirect must answer 302 and be
recorded as a click. Goal: at least 0.8 of ping.
"""

import json
import os
import shutil
import subprocess
import tempfile

import frappe
from frappe.utils import get_bench_path, now_datetime

from marketing_engine.benchmarks.webhooks import (
	GUNICORN_THREADS,
	GUNICORN_WORKERS,
	WRK_SCRIPT,
	ping_request,
	send_once,
	stop,
	wait_for_ping,
	write_file,
	write_requests,
)
from marketing_engine.engine.tracking import new_token
from marketing_engine.tests.utils import free_port

PREFIX = "BENCHLINK"
BROWSER = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36"


def run(links: int = 5000, connections: int = 32, max_seconds: int = 600) -> dict:
	site = frappe.local.site
	tokens = make_links(links)
	frappe.db.commit()
	sites = os.path.join(get_bench_path(), "sites")
	port = free_port()
	scratch = tempfile.mkdtemp(prefix="marketing_engine_links_")
	script = write_file(scratch, "send_once.lua", WRK_SCRIPT.encode())
	redirects = write_requests(scratch, "redirects.txt", [redirect_request(site, t) for t in tokens])
	pings = write_requests(scratch, "ping.txt", [ping_request(site)] * len(tokens))
	log = open(os.path.join(get_bench_path(), "logs", "marketing_engine_benchmark_gunicorn.log"), "w")
	gunicorn = subprocess.Popen(
		["../env/bin/gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(GUNICORN_WORKERS),
		 "--threads", str(GUNICORN_THREADS), "-t", "120", "--preload", "frappe.app:application"],
		cwd=sites, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
	)  # fmt: skip
	try:
		wait_for_ping(port, site, gunicorn, log.name)
		url = f"http://127.0.0.1:{port}/"
		send_once(url, script, pings, connections, max_seconds)  # warm both workers up
		ping = send_once(url, script, pings, connections, max_seconds)
		redirect = send_once(url, script, redirects, connections, max_seconds, expected="302")
	finally:
		stop(gunicorn)
		log.close()
		shutil.rmtree(scratch, ignore_errors=True)
	frappe.db.rollback()
	clicks = frappe.db.count("WhatsApp Link Click", {"link": ("like", f"{PREFIX}%")})
	remove_links()
	frappe.db.commit()
	result = {
		"links": links,
		"gunicorn": f"{GUNICORN_WORKERS} workers x {GUNICORN_THREADS} threads",
		"connections": connections,
		"ping_per_s": per_second(ping),
		"redirects_per_s": per_second(redirect),
		"redirects_to_ping": round(per_second(redirect) / per_second(ping), 2),
		"redirect_p50_ms": round(redirect["p50_us"] / 1000, 1),
		"redirect_p99_ms": round(redirect["p99_us"] / 1000, 1),
		"clicks_recorded": clicks,
	}
	if clicks != links:
		raise RuntimeError(f"{links} redirects recorded {clicks} clicks")
	print(json.dumps(result))
	print(
		f"redirects {result['redirects_per_s']}/s beside ping {result['ping_per_s']}/s: "
		f"{result['redirects_to_ping']} of ping; p50 {result['redirect_p50_ms']} ms"
	)
	return result


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


def per_second(result: dict) -> float:
	return round(result["requests"] / (result["duration_us"] / 1e6), 1)
