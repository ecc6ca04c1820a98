"""Benchmark: Meta's status webhooks through gunicorn, stored by the endpoint and applied by RQ.

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.webhooks.run \\
        --kwargs "{'messages': 3000, 'workers': 1}"

``messages`` outbound messages (status Accepted) get three signed status webhooks each: sent,
delivered and read, in the order Meta would deliver them for a campaign sending at 80 msg/s.
Frappe runs as in production (gunicorn, 2 workers x 4 threads, ``--preload``) with ``workers``
real RQ workers on the short queue. ``wrk`` (Debian's package) sends every request exactly once
over ``connections`` connections from one thread, first bare ``/api/method/ping`` (the floor of a
Frappe request here), then the webhooks.

Reported: accepted webhooks/s beside ping req/s (goal: at least 0.95 of it), statuses applied per
second while webhooks arrive and until every message is Read, wrk's latency percentiles, the
applier jobs that ran, and the CPU time per request of gunicorn, the applier and MariaDB (the
two cores are shared with whatever else runs, which is reported too). Everything the run made is
deleted afterwards; any webhook not answered 200 fails the run.
"""

import base64
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import frappe
import requests
from frappe.utils import add_to_date, get_bench_path, now_datetime

from marketing_engine.background import plain_redis
from marketing_engine.benchmarks.dispatch_setup import (
	ensure_channel,
	ensure_everyone_segment,
	fresh_campaign,
)
from marketing_engine.benchmarks.seed import insert_rows, standard_columns
from marketing_engine.channel.webhooks import applier_key, journal_directory, retry_failed
from marketing_engine.engine import journal
from marketing_engine.engine.webhook import SIGNATURE_HEADER, sign
from marketing_engine.tests.utils import (
	WEBHOOK_PATH,
	RQWorker,
	descendants,
	free_port,
	make_account,
	sandbox_numbers,
)

ACCOUNT = "BENCH System"
CAMPAIGN = "Webhook benchmark"
MESSAGE_PREFIX = "BENCH-WH-"
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
# The campaign's pace and its recipients' behaviour decide how Meta interleaves the three
# statuses of different messages: sent within a second or two, delivered a few seconds later,
# read after a long tail (most people open WhatsApp within minutes).
SEND_RATE = 80
MEAN_READ_DELAY_SECONDS = 30
POLL_SECONDS = 0.25
# The applier has this long without progress to finish after the last webhook is answered.
STALL_SECONDS = 120
SCHEDULER_TICK_SECONDS = 60
# Pending events with no progress for this long have no applier job working on them.
STRANDED_AFTER_SECONDS = 2

# Sends each pre-built request once: ``request`` hands out the next one, or an empty string once
# all are out (wrk then writes nothing and the connection waits). wrk calls ``request`` once
# before connecting, only to check that it returns a request; that call must not use one up.
# wrk runs for its whole duration however early its threads stop, so at the last response the
# script says so and is interrupted (SIGINT), which ends the run and its clock. Answers are
# counted by status here because wrk's own summary only counts non-2xx/3xx ones; the counters
# are globals so that ``done`` can read them.
WRK_SCRIPT = r"""
requests, count, sent, answered, statuses, checked = {}, 0, 0, 0, {}, false
local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	local file = assert(io.open(args[1], "rb"))
	local data = file:read("*a")
	file:close()
	local position = 1
	while position <= #data do
		local newline = data:find("\n", position, true)
		local length = tonumber(data:sub(position, newline - 1))
		count = count + 1
		requests[count] = data:sub(newline + 1, newline + length)
		position = newline + 1 + length
	end
end

function request()
	if not checked then
		checked = true
		return requests[1]
	end
	if sent >= count then
		return ""
	end
	sent = sent + 1
	return requests[sent]
end

function response(status, headers, body)
	answered = answered + 1
	statuses[status] = (statuses[status] or 0) + 1
	if answered == count then
		io.write("ALL ANSWERED\n")
		io.flush()
		wrk.thread:stop()
	end
end

function done(summary, latency, _)
	local thread = threads[1]
	local parts = {}
	for status, n in pairs(thread:get("statuses")) do
		parts[#parts + 1] = string.format('"%d": %d', status, n)
	end
	local errors = summary.errors
	io.write(string.format(
		'RESULT {"requests": %d, "answered": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
			.. '"p99_us": %d, "max_us": %d, "statuses": {%s}, "socket_errors": {"connect": %d, '
			.. '"read": %d, "write": %d, "timeout": %d}}\n',
		thread:get("count"), thread:get("answered"), summary.duration, latency:percentile(50),
		latency:percentile(90), latency:percentile(99), latency.max, table.concat(parts, ", "),
		errors.connect, errors.read, errors.write, errors.timeout
	))
end
"""


def run(
	messages: int = 3000,
	workers: int = 1,
	connections: int = 32,
	first_contact: bool = False,
	backlog: bool = False,
	seed: int = 7,
	max_seconds: int = 900,
) -> dict:
	"""With ``first_contact``, the recipients' consent records do not know their BSUID yet, so the
	first status of each message teaches it (a consent save); otherwise they know it already, as
	they do from the second campaign on. With ``backlog``, the workers start only once every
	webhook is answered: the endpoint then has the cores to itself, and the applier drains the
	whole backlog in full batches, as after an outage."""
	site = frappe.local.site
	secret = ensure_account()
	campaign = ensure_campaign()
	people = recipients(messages)
	remove_messages(campaign)
	insert_messages(campaign, people)
	set_user_ids(people, known=not first_contact)
	frappe.db.commit()
	plain_redis().delete(applier_key())  # left by a stopped worker, it would hold back the first job

	bench = get_bench_path()
	sites = os.path.join(bench, "sites")
	port = free_port()
	scratch = tempfile.mkdtemp(prefix="marketing_engine_webhooks_")
	script = write_file(scratch, "send_once.lua", WRK_SCRIPT.encode())
	webhooks = webhook_requests(site, people, secret, seed)
	webhook_file = write_requests(scratch, "webhooks.txt", webhooks)
	ping_file = write_requests(scratch, "ping.txt", [ping_request(site)] * len(webhooks))

	log = open(os.path.join(bench, "logs", "marketing_engine_benchmark_gunicorn.log"), "w")
	worker_log = os.path.join(bench, "logs", "marketing_engine_benchmark_workers.log")
	open(worker_log, "w").close()  # this run's jobs only
	gunicorn = subprocess.Popen(
		["../env/bin/gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(GUNICORN_WORKERS),
		 "--threads", str(GUNICORN_THREADS), "-t", "120", "--preload", "frappe.app:application"],
		cwd=sites, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
	)  # fmt: skip
	pool: list[RQWorker] = []
	try:
		if not backlog:
			start_workers(pool, workers, worker_log)
		wait_for_ping(port, site, gunicorn, log.name)
		url = f"http://127.0.0.1:{port}/"
		cpu = CpuMeter(gunicorn, pool)
		before_ping = cpu.read()
		ping = send_once(url, script, ping_file, connections, max_seconds)
		before_webhooks = cpu.read()
		started = time.monotonic()
		accepted = send_once(url, script, webhook_file, connections, max_seconds)
		accept_seconds = time.monotonic() - started
		when_answered = cpu.read()
		applied_when_answered, _ = applied_statuses(campaign)
		drain_started = time.monotonic()
		if backlog:
			start_workers(pool, workers, worker_log)
		all_read = wait_until_all_read(campaign, messages, started)
		wait_until_idle(pool)
		when_all_read = cpu.read()
	finally:
		for worker in pool:
			worker.stop()
		stop(gunicorn)
		log.close()
		shutil.rmtree(scratch, ignore_errors=True)
		remove_messages(campaign)
		set_user_ids(people, known=False)
		plain_redis().delete(applier_key())
		frappe.db.commit()

	statuses = 3 * messages
	jobs = applier_jobs(worker_log, site)
	result = {
		"messages": messages,
		"webhooks": len(webhooks),
		"gunicorn": f"{GUNICORN_WORKERS} workers x {GUNICORN_THREADS} threads",
		"rq_workers": workers,
		"connections": connections,
		"first_contact": first_contact,
		"backlog": backlog,
		"ping": summarize(ping),
		"webhook": summarize(accepted),
		"accepted_to_ping": round(rate(accepted) / rate(ping), 2),
		"applied_during_accept_per_s": round(applied_when_answered / accept_seconds, 1),
		"backlog_when_answered": statuses - applied_when_answered,
		"applied_until_all_read_per_s": round(statuses / all_read["seconds"], 1),
		"seconds_until_all_read": round(all_read["seconds"], 1),
		# From the last webhook answered (with ``backlog``: from the workers' start) until all Read.
		"drain_per_s": round(
			(statuses - applied_when_answered) / (started + all_read["seconds"] - drain_started), 1
		),
		# Left Pending with no applier job until the scheduler's next minute.
		"stranded_events": all_read["stranded"],
		# Jobs that raised had their events applied by a later job.
		"applier_jobs": jobs,
		# CPU milliseconds per request (ping) or per webhook, by process; "other_cores" is what the
		# rest of the machine (other sites, tests, Redis) used meanwhile, in cores.
		"cpu": {
			"ping": CpuMeter.spent(before_ping, before_webhooks, len(webhooks)),
			"webhooks_while_arriving": CpuMeter.spent(before_webhooks, when_answered, len(webhooks)),
			"webhooks_until_all_read": CpuMeter.spent(before_webhooks, when_all_read, len(webhooks)),
		},
	}
	if all_read["stalled"]:
		stalled = all_read["stalled"]
		result["applied_until_stranded_per_s"] = round(stalled["applied"] / stalled["seconds"], 1)
	print(json.dumps(result))
	print_summary(result)
	return result


# Setup
# -----


def ensure_account() -> str:
	"""The System account that signs the webhooks; returns its app secret."""
	frappe.db.delete("WhatsApp Webhook Event", {"account": ACCOUNT})
	system, _ = sandbox_numbers()
	make_account(ACCOUNT, system, "System", base_url="http://127.0.0.1:9")  # nothing is sent
	return system.app_secret


def ensure_campaign() -> str:
	"""The campaign the messages belong to: the applier refreshes its counters as it goes."""
	ensure_channel(base_url="http://127.0.0.1:9")
	return fresh_campaign(CAMPAIGN, ensure_everyone_segment()).name


def recipients(count: int) -> list[dict]:
	"""Opted-in numbers of seeded customers (made-up numbers past those), each with the BSUID
	Meta gives the person."""
	rows = frappe.db.sql(
		"""select name, customer from `tabWhatsApp Consent`
		where status='Opted In' and customer like 'BENCH-%%' and name like '+%%' order by name limit %s""",
		count,
	)
	people = [{"phone": phone, "customer": customer} for phone, customer in rows]
	people += [{"phone": f"+9160{n:08d}", "customer": None} for n in range(len(people), count)]
	for person in people:
		digest = hashlib.sha256(person["phone"].encode()).digest()
		person["user_id"] = f"IN.{int.from_bytes(digest[:8], 'big')}"
	return people


def remove_messages(campaign: str) -> None:
	frappe.db.sql("delete from `tabWhatsApp Message` where campaign=%s", campaign)
	frappe.db.delete("WhatsApp Webhook Event", {"account": ACCOUNT})


def insert_messages(campaign: str, people: list[dict]) -> None:
	submitted_at = add_to_date(now_datetime(), minutes=-10)
	insert_rows(
		"WhatsApp Message",
		[
			{
				**standard_columns(message_name(n), submitted_at),
				"direction": "Outbound",
				"status": "Accepted",
				"phone": person["phone"],
				"account": ACCOUNT,
				"contact_doctype": "Customer" if person["customer"] else None,
				"contact_name": person["customer"],
				"campaign": campaign,
				"category": "MARKETING",
				"region": "IN",
				"message_id": message_id(n),
				"submitted_at": submitted_at,
			}
			for n, person in enumerate(people)
		],
	)


def set_user_ids(people: list[dict], known: bool) -> None:
	"""Consent records that know the person's BSUID, or (``known=False``) do not, as seeded."""
	phones = [p["phone"] for p in people if p["customer"]]
	if not known:
		for start in range(0, len(phones), 1000):
			frappe.db.sql(
				"update `tabWhatsApp Consent` set user_id=null where name in %s",
				[phones[start : start + 1000]],
			)
		return
	user_ids = {p["phone"]: p["user_id"] for p in people}
	for start in range(0, len(phones), 1000):
		chunk = phones[start : start + 1000]
		cases = " ".join(["when %s then %s"] * len(chunk))
		frappe.db.sql(
			f"update `tabWhatsApp Consent` set user_id = case name {cases} end where name in %s",
			[*(v for phone in chunk for v in (phone, user_ids[phone])), chunk],
		)


def message_name(n: int) -> str:
	return f"{MESSAGE_PREFIX}{n:07d}"


def message_id(n: int) -> str:
	"""Shaped like Meta's: ``wamid.`` and base64 of the recipient and a message key."""
	return "wamid." + base64.b64encode(f"\x15\x02\x00\x11\x18\x12BENCHWH{n:011d}\x00".encode()).decode()


# Webhooks
# --------


def webhook_requests(site: str, people: list[dict], secret: str, seed: int) -> list[bytes]:
	"""The three status webhooks of every message, signed, in the order Meta would send them."""
	rng = random.Random(f"{seed}:webhooks")
	base = int(time.time()) - 3600
	events = []
	for n in range(len(people)):
		sent = n / SEND_RATE + rng.uniform(0.3, 2.0)
		delivered = sent + rng.uniform(0.5, 5.0)
		read = delivered + rng.expovariate(1 / MEAN_READ_DELAY_SECONDS)
		events += [(sent, n, "sent"), (delivered, n, "delivered"), (read, n, "read")]
	events.sort()
	return [
		webhook_request(site, status_webhook(people[n], n, status, base + int(at)), secret)
		for at, n, status in events
	]


def status_webhook(person: dict, n: int, status: str, timestamp: int) -> bytes:
	"""Meta's shape, ``contacts`` with the BSUID included; pricing comes with sent and delivered
	only."""
	system, _ = sandbox_numbers()
	wa_id = person["phone"].lstrip("+")
	entry = {"id": message_id(n), "status": status, "timestamp": str(timestamp), "recipient_id": wa_id}
	if status != "read":
		entry["pricing"] = {
			"billable": True,
			"pricing_model": "PMP",
			"category": "marketing",
			"type": "regular",
		}
	payload = {
		"object": "whatsapp_business_account",
		"entry": [
			{
				"id": system.waba_id,
				"changes": [
					{
						"value": {
							"messaging_product": "whatsapp",
							"metadata": {
								"display_phone_number": system.display_phone_number.replace(" ", "").lstrip(
									"+"
								),
								"phone_number_id": system.phone_number_id,
							},
							"contacts": [{"wa_id": wa_id, "user_id": person["user_id"]}],
							"statuses": [entry],
						},
						"field": "messages",
					}
				],
			}
		],
	}
	return json.dumps(payload, separators=(",", ":")).encode()


def webhook_request(site: str, body: bytes, secret: str) -> bytes:
	head = (
		f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: {site}\r\nUser-Agent: facebookexternalua\r\n"
		f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
		f"{SIGNATURE_HEADER}: {sign(body, secret)}\r\n\r\n"
	)
	return head.encode() + body


def ping_request(site: str) -> bytes:
	return f"GET /api/method/ping HTTP/1.1\r\nHost: {site}\r\n\r\n".encode()


def write_file(folder: str, name: str, data: bytes) -> str:
	path = os.path.join(folder, name)
	with open(path, "wb") as f:
		f.write(data)
	return path


def write_requests(folder: str, name: str, raw_requests: list[bytes]) -> str:
	"""Each request after a line with its length in bytes, as the wrk script reads them."""
	return write_file(folder, name, b"".join(b"%d\n%s" % (len(r), r) for r in raw_requests))


# Running
# -------


def wait_for_ping(port: int, site: str, server: subprocess.Popen, log: str, timeout: float = 60) -> None:
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline:
		if server.poll() is not None:
			break
		try:
			if requests.get(f"http://127.0.0.1:{port}/api/method/ping", headers={"Host": site}, timeout=2).ok:
				return
		except requests.RequestException:
			pass
		time.sleep(0.3)
	raise RuntimeError(f"gunicorn did not answer /api/method/ping; see {log}")


def wrk_command(url: str, script: str, request_file: str, connections: int, max_seconds: int) -> list[str]:
	return [
		"wrk", "-t1", f"-c{connections}", f"-d{max_seconds}s", "--timeout", "120s",
		"-s", script, url, "--", request_file,
	]  # fmt: skip


def send_once(
	url: str, script: str, request_file: str, connections: int, max_seconds: int, expected: str = "200"
) -> dict:
	wrk = subprocess.Popen(
		wrk_command(url, script, request_file, connections, max_seconds),
		stdout=subprocess.PIPE,
		stderr=subprocess.PIPE,
		text=True,
	)
	try:
		for line in wrk.stdout:
			if line.startswith("ALL ANSWERED"):
				wrk.send_signal(signal.SIGINT)
				break
		output, errors = wrk.communicate(timeout=60)
	finally:
		if wrk.poll() is None:
			wrk.kill()
	if wrk.returncode:
		raise RuntimeError(f"wrk failed ({wrk.returncode}): {errors}")
	return checked(wrk_result(output), expected)


def wrk_result(output: str) -> dict:
	for line in output.splitlines():
		if line.startswith("RESULT "):
			return json.loads(line.removeprefix("RESULT "))
	raise RuntimeError(f"wrk printed no result:\n{output}")


def checked(result: dict, expected: str = "200") -> dict:
	"""Fail loudly unless every request was answered with the ``expected`` status."""
	not_ok = {status: n for status, n in result["statuses"].items() if status != expected}
	if result["answered"] != result["requests"] or not_ok:
		raise RuntimeError(
			f"{result['requests'] - result['statuses'].get(expected, 0)} of {result['requests']} requests were "
			f"not answered {expected} (answers by status: {result['statuses']})"
		)
	return result


def applied_statuses(campaign: str) -> tuple[int, int]:
	"""Statuses applied to the campaign's messages (a time set by each), and messages Read."""
	frappe.db.rollback()  # a fresh snapshot
	applied, read = frappe.db.sql(
		"""select count(sent_at) + count(delivered_at) + count(read_at), ifnull(sum(status='Read'), 0)
		from `tabWhatsApp Message` where campaign=%s""",
		campaign,
	)[0]
	return int(applied), int(read)


def wait_until_all_read(campaign: str, messages: int, started: float) -> dict:
	"""Poll until every message is Read with all three times set. This site's scheduler does not
	run here, so its every-minute ``retry_failed`` (which wakes the applier for anything still
	Pending) is called on the same cadence; events it finds stranded, Pending while no applier has
	made progress for a while, are counted, with the applied rate up to the stall."""
	total = 3 * messages
	last_applied, last_progress = -1, time.monotonic()
	next_tick = started + SCHEDULER_TICK_SECONDS
	stranded, stalled = 0, None
	while True:
		now = time.monotonic()
		applied, read = applied_statuses(campaign)
		if read == messages and applied == total:
			return {"seconds": now - started, "stranded": stranded, "stalled": stalled}
		if applied != last_applied:
			last_applied, last_progress = applied, now
		elif now - last_progress > STALL_SECONDS:
			raise RuntimeError(
				f"The applier stalled: {applied:,} of {total:,} statuses applied, {read:,} messages Read, "
				f"{pending_events():,} webhook events Pending"
			)
		if now >= next_tick:
			if now - last_progress > STRANDED_AFTER_SECONDS and pending_events():
				stranded += pending_events()
				stalled = stalled or {"applied": applied, "seconds": last_progress - started}
			retry_failed()
			next_tick += SCHEDULER_TICK_SECONDS
		time.sleep(POLL_SECONDS)


def pending_events() -> int:
	"""Rows not yet applied and journal records not yet rows."""
	rows = frappe.db.count("WhatsApp Webhook Event", {"account": ACCOUNT, "status": "Pending"})
	return rows + journal.count_records(journal_directory())


def start_workers(pool: list, count: int, log: str) -> None:
	pool.extend(ApplierWorker(log).start() for _ in range(count))


class ApplierWorker(RQWorker):
	"""A short-queue worker logging to this benchmark's own file: the tests' workers share theirs."""

	def __init__(self, log: str):
		super().__init__("short")
		self.log = log

	def start(self) -> "ApplierWorker":
		self.process = subprocess.Popen(
			[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue", "short"],
			cwd=os.path.join(get_bench_path(), "sites"),
			stdout=open(self.log, "a"),
			stderr=subprocess.STDOUT,
			start_new_session=True,  # its own process group: the work horse dies with it
		)
		return self


def applier_jobs(log: str, site: str) -> dict:
	"""This site's jobs the workers ran, and how many jobs raised. Each job is a fresh work horse
	that imports the app again, so many short jobs cost more than a few long ones. The short queue
	is the bench's: other sites' jobs run on these workers too, and theirs may take ours."""
	with open(log) as f:
		lines = f.readlines()
	return {
		"ran": sum(f"Job OK ({site}::" in line for line in lines),
		"raised": sum(line.startswith("Traceback") for line in lines),
	}


def wait_until_idle(pool: list[RQWorker], timeout: float = 15) -> None:
	"""Until the workers' work horses have exited, so that their CPU time is counted."""
	deadline = time.monotonic() + timeout
	while time.monotonic() < deadline and any(descendants(w.process.pid) for w in pool):
		time.sleep(POLL_SECONDS)


def stop(process: subprocess.Popen) -> None:
	try:
		os.killpg(process.pid, signal.SIGTERM)
		process.wait(timeout=30)
	except ProcessLookupError:
		pass
	except subprocess.TimeoutExpired:
		os.killpg(process.pid, signal.SIGKILL)
		process.wait()


# CPU
# ---


class CpuMeter:
	"""CPU seconds used by the run's processes, read from /proc. The machine's two cores run
	gunicorn, the applier, MariaDB and whatever else is on the machine, so a request rate alone
	does not say where the time went."""

	def __init__(self, gunicorn: subprocess.Popen, pool: list[RQWorker]):
		self.gunicorn = gunicorn.pid
		self.pool = pool  # workers started later count from their start
		self.mariadb = pid_named("mariadbd")
		# This process (its polling) and, once each run is over and reaped, wrk. Not its tree:
		# gunicorn and the workers are its children too.
		self.harness = os.getpid()

	def read(self) -> dict:
		return {
			"at": time.monotonic(),
			"gunicorn": tree_cpu_seconds(self.gunicorn),
			"applier": sum(tree_cpu_seconds(worker.process.pid) for worker in self.pool),
			"mariadb": tree_cpu_seconds(self.mariadb) if self.mariadb else 0.0,
			"harness": cpu_seconds(self.harness),
			"machine": machine_busy_seconds(),
		}

	@staticmethod
	def spent(before: dict, after: dict, requests: int) -> dict:
		used = {
			key: after[key] - before[key] for key in ("gunicorn", "applier", "mariadb", "harness", "machine")
		}
		others = used["machine"] - sum(used[key] for key in ("gunicorn", "applier", "mariadb", "harness"))
		return {
			"gunicorn_ms": round(used["gunicorn"] / requests * 1000, 2),
			"applier_ms": round(used["applier"] / requests * 1000, 2),
			"mariadb_ms": round(used["mariadb"] / requests * 1000, 2),
			"other_cores": round(max(others, 0) / (after["at"] - before["at"]), 2),
		}


def tree_cpu_seconds(pid: int) -> float:
	"""A process's CPU time with its children's, live ones and those it has reaped (RQ's work
	horses, gunicorn's restarted workers)."""
	return sum(cpu_seconds(p) for p in [pid, *descendants(pid)])


def cpu_seconds(pid: int) -> float:
	try:
		with open(f"/proc/{pid}/stat") as f:
			fields = f.read().rsplit(")", 1)[1].split()
	except OSError:
		return 0.0  # exited between listing and reading
	# utime, stime, cutime, cstime: fields 14-17 of proc(5), counted after the command name
	return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
	with open("/proc/stat") as f:
		user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
	return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def pid_named(name: str) -> int | None:
	for entry in os.listdir("/proc"):
		if entry.isdigit():
			try:
				with open(f"/proc/{entry}/comm") as f:
					if f.read().strip() == name:
						return int(entry)
			except OSError:
				continue
	return None


# Report
# ------


def rate(result: dict) -> float:
	return result["requests"] / (result["duration_us"] / 1e6)


def summarize(result: dict) -> dict:
	return {
		"requests": result["requests"],
		"seconds": round(result["duration_us"] / 1e6, 2),
		"per_s": round(rate(result), 1),
		"p50_ms": round(result["p50_us"] / 1000, 1),
		"p90_ms": round(result["p90_us"] / 1000, 1),
		"p99_ms": round(result["p99_us"] / 1000, 1),
		"max_ms": round(result["max_us"] / 1000, 1),
	}


def print_summary(result: dict) -> None:
	ping, webhook = result["ping"], result["webhook"]
	print(
		f"\n{result['webhooks']:,} status webhooks for {result['messages']:,} messages; gunicorn "
		f"{result['gunicorn']}, {result['rq_workers']} RQ worker(s), {result['connections']} connections"
	)
	for label, numbers in (("ping", ping), ("webhook", webhook)):
		print(
			f"  {label:<8}{numbers['per_s']:>8,.0f} req/s   p50 {numbers['p50_ms']:>6.1f} ms   "
			f"p99 {numbers['p99_ms']:>6.1f} ms"
		)
	print(f"  accepted / ping: {result['accepted_to_ping']:.2f} (goal 0.95)")
	print(
		f"  applied: {result['applied_during_accept_per_s']:,.0f} statuses/s while webhooks arrived "
		f"({result['backlog_when_answered']:,} left when the last was answered), "
		f"{result['applied_until_all_read_per_s']:,.0f}/s until all Read "
		f"({result['seconds_until_all_read']:.1f} s); the rest drained at {result['drain_per_s']:,.0f}/s"
		+ (" (workers started after the last webhook)" if result["backlog"] else "")
	)
	if result["stranded_events"]:
		print(
			f"  {result['stranded_events']:,} webhook events were left Pending with no applier job until "
			f"the scheduler's minute; before that the applier ran at "
			f"{result['applied_until_stranded_per_s']:,.0f} statuses/s"
		)
	cpu = result["cpu"]
	print(
		"  CPU ms per request: ping: gunicorn {gunicorn_ms}, MariaDB {mariadb_ms}".format(**cpu["ping"])
		+ "; webhook until all Read: gunicorn {gunicorn_ms}, applier {applier_ms}, MariaDB {mariadb_ms}".format(
			**cpu["webhooks_until_all_read"]
		)
	)
	print(
		f"  other processes on the machine used {cpu['ping']['other_cores']} cores during ping, "
		f"{cpu['webhooks_while_arriving']['other_cores']} while webhooks arrived"
	)
	jobs = result["applier_jobs"]
	print(
		f"  applier jobs: {jobs['ran']} ran"
		+ (f", {jobs['raised']} raised (see the workers' log)" if jobs["raised"] else "")
	)
