"""Benchmark: a campaign and a drip pass through real faults, counted from the simulator's ledger.

    cd ~/frappe-bench && bench --site marketing-engine-bench.localhost execute \\
        marketing_engine.benchmarks.chaos.run --kwargs "{'recipients': 10000, 'kills': 20, 'seed': 1}"

What runs, all of it real: the Graph API simulator in its own process (``rate`` msg/s, ``latency``
seconds per call), this site under gunicorn (2 workers x 4 threads, ``--preload``, as
production runs it), three RQ workers on the long queue (the campaign's two jobs and the drip
job) and two on the short queue (the webhook applier, the click writer). The audience is a
static segment of ``recipients`` opted-in numbers made for the run; the campaign sends them the
``diwali_offer`` template with a tracked link. ``drip_people`` leads (``recipients / 20`` unless
given) are enrolled in a two-step drip sequence (step 1 at once, step 2 a minute later), so its
messages go out during the chaos too.

The scheduler's work is this process's: every ``tick_seconds`` (60, as Frappe's cron) it calls
the app's every-minute scheduler events, read from its hooks (maintain_campaigns, retry_failed,
the drips' tick, write_stranded). Nothing else touches the campaign once it is started.

Meta's side is played from the simulator's ledger (``/_simulator/messages``, polled): each
message it accepted gets signed status webhooks, sent, delivered and (``read_share`` of them)
read, posted to gunicorn the way Meta does, each retried until it is answered 200 (Meta
redelivers anything else); ``click_share`` of the read campaign messages get a tap on their
button's ``/r/<token>`` with a phone browser's User-Agent, retried until it is answered with a
redirect. The simulator's own webhooks are off: it posts each once and keeps no record a
benchmark can read of what was answered.

Chaos, at moments drawn from ``seed`` over the expected sending time: ``kills`` SIGKILLs of an RQ
worker and its work horse (a busy one when there is one), each restarted at once as a process
supervisor would; one SIGKILL of mariadbd (its mysqld_safe starts it again: crash recovery, as
after a power cut); one SIGKILL of the queue Redis, started again from its config (whatever it
held since its last dump is gone). Workers that die by themselves are restarted and counted.

A send its job had started when the job was killed may never have reached Meta; it is never
resent (it might have), and fails as "outcome unknown" once no status came for
``unknown_outcome_seconds`` (60 here; the app's default, 15 minutes, allows for Meta's delays).
Such rows are settled, and counted under ``failed_by_reason``.

Reported, from the simulator's ledger and the site (goal: all four 0, and the campaign Completed
within ``complete_within`` seconds without any hand):

1. ``sent_twice``: recipients who got the campaign, or one drip step, more than once;
2. ``never_settled``: campaign and drip messages still Pending or Queued, and enrollments still
   Active, at the end (plus whether the campaign completed in time);
3. ``webhook_events_lost``: statuses answered 200 that the message does not show (its status is
   behind it, or the status's time is not set);
4. ``clicks_lost``: taps answered with a redirect that are not a WhatsApp Link Click row.

Beside them: every chaos event with the job it hit, what the webhooks and taps met (answers by
status, retries), messages that failed and why, and evidence for anything counted. Everything the
run made (campaign, messages, links, clicks, segment, drip sequence, enrollments, leads,
consents, webhook events) is deleted afterwards, as are this run's processes.
"""

import bisect
import collections
import heapq
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import frappe
import pymysql
import redis
import requests
from frappe.utils import get_bench_path, get_datetime, now_datetime

from marketing_engine.background import is_lost_connection, plain_redis, reconnect_database
from marketing_engine.benchmarks.dispatch_setup import ACCOUNT, ensure_channel
from marketing_engine.benchmarks.links import BROWSER
from marketing_engine.benchmarks.seed import insert_rows, standard_columns
from marketing_engine.benchmarks.webhooks import (
	GUNICORN_THREADS,
	GUNICORN_WORKERS,
	pid_named,
	stop,
	wait_for_ping,
)
from marketing_engine.channel import sending
from marketing_engine.drips import enrolment
from marketing_engine.drips.sending import NAME as DRIP_JOB
from marketing_engine.engine.simulator import SANDBOX_BUSINESS, GraphAPISimulator
from marketing_engine.engine.webhook import SIGNATURE_HEADER, sign
from marketing_engine.roi import clicks
from marketing_engine.tests.utils import WEBHOOK_PATH, RQWorker, descendants, drop_queued_jobs, free_port

CAMPAIGN = "Chaos benchmark"
SEQUENCE = "Chaos benchmark drip"
SEGMENT = "Chaos benchmark audience"
MEMBER_PREFIX = "CHAOS-SM-"
LEAD_PREFIX = "CHAOS-LEAD-"
CONSENT_DETAIL = "chaos benchmark"  # how this run's consent records are found again
# +91 60... numbers: the seed's mobiles never start so (its second digit is 1-9 after the 6).
CAMPAIGN_NUMBER = "+91609{:07d}"
DRIP_NUMBER = "+91608{:07d}"
DESTINATION = "https://studio.example/book?ref=chaos"

LONG_WORKERS = 3  # the campaign's two jobs and the drip job each hold a worker while they send
SHORT_WORKERS = 2  # the webhook applier and the click writer linger; one would queue the other
PARALLEL_JOBS = 2
SENDER_THREADS = 16  # Meta's and the phones' side; gunicorn has 8 threads to answer them
LEDGER_POLL_SECONDS = 3.0
LOOP_SECONDS = 1.0
CHECK_EVERY_SECONDS = 5.0
MEAN_READ_SECONDS = 20.0  # people open WhatsApp within minutes; shortened to keep the run short
MEAN_TAP_SECONDS = 10.0
RETRY_CAP_SECONDS = 10.0  # Meta backs off for hours; the benchmark only needs "again, later"
KILL_WAITS_SECONDS = 60  # for a busy worker; then any worker is killed
MARIADB_BACK_SECONDS = 30  # mysqld_safe restarts a killed mariadbd; after this, service start
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3}
ROW_RANK = {"Accepted": 0, "Sent": 1, "Delivered": 2, "Read": 3}
TIME_FIELD = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at"}
OPEN_STATUSES = ("Pending", "Queued")
EVIDENCE = 10  # examples kept for each kind of finding


def run(
	recipients: int = 10000,
	kills: int = 20,
	seed: int = 1,
	drip_people: int | None = None,
	rate: int = 80,
	latency: float = 0.25,
	read_share: float = 0.9,
	click_share: float = 0.1,
	kill_mariadb: bool = True,
	kill_queue_redis: bool = True,
	tick_seconds: float = 60,
	complete_within: float = 420,
	settle_within: float = 120,
	unknown_outcome_seconds: int = 60,
) -> dict:
	site = frappe.local.site
	# A send whose job was killed after it was started and before it reached Meta waits this long
	# for a status webhook, then fails as "outcome unknown" (never resent). The app's default is
	# 15 minutes, for Meta's delays; here every status is posted within seconds. The scheduler's
	# events run in this process, so the setting is this process's.
	frappe.local.conf["marketing_engine_unknown_outcome_seconds"] = unknown_outcome_seconds
	drip_people = max(1, recipients // 20) if drip_people is None else drip_people
	bench = get_bench_path()
	logs = os.path.join(bench, "logs")
	refuse_if_others_send()
	remove_run_data()
	frappe.db.commit()

	processes: list[subprocess.Popen] = []
	pool: list[ChaosWorker] = []
	threads: list[Stoppable] = []
	run_started = now_datetime()
	try:
		sim_port = free_port()
		simulator = subprocess.Popen(
			[sys.executable, "-m", "marketing_engine.engine.simulator", "--port", str(sim_port),
			 "--rate", str(rate), "--latency", str(latency)],
			stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
		)  # fmt: skip
		processes.append(simulator)
		sim_url = f"http://127.0.0.1:{sim_port}"
		wait_for(lambda: requests.get(f"{sim_url}/_simulator/stats", timeout=2).ok, "the simulator")

		ensure_channel(sim_url, rate)
		numbers = make_people(recipients, drip_people)
		make_segment(numbers["campaign"])
		make_sequence()
		campaign = make_campaign()
		frappe.db.commit()
		clear_stale_state()

		web_port = free_port()
		web_log = open(os.path.join(logs, "marketing_engine_benchmark_chaos_gunicorn.log"), "w")
		gunicorn = subprocess.Popen(
			[os.path.join(bench, "env", "bin", "gunicorn"), "-b", f"127.0.0.1:{web_port}",
			 "-w", str(GUNICORN_WORKERS), "--threads", str(GUNICORN_THREADS), "-t", "120", "--preload",
			 "frappe.app:application"],
			cwd=os.path.join(bench, "sites"), stdout=web_log, stderr=subprocess.STDOUT, start_new_session=True,
		)  # fmt: skip
		processes.append(gunicorn)
		wait_for_ping(web_port, site, gunicorn, web_log.name)

		worker_log = os.path.join(logs, "marketing_engine_benchmark_chaos_workers.log")
		open(worker_log, "w").close()  # this run's jobs only
		pool.extend(ChaosWorker("long", worker_log).start() for _ in range(LONG_WORKERS))
		pool.extend(ChaosWorker("short", worker_log).start() for _ in range(SHORT_WORKERS))

		expected_seconds = (recipients + 2 * drip_people) / (rate * sending.PACE)
		plan = chaos_plan(
			random.Random(f"{seed}:chaos"), kills, expected_seconds, kill_mariadb, kill_queue_redis
		)
		t0 = time.time()
		meta = Meta(site, f"http://127.0.0.1:{web_port}", seed, read_share, click_share, t0)
		ledger = Ledger(sim_url, meta)
		chaos = Chaos(
			plan, pool, t0, site, frappe.conf.redis_queue, site_database(), random.Random(f"{seed}:victims")
		)
		threads.extend([meta, ledger, chaos])
		for thread in threads:
			thread.start()

		# The start: the people enrolled in the sequence, the campaign confirmed; from here on only
		# the scheduler's events act on either.
		enrol_everyone()
		frappe.get_doc("WhatsApp Campaign", campaign).confirm_send()
		frappe.db.commit()
		outcome = drive(campaign, t0, meta, ledger, chaos, tick_seconds, complete_within, settle_within)
		for thread in threads:
			thread.stop()
		result = count(campaign, t0, meta, ledger, chaos, outcome, run_started)
	finally:
		for thread in threads:
			thread.stop()
		for worker in pool:
			worker.stop()
		for process in reversed(processes):
			stop(process)
		ensure_services()
		try:
			frappe.db.rollback()
		except Exception:
			reconnect_database()
		remove_run_data(since=run_started)
		clear_stale_state()
		frappe.db.commit()

	result.update(
		unknown_outcome_seconds=unknown_outcome_seconds,
		recipients=recipients,
		drip_people=drip_people,
		kills=kills,
		seed=seed,
		rate=rate,
		latency_s=latency,
	)
	print(json.dumps(result, indent=1, default=str))
	print_summary(result)
	return result


# Setup
# -----


def refuse_if_others_send() -> None:
	"""The run plays the site's scheduler and points the sandbox account at its simulator: another
	campaign still sending (an interrupted run's) or another active sequence would send through
	it, compete for the number's rate and muddle the counts."""
	campaigns = frappe.get_all(
		"WhatsApp Campaign",
		filters={"status": ("in", ("Sending", "Scheduled")), "name": ("!=", CAMPAIGN)},
		pluck="name",
	)
	sequences = frappe.get_all(
		"Drip Sequence", filters={"enabled": 1, "status": "Active", "name": ("!=", SEQUENCE)}, pluck="name"
	)
	if campaigns or sequences:
		frappe.throw(
			f"Pause or finish these first; the run's scheduler would send them too: "
			f"{', '.join(campaigns + sequences)}"
		)


def make_people(recipients: int, drip_people: int) -> dict[str, list[str]]:
	"""Opted-in numbers for the campaign (segment members) and leads for the drip, each consent
	already knowing the business-scoped user ID the simulator gives the person, as after a first
	campaign (learning them is the webhook benchmark's ``first_contact``)."""
	taken = set(
		frappe.db.sql(
			"select name from `tabWhatsApp Consent` where name like '+91609%%' or name like '+91608%%'",
			pluck=True,
		)
	)
	campaign = [n for n in (CAMPAIGN_NUMBER.format(i) for i in range(recipients)) if n not in taken]
	drip = [n for n in (DRIP_NUMBER.format(i) for i in range(drip_people)) if n not in taken]
	user_ids = simulator_user_ids(campaign + drip)
	at = now_datetime()
	leads = [f"{LEAD_PREFIX}{i:06d}" for i in range(len(drip))]
	insert_rows(
		"Lead",
		[
			{
				**standard_columns(lead, at),
				"naming_series": "CRM-LEAD-.YYYY.-",
				"first_name": f"Chaos Lead {i}",
				"lead_name": f"Chaos Lead {i}",
				"status": "Open",
				"mobile_no": number.removeprefix("+91"),
				"whatsapp_number": number,
				"whatsapp_region": "IN",
				"whatsapp_line_type": "mobile",
			}
			for i, (lead, number) in enumerate(zip(leads, drip, strict=True))
		],
	)
	lead_of = dict(zip(drip, leads, strict=True))
	insert_rows(
		"WhatsApp Consent",
		[
			{
				**standard_columns(number, at),
				"phone": number,
				"status": "Opted In",
				"marketing_opt_in": 1,
				"lead": lead_of.get(number),
				"user_id": user_ids[number],
				"opt_in_source": "Form",
				"opted_in_at": at,
				"opt_in_detail": CONSENT_DETAIL,
			}
			for number in campaign + drip
		],
	)
	return {"campaign": campaign, "drip": drip, "leads": leads}


def simulator_user_ids(numbers: list[str]) -> dict[str, str]:
	"""The BSUID the simulator's user directory gives each number, from its own code (a
	throw-away instance, never started)."""
	sim = GraphAPISimulator([SANDBOX_BUSINESS])
	try:
		return {n: sim._bsuid(SANDBOX_BUSINESS.waba_id, sim._user_for_phone(n.lstrip("+"))) for n in numbers}
	finally:
		sim.server.server_close()


def make_segment(numbers: list[str]) -> None:
	frappe.get_doc({"doctype": "Segment", "segment_name": SEGMENT, "segment_type": "Static"}).insert()
	at = now_datetime()
	insert_rows(
		"Segment Member",
		[
			{
				**standard_columns(f"{MEMBER_PREFIX}{i:07d}", at),
				"segment": SEGMENT,
				"member_name": f"Chaos Guest {i}",
				"phone": number,
				"region": "IN",
				"line_type": "mobile",
			}
			for i, number in enumerate(numbers)
		],
	)
	frappe.db.set_value("Segment", SEGMENT, "member_count", len(numbers))


def template_of(name: str) -> str:
	return frappe.db.get_value("WhatsApp Template", {"template_name": name, "account": ACCOUNT})


def make_sequence() -> None:
	"""Two steps: at once, then a minute after. Its trigger (a completed project) never sweeps;
	the run enrols the leads itself, as a project's save would."""
	review = template_of("review_request")
	sequence = frappe.get_doc(
		{
			"doctype": "Drip Sequence",
			"sequence_name": SEQUENCE,
			"trigger": "Project Completed",
			"enabled": 1,
			"handover_to": "User",
			"handover_user": "Administrator",
			"steps": [
				{"template": review, "wait": 0, "wait_unit": "Minutes", "wait_after": "Trigger"},
				{"template": review, "wait": 1, "wait_unit": "Minutes", "wait_after": "Previous Step"},
			],
		}
	).insert()
	for row in sequence.variables:
		row.value_type, row.value = (
			("Document Field", "first_name") if row.variable == "1" else ("Fixed Text", "your enquiry")
		)
	sequence.save()


def make_campaign() -> str:
	return (
		frappe.get_doc(
			{
				"doctype": "WhatsApp Campaign",
				"campaign_name": CAMPAIGN,
				"segments": [{"segment": SEGMENT}],
				"template": template_of("diwali_offer"),
				"parallel_jobs": PARALLEL_JOBS,
				"variables": [
					{"variable": "name", "value_type": "Document Field", "value": "first_name"},
					{"variable": "offer", "value_type": "Fixed Text", "value": "20% off family portraits"},
					{"variable": "link", "value_type": "Tracked Link", "value": DESTINATION},
				],
			}
		)
		.insert()
		.name
	)


def enrol_everyone() -> None:
	now = now_datetime()
	for lead in frappe.get_all("Lead", {"name": ("like", f"{LEAD_PREFIX}%")}, pluck="name"):
		enrolment.enrol(SEQUENCE, "Lead", lead, "Lead", lead, trigger_at=now, key=lead)
	frappe.db.commit()


def clear_stale_state() -> None:
	"""Keys and jobs an earlier run left (a stopped job's liveness keys would hold back new jobs
	for two minutes), and this site's jobs still queued."""
	from marketing_engine.channel.webhooks import applier_key

	plain_redis().delete(applier_key(), sending.job_key(DRIP_JOB, 1))
	for worker in range(1, PARALLEL_JOBS + 1):
		plain_redis().delete(sending.job_key(CAMPAIGN, worker))
	try:
		clicks.queue_redis().delete(clicks.writer_key())
		drop_queued_jobs()
	except redis.RedisError:
		pass  # not up yet after a failed run: ensure_services has started it, the next run clears


def remove_run_data(since=None) -> None:
	"""Everything a run makes, found by its names (an interrupted run's too)."""
	names = {"c": CAMPAIGN, "s": SEQUENCE}
	frappe.db.sql(
		"""delete from `tabWhatsApp Link Click` where link in (select name from `tabWhatsApp Link`
		where campaign=%(c)s or drip_sequence=%(s)s)""",
		names,
	)
	frappe.db.sql("delete from `tabWhatsApp Link` where campaign=%(c)s or drip_sequence=%(s)s", names)
	frappe.db.sql("delete from `tabWhatsApp Message` where campaign=%(c)s or drip_sequence=%(s)s", names)
	frappe.db.sql("delete from `tabDrip Enrollment` where sequence=%s", SEQUENCE)
	if frappe.db.exists("Drip Sequence", SEQUENCE):
		frappe.delete_doc("Drip Sequence", SEQUENCE, force=True, ignore_permissions=True)
	if frappe.db.exists("WhatsApp Campaign", CAMPAIGN):
		frappe.delete_doc("WhatsApp Campaign", CAMPAIGN, force=True, ignore_permissions=True)
	frappe.db.sql("delete from `tabCampaign` where campaign_name in %s", ((CAMPAIGN, SEQUENCE),))
	frappe.db.sql("delete from `tabSegment Member` where segment=%s", SEGMENT)
	if frappe.db.exists("Segment", SEGMENT):
		frappe.delete_doc("Segment", SEGMENT, force=True, ignore_permissions=True)
	frappe.db.sql(
		"""delete from `tabWhatsApp Consent Log` where consent in (select name from `tabWhatsApp Consent`
		where opt_in_detail=%s)""",
		CONSENT_DETAIL,
	)
	frappe.db.sql("delete from `tabWhatsApp Consent` where opt_in_detail=%s", CONSENT_DETAIL)
	frappe.db.sql("delete from `tabLead` where name like %s", f"{LEAD_PREFIX}%")
	if since:
		# The statuses this run posted, stored under the account whose secret signed them.
		frappe.db.sql(
			"delete from `tabWhatsApp Webhook Event` where account=%s and creation >= %s", (ACCOUNT, since)
		)


# Meta and the phones
# -------------------


class Stoppable(threading.Thread):
	def __init__(self, name: str):
		super().__init__(name=name, daemon=True)
		self.stopping = threading.Event()

	def stop(self) -> None:
		self.stopping.set()
		if self.is_alive() and threading.current_thread() is not self:
			self.join(timeout=30)


@dataclass(order=True)
class Delivery:
	"""A status webhook (``status``) or a tap on a tracked link (``status`` None) still to be
	answered; it goes again after every answer that is not the one wanted."""

	due: float
	seq: int
	message: dict = field(compare=False)
	status: str | None = field(compare=False)
	attempts: int = field(default=0, compare=False)


class Meta(Stoppable):
	"""Posts each accepted message's status webhooks and makes the phones' taps, from a pool of
	threads, retrying until answered as Meta and a browser do. No frappe here: threads only talk
	HTTP."""

	def __init__(self, site: str, url: str, seed: int, read_share: float, click_share: float, t0: float):
		super().__init__("chaos-meta")
		self.site, self.url, self.seed, self.t0 = site, url, seed, t0
		self.read_share, self.click_share = read_share, click_share
		self.heap: list[Delivery] = []
		self.lock = threading.Condition()
		self.sequence = itertools.count()
		self.in_flight = 0
		# (message name, status) -> seconds after t0 when it was answered 200
		self.acked: dict[tuple[str, str], float] = {}
		self.taps: collections.Counter = collections.Counter()  # link token -> taps answered 302
		self.tap_times: dict[str, list[float]] = collections.defaultdict(list)
		self.answers: dict[str, collections.Counter] = {
			"webhook": collections.Counter(),
			"tap": collections.Counter(),
		}
		self.tapped_home = 0  # redirects to the site's home: a token the site did not know
		self.last_answer = 0.0

	def schedule(self, entry: dict) -> None:
		"""Meta's statuses for one accepted message, at times drawn for it from the seed: sent
		within a second or two of the send, delivered a few seconds later, read after a while."""
		rng = random.Random(f"{self.seed}:{entry['callback_data'] or entry['message_id']}")
		sent = entry["at"] + rng.uniform(0.3, 1.5)
		delivered = sent + rng.uniform(0.5, 4.0)
		due = [(sent, "sent"), (delivered, "delivered")]
		read = None
		if rng.random() < self.read_share:
			read = delivered + rng.expovariate(1 / MEAN_READ_SECONDS)
			due.append((read, "read"))
		if read and entry.get("token") and rng.random() < self.click_share:
			due.append((read + rng.expovariate(1 / MEAN_TAP_SECONDS), None))
		with self.lock:
			for at, status in due:
				heapq.heappush(self.heap, Delivery(at, next(self.sequence), entry, status))
			self.lock.notify_all()

	def idle(self) -> bool:
		with self.lock:
			return not self.heap and not self.in_flight

	def waiting(self) -> int:
		with self.lock:
			return len(self.heap) + self.in_flight

	def run(self) -> None:
		senders = [threading.Thread(target=self.send_loop, daemon=True) for _ in range(SENDER_THREADS)]
		for sender in senders:
			sender.start()
		self.stopping.wait()
		with self.lock:
			self.lock.notify_all()
		for sender in senders:
			sender.join(timeout=40)

	def next_due(self) -> Delivery | None:
		with self.lock:
			while not self.stopping.is_set():
				if self.heap and self.heap[0].due <= time.time():
					self.in_flight += 1
					return heapq.heappop(self.heap)
				wait = self.heap[0].due - time.time() if self.heap else 1.0
				self.lock.wait(min(max(wait, 0.01), 1.0))
		return None

	def send_loop(self) -> None:
		session = requests.Session()
		while (delivery := self.next_due()) is not None:
			kind = "webhook" if delivery.status else "tap"
			try:
				answer = (
					self.post_status(session, delivery) if delivery.status else self.tap(session, delivery)
				)
			except requests.RequestException as e:
				answer = type(e).__name__
			done = answer == (200 if delivery.status else 302)
			with self.lock:
				self.answers[kind][answer] += 1
				self.in_flight -= 1
				now = time.time()
				self.last_answer = now
				if done and delivery.status:
					self.acked.setdefault((delivery.message["callback_data"], delivery.status), now - self.t0)
				elif done:
					self.taps[delivery.message["token"]] += 1
					self.tap_times[delivery.message["token"]].append(now - self.t0)
				else:
					delivery.attempts += 1
					delivery.due = now + min(RETRY_CAP_SECONDS, 0.5 * 2 ** min(delivery.attempts, 5))
					delivery.due += random.uniform(0, 0.5)
					heapq.heappush(self.heap, delivery)
					self.lock.notify_all()

	def post_status(self, session: requests.Session, delivery: Delivery) -> int:
		body = status_webhook(delivery.message, delivery.status)
		response = session.post(
			self.url + WEBHOOK_PATH,
			data=body,
			headers={
				"Host": self.site,
				"Content-Type": "application/json",
				"User-Agent": "facebookexternalua",
				SIGNATURE_HEADER: sign(body, SANDBOX_BUSINESS.app_secret),
			},
			timeout=(5, 30),
		)
		return response.status_code

	def tap(self, session: requests.Session, delivery: Delivery) -> int:
		response = session.get(
			f"{self.url}/r/{delivery.message['token']}",
			headers={"Host": self.site, "User-Agent": BROWSER},
			allow_redirects=False,
			timeout=(5, 30),
		)
		if response.status_code == 302 and "studio.example" not in response.headers.get("Location", ""):
			with self.lock:
				self.tapped_home += 1
		return response.status_code


def status_webhook(message: dict, status: str) -> bytes:
	"""One status in Meta's shape, as the simulator's own webhooks have it: the phone and the
	BSUID, pricing, and the message's ``biz_opaque_callback_data``."""
	entry = {
		"id": message["message_id"],
		"status": status,
		"timestamp": str(int(time.time())),
		"recipient_id": message["to"],
		"recipient_user_id": message["user_id"],
		"pricing": {"billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular"},
	}
	if message["callback_data"]:
		entry["biz_opaque_callback_data"] = message["callback_data"]
	payload = {
		"object": "whatsapp_business_account",
		"entry": [
			{
				"id": SANDBOX_BUSINESS.waba_id,
				"changes": [
					{
						"field": "messages",
						"value": {
							"messaging_product": "whatsapp",
							"metadata": {
								"display_phone_number": SANDBOX_BUSINESS.display_phone_number.replace(
									" ", ""
								).lstrip("+"),
								"phone_number_id": SANDBOX_BUSINESS.phone_number_id,
							},
							"contacts": [{"wa_id": message["to"], "user_id": message["user_id"]}],
							"statuses": [entry],
						},
					}
				],
			}
		],
	}
	return json.dumps(payload, separators=(",", ":")).encode()


class Ledger(Stoppable):
	"""Reads what the simulator accepted (its ledger only grows) and hands each new message to
	Meta's side. The whole list comes back on every poll: the simulator has no ``since``."""

	def __init__(self, sim_url: str, meta: Meta):
		super().__init__("chaos-ledger")
		self.sim_url, self.meta = sim_url, meta
		self.entries: list[dict] = []
		self.rate_limited = 0
		self.last_poll_started = 0.0
		self.last_growth = 0.0
		self.errors = 0

	def run(self) -> None:
		while not self.stopping.is_set():
			self.poll()
			self.stopping.wait(LEDGER_POLL_SECONDS)
		self.poll()

	def poll(self) -> None:
		started = time.time()
		try:
			data = requests.get(f"{self.sim_url}/_simulator/messages", timeout=60).json()
		except (requests.RequestException, ValueError):
			self.errors += 1
			return
		self.rate_limited = data.get("rate_limited", 0)
		new = data["data"][len(self.entries) :]
		for sent in new:
			entry = {
				"message_id": sent["message_id"],
				"to": sent["to"],
				"user_id": sent["user_id"],
				"callback_data": sent["callback_data"],
				"at": sent["at"],
				"token": button_token(sent["payload"]),
			}
			self.entries.append(entry)
			self.meta.schedule(entry)
		if new:
			self.last_growth = time.time()
		self.last_poll_started = started


def button_token(payload: dict) -> str | None:
	"""The tracked link's token a URL button carries (what a tap opens as ``/r/<token>``)."""
	for component in (payload.get("template") or {}).get("components") or []:
		if component.get("type") == "button" and component.get("sub_type") == "url":
			return component["parameters"][0]["text"]
	return None


# Chaos
# -----


@dataclass(order=True)
class Fault:
	at: float  # seconds after t0
	kind: str  # "worker", "mariadb", "queue_redis"


def chaos_plan(
	rng: random.Random, kills: int, expected_seconds: float, kill_mariadb: bool, kill_queue_redis: bool
) -> list[Fault]:
	"""Worker kills spread over the expected sending time (at least half a minute), MariaDB in its
	middle and the queue Redis a little later, so that each meets sends, webhooks and taps."""
	start, span = 5.0, max(30.0, expected_seconds)
	plan = [Fault(start + rng.uniform(0, span), "worker") for _ in range(kills)]
	if kill_mariadb:
		plan.append(Fault(start + span * rng.uniform(0.35, 0.5), "mariadb"))
	if kill_queue_redis:
		plan.append(Fault(start + span * rng.uniform(0.55, 0.7), "queue_redis"))
	return sorted(plan)


class ChaosWorker(RQWorker):
	"""A worker logging to this benchmark's file."""

	def __init__(self, queue: str, log: str):
		super().__init__(queue)
		self.log = log
		self.restarts = 0

	def start(self) -> "ChaosWorker":
		self.process = subprocess.Popen(
			[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue", self.queue],
			cwd=os.path.join(get_bench_path(), "sites"),
			stdout=open(self.log, "a"),
			stderr=subprocess.STDOUT,
			start_new_session=True,
		)
		return self


class Chaos(Stoppable):
	"""Carries out the plan, and restarts any worker that died, as a supervisor would. Talks to
	processes and to the queue Redis (to say which job a kill hit), never to frappe."""

	def __init__(
		self,
		plan: list[Fault],
		pool: list[ChaosWorker],
		t0: float,
		site: str,
		queue_redis_url: str,
		database: dict,
		rng: random.Random,
	):
		super().__init__("chaos-faults")
		self.plan, self.pool, self.t0, self.site, self.rng = list(plan), pool, t0, site, rng
		self.queue_redis_url, self.database = queue_redis_url, database
		self.queue_redis = redis.Redis.from_url(queue_redis_url, socket_timeout=2)
		self.events: list[dict] = []
		self.died: list[dict] = []
		self.done = not plan

	def run(self) -> None:
		pending = list(self.plan)
		while not self.stopping.is_set():
			now = time.time() - self.t0
			killed = False
			for fault in [f for f in pending if f.at <= now]:
				if fault.kind == "worker":
					# A kill waits (a while) for a worker with a job, so that it hits work being
					# done; one kill at a time, so that two never land on one restarted worker.
					if killed or (not self.busy() and now - fault.at < KILL_WAITS_SECONDS):
						continue
					killed = True
				pending.remove(fault)
				try:
					getattr(self, f"do_{fault.kind}")(fault)
				except Exception as e:  # a fault that could not be made is reported, not fatal
					self.events.append({"t": self.elapsed(), "kind": fault.kind, "error": repr(e)})
			self.done = not pending
			self.supervise()
			self.stopping.wait(0.2)

	def elapsed(self) -> float:
		return round(time.time() - self.t0, 1)

	def supervise(self) -> None:
		for worker in self.pool:
			if worker.process and worker.process.poll() is not None:
				self.died.append(
					{"t": self.elapsed(), "queue": worker.queue, "returncode": worker.process.returncode}
				)
				worker.start()

	def busy(self) -> list[ChaosWorker]:
		"""Workers running a job (RQ's work horse is a child of the worker)."""
		return [w for w in self.pool if w.process and descendants(w.process.pid)]

	def do_worker(self, fault: Fault) -> None:
		busy = self.busy()
		worker = self.rng.choice(busy or self.pool)
		pid = worker.process.pid
		job = self.current_job(pid) if busy else None
		worker.kill()
		worker.start()
		worker.restarts += 1
		self.events.append(
			{"t": self.elapsed(), "planned": round(fault.at, 1), "kind": "worker", "queue": worker.queue,
			 "pid": pid, "job": job or ("idle" if not busy else "?")}
		)  # fmt: skip

	def current_job(self, pid: int) -> str | None:
		"""The app's method the worker was running, from RQ's registry in the queue Redis."""
		try:
			for key in self.queue_redis.smembers("rq:workers"):
				worker = self.queue_redis.hgetall(key)
				if worker.get(b"pid") == str(pid).encode() and worker.get(b"current_job"):
					job = self.queue_redis.hget(b"rq:job:" + worker[b"current_job"], "description") or b""
					described = job.decode(errors="replace")
					found = re.search(r"method='([^']+)'", described)
					return found.group(1) if found else described[:160]
		except redis.RedisError:
			return None
		return None

	def do_mariadb(self, fault: Fault) -> None:
		"""SIGKILL, as a crash or the OOM killer would; mysqld_safe starts it again."""
		pid = pid_named("mariadbd")
		if pid is None:
			raise RuntimeError("no mariadbd process")
		began = time.time()
		os.kill(pid, signal.SIGKILL)
		while os.path.exists(f"/proc/{pid}"):
			time.sleep(0.05)
		deadline = time.time() + MARIADB_BACK_SECONDS
		while not self.site_database_answers():
			if time.time() > deadline:
				subprocess.run(["service", "mariadb", "start"], capture_output=True, timeout=120)
				deadline = time.time() + 120
			time.sleep(0.2)
		self.events.append(
			{"t": round(began - self.t0, 1), "planned": round(fault.at, 1), "kind": "mariadb", "pid": pid,
			 "down_s": round(time.time() - began, 1)}
		)  # fmt: skip

	def site_database_answers(self) -> bool:
		"""Back means the site's own user gets an answer (crash recovery is over)."""
		try:
			connection = pymysql.connect(**self.database, connect_timeout=2)
		except pymysql.MySQLError:
			return False
		try:
			with connection.cursor() as cursor:
				cursor.execute("select 1")
			return True
		except pymysql.MySQLError:
			return False
		finally:
			connection.close()

	def do_queue_redis(self, fault: Fault) -> None:
		"""SIGKILL (no save, as a crash), then started again from its config."""
		try:
			waiting = self.queue_redis.llen(f"rq:marketing_engine:clicks:{self.site}")
			jobs = {q: self.queue_redis.llen(f"rq:queue:{q}") for q in ("long", "short")}
		except redis.RedisError:
			waiting, jobs = None, None
		pid = int(self.queue_redis.info("server")["process_id"])
		began = time.time()
		os.kill(pid, signal.SIGKILL)
		time.sleep(0.5)
		start_redis("redis_queue.conf", self.queue_redis_url)
		self.events.append(
			{"t": round(began - self.t0, 1), "planned": round(fault.at, 1), "kind": "queue_redis", "pid": pid,
			 "down_s": round(time.time() - began, 1), "clicks_waiting_at_kill": waiting, "jobs_queued_at_kill": jobs}
		)  # fmt: skip


def site_database() -> dict:
	"""How the site's user connects, for a thread that has no frappe."""
	return {
		"host": frappe.conf.db_host or "127.0.0.1",
		"port": int(frappe.conf.db_port or 3306),
		"user": frappe.conf.db_user or frappe.conf.db_name,
		"password": frappe.conf.db_password,
		"database": frappe.conf.db_name,
	}


def mariadb_answers() -> bool:
	"""Whether the server takes connections (mariadb-admin's ping says so even when it refuses
	the user)."""
	return subprocess.run(["mariadb-admin", "ping"], capture_output=True, timeout=10).returncode == 0


def start_redis(conf: str, url: str) -> None:
	config = os.path.join(get_bench_path(), "config")
	subprocess.run(["redis-server", conf, "--daemonize", "yes"], cwd=config, check=True, timeout=10)
	wait_for(lambda: redis_answers(url), conf)


def redis_answers(url: str) -> bool:
	try:
		return redis.Redis.from_url(url, socket_timeout=1).ping()
	except redis.RedisError:
		return False


def ensure_services() -> None:
	"""Never leave MariaDB or a Redis down for the next user of the bench."""
	if not mariadb_answers():
		subprocess.run(["service", "mariadb", "start"], capture_output=True, timeout=120)
	for conf, url in (
		("redis_queue.conf", frappe.conf.redis_queue),
		("redis_cache.conf", frappe.conf.redis_cache),
	):
		if not redis_answers(url):
			start_redis(conf, url)


# The run
# -------


def drive(
	campaign: str,
	t0: float,
	meta: Meta,
	ledger: Ledger,
	chaos: Chaos,
	tick_seconds: float,
	complete_within: float,
	settle_within: float,
) -> dict:
	"""Play the scheduler until everything is settled and every answered status and tap shows, or
	the time is up. Returns when the campaign completed and what the scheduler's events met."""
	events = frappe.get_hooks("scheduler_events", app_name="marketing_engine")["cron"]["* * * * *"]
	scheduler_errors: list[dict] = []
	next_tick, next_check = time.time(), 0.0
	completed_after = None
	sent_out_at = quiet_since = None
	check: dict = {}
	while True:
		now = time.time()
		if now >= next_tick:
			scheduler_pass(events, t0, scheduler_errors)
			next_tick += tick_seconds
		state = with_database(lambda: progress(campaign)) or {}
		if state.get("status") == "Completed" and completed_after is None:
			completed_after = round(time.time() - t0, 1)
		sending_over = state.get("status") in ("Completed", "Failed") and not state.get("open")
		if sending_over and sent_out_at is None:
			sent_out_at = time.time()
		# Everything was handed over (a poll of the ledger began after the last send), every
		# status and tap answered, the chaos over: what is left is the site's to apply.
		delivered = (
			sent_out_at is not None and ledger.last_poll_started > sent_out_at and chaos.done and meta.idle()
		)
		if delivered:
			quiet_since = quiet_since or time.time()
			if time.time() >= next_check:
				check = with_database(lambda: reflection(campaign, meta)) or {"unreflected": -1}
				next_check = time.time() + CHECK_EVERY_SECONDS
				if not check["unreflected"] and not check["clicks_missing"]:
					break
			if time.time() - quiet_since > settle_within:
				break
		if now - t0 > complete_within + settle_within:
			break
		time.sleep(LOOP_SECONDS)
	return {
		"completed_after_s": completed_after,
		"completed_in_time": completed_after is not None and completed_after <= complete_within,
		"finished_after_s": round(time.time() - t0, 1),
		"scheduler_errors": scheduler_errors,
	}


def scheduler_pass(events: list[str], t0: float, errors: list[dict]) -> None:
	"""The app's every-minute events, each on its own as Frappe's scheduler runs them: one that
	fails (MariaDB or the queue Redis down) is tried again at the next tick."""
	for method in events:
		try:
			frappe.get_attr(method)()
			frappe.db.commit()
		except Exception as e:
			errors.append(
				{"t": round(time.time() - t0, 1), "event": method.rsplit(".", 1)[-1], "error": repr(e)[:200]}
			)
			try:
				frappe.db.rollback()
			except Exception:
				pass
			if is_lost_connection(e) or not database_answers():
				reconnect_database(for_seconds=120)


def database_answers() -> bool:
	try:
		frappe.db.sql("select 1")
		return True
	except Exception:
		return False


def with_database(step):
	"""A read of the run's progress; when MariaDB is away, reconnect (waiting for it)."""
	for _attempt in range(3):
		try:
			frappe.db.rollback()  # a fresh snapshot
			return step()
		except Exception as e:
			if not (is_lost_connection(e) or not database_answers()):
				raise
			reconnect_database(for_seconds=120)
	return None


def progress(campaign: str) -> dict:
	status = frappe.db.get_value("WhatsApp Campaign", campaign, "status")
	open_rows = frappe.db.sql(
		"""select count(*) from `tabWhatsApp Message` where (campaign=%s or drip_sequence=%s)
		and status in ('Pending', 'Queued')""",
		(campaign, SEQUENCE),
	)[0][0]
	active = frappe.db.count("Drip Enrollment", {"sequence": SEQUENCE, "status": "Active"})
	return {"status": status, "open": open_rows + active}


def run_messages(campaign: str) -> list[dict]:
	return frappe.db.sql(
		"""select name, status, message_id, campaign, drip_sequence, drip_step, drip_enrollment, phone,
			claimed_by, error_title, attempts, sent_at, delivered_at, read_at, modified
		from `tabWhatsApp Message` where campaign=%s or drip_sequence=%s""",
		(campaign, SEQUENCE),
		as_dict=True,
	)


def reflection(campaign: str, meta: Meta) -> dict:
	"""How many answered statuses the messages do not show, and answered taps with no row."""
	with meta.lock:
		acked = dict(meta.acked)
		taps = dict(meta.taps)
	rows = {row.name: row for row in run_messages(campaign)}
	unreflected = [key for key in acked if not reflected(rows.get(key[0]), key[1])]
	written = click_rows(campaign)
	missing = {token: n - written.get(token, 0) for token, n in taps.items() if n > written.get(token, 0)}
	return {"unreflected": len(unreflected), "clicks_missing": sum(missing.values())}


def reflected(row, status: str) -> bool:
	return bool(row and ROW_RANK.get(row.status, -1) >= STATUS_RANK[status] and row.get(TIME_FIELD[status]))


def click_rows(campaign: str) -> dict[str, int]:
	return dict(
		frappe.db.sql(
			"""select c.link, count(*) from `tabWhatsApp Link Click` c join `tabWhatsApp Link` l on l.name = c.link
			where l.campaign=%s or l.drip_sequence=%s group by c.link""",
			(campaign, SEQUENCE),
		)
	)


# Counting
# --------


def count(campaign: str, t0: float, meta: Meta, ledger: Ledger, chaos: Chaos, outcome: dict, since) -> dict:
	frappe.db.rollback()
	rows = {row.name: row for row in run_messages(campaign)}
	timeline = sorted(chaos.events, key=lambda e: e["t"])
	moments = [e["t"] for e in timeline]

	def chaos_before(t: float) -> dict | None:
		i = bisect.bisect_right(moments, t)
		return timeline[i - 1] if i else None

	def chaos_after(t: float) -> dict | None:
		i = bisect.bisect_left(moments, t)
		return timeline[i] if i < len(timeline) else None

	# 1. Sent twice: the same person, for the campaign or for one drip step, more than once.
	sends: dict[tuple, list[dict]] = collections.defaultdict(list)
	foreign = 0
	for entry in ledger.entries:
		row = rows.get(entry["callback_data"] or "")
		if row is None:
			foreign += 1  # not this run's (another sequence enabled on the site)
			continue
		what = ("campaign",) if row.campaign else ("drip step", row.drip_step)
		sends[(entry["to"], *what)].append(entry)
	twice = {key: entries for key, entries in sends.items() if len(entries) > 1}
	twice_evidence = [
		{
			"to": key[0],
			"of": " ".join(map(str, key[1:])),
			"messages": sorted({e["callback_data"] for e in entries}),
			"sent_at_s": [round(e["at"] - t0, 1) for e in entries],
			"chaos_before_second": chaos_before(sorted(e["at"] for e in entries)[1] - t0),
		}
		for key, entries in itertools.islice(twice.items(), EVIDENCE)
	]

	# 2. Never settled: rows still to send, enrollments still running, the campaign not done.
	open_rows = [row for row in rows.values() if row.status in OPEN_STATUSES]
	enrollments = frappe.db.sql(
		"select status, count(*) from `tabDrip Enrollment` where sequence=%s group by status", SEQUENCE
	)
	active = dict(enrollments).get("Active", 0)
	sent_names = {e["callback_data"] for e in ledger.entries}
	unsettled_evidence = [
		{
			"message": row.name,
			"status": row.status,
			"of": "campaign" if row.campaign else f"drip step {row.drip_step}",
			"claimed_by": row.claimed_by,
			"attempts": row.attempts,
			"error_title": row.error_title,
			"last_change_s": round(site_seconds(row.modified, t0), 1),
			"at_the_simulator": row.name in sent_names,
			# A Queued row in its claim's set of started sends waits for Meta's webhook (it may
			# have been sent), and fails when none comes; one not in it goes back to Pending.
			"in_started_set": bool(
				row.claimed_by and plain_redis().sismember(sending.started_key(row.claimed_by), row.name)
			),
			"claim_alive": bool(row.claimed_by and plain_redis().exists(sending.alive_key(row.claimed_by))),
			# A row left Queued was claimed (its last change) before the kill that stopped its job.
			"chaos_after_last_change": chaos_after(site_seconds(row.modified, t0)),
		}
		for row in open_rows[:EVIDENCE]
	]

	# 3. Webhook events lost: answered 200, not shown by the message.
	lost = [
		(key, at) for key, at in meta.acked.items() if key[0] in rows and not reflected(rows[key[0]], key[1])
	]
	lost_evidence = [
		{
			"message": name,
			"status_answered_200": status,
			"answered_at_s": round(at, 1),
			"row_status": rows[name].status if name in rows else None,
			"row_time_set": bool(rows[name].get(TIME_FIELD[status])) if name in rows else None,
			"chaos_before": chaos_before(at),
		}
		for (name, status), at in lost[:EVIDENCE]
	]

	# 4. Clicks lost: taps answered with a redirect that are not rows.
	written = click_rows(campaign)
	missing = {t: n - written.get(t, 0) for t, n in meta.taps.items() if n > written.get(t, 0)}
	extra = sum(max(0, n - meta.taps.get(t, 0)) for t, n in written.items())
	clicks_evidence = [
		{
			"token": token,
			"taps_answered": meta.taps[token],
			"rows": written.get(token, 0),
			"answered_at_s": meta.tap_times[token],
			"chaos_before": chaos_before(meta.tap_times[token][-1]),
		}
		for token in itertools.islice(missing, EVIDENCE)
	]

	# Beside the four: what was never sent, and what failed and why.
	eligible = [row for row in rows.values() if row.status != "Skipped"]
	not_sent = [row for row in eligible if row.name not in sent_names]
	failed = collections.Counter(
		(row.error_title or "")[:120] for row in rows.values() if row.status == "Failed"
	)
	statuses = collections.Counter(row.status for row in rows.values())
	campaign_doc = frappe.db.get_value(
		"WhatsApp Campaign", campaign, ["status", "status_reason", "run_problem"], as_dict=True
	)
	return {
		"sent_twice": len(twice),
		"never_settled": len(open_rows) + active + (0 if outcome["completed_in_time"] else 1),
		"webhook_events_lost": len(lost),
		"clicks_lost": sum(missing.values()),
		"campaign": {
			**campaign_doc,
			"completed_after_s": outcome["completed_after_s"],
			"completed_in_time": outcome["completed_in_time"],
		},
		"finished_after_s": outcome["finished_after_s"],
		"messages": {
			"campaign": sum(1 for r in rows.values() if r.campaign),
			"drip": sum(1 for r in rows.values() if r.drip_sequence),
			"by_status": dict(statuses),
			"open": len(open_rows),
			"enrollments": dict(enrollments),
			"failed_by_reason": dict(failed),
			"eligible_never_at_the_simulator": len(not_sent),
		},
		"simulator": {
			"accepted": len(ledger.entries),
			"not_this_runs": foreign,
			"rate_limited_130429": ledger.rate_limited,
			"extra_sends": sum(len(e) - 1 for e in twice.values()),
			**send_pace(ledger, t0),
		},
		"webhooks": {
			"answered_200": len(meta.acked),
			"answered_200_for_other_messages": sum(1 for name, _ in meta.acked if name not in rows),
			"answers": {str(k): v for k, v in meta.answers["webhook"].items()},
		},
		"taps": {
			"answered_302": sum(meta.taps.values()),
			"answers": {str(k): v for k, v in meta.answers["tap"].items()},
			"redirected_home": meta.tapped_home,
			"rows_beyond_answered_taps": extra,
		},
		"chaos": {
			"events": timeline,
			"worker_kills": sum(1 for e in timeline if e["kind"] == "worker"),
			"workers_died_by_themselves": chaos.died,
		},
		"scheduler_errors": outcome["scheduler_errors"],
		"evidence": {
			"sent_twice": twice_evidence,
			"never_settled": unsettled_evidence,
			"webhook_events_lost": lost_evidence,
			"clicks_lost": clicks_evidence,
			"webhook_intake": intake_evidence(lost, ledger, since),
		},
	}


def site_seconds(at, t0: float) -> float:
	"""A time the site wrote (its own wall clock, naive) as seconds after ``t0``."""
	return (get_datetime(at) - now_datetime()).total_seconds() + time.time() - t0


def send_pace(ledger: Ledger, t0: float) -> dict:
	"""When the simulator accepted the run's messages: from the first to the last, the rate
	over that time, and how many in each ten seconds after the start (a stall shows as zeros)."""
	times = sorted(e["at"] - t0 for e in ledger.entries)
	if not times:
		return {}
	buckets = collections.Counter(int(t // 10) for t in times)
	seconds = times[-1] - times[0]
	return {
		"first_send_s": round(times[0], 1),
		"last_send_s": round(times[-1], 1),
		"msg_per_s": round(len(times) / seconds, 1) if seconds else None,
		"sends_per_10_s": [buckets.get(i, 0) for i in range(int(times[-1] // 10) + 1)],
	}


def intake_evidence(lost: list, ledger: Ledger, since) -> dict:
	"""Where the lost statuses are: stored as webhook events or not, by status and by when they
	were answered (seconds after the start, in tens)."""
	wamid = {e["callback_data"]: e["message_id"] for e in ledger.entries}
	evidence: dict = {
		"lost_by_status": dict(collections.Counter(status for (_, status), _ in lost)),
		"lost_by_answered_at_s": dict(
			sorted(collections.Counter(int(at // 10) * 10 for _, at in lost).items())
		),
	}
	try:
		evidence["event_rows_by_status"] = dict(
			frappe.db.sql(
				"""select status, count(*) from `tabWhatsApp Webhook Event` where account=%s and creation >= %s
				group by status""",
				(ACCOUNT, since),
			)
		)
		errors = frappe.db.sql(
			"""select error, attempts, next_attempt_at from `tabWhatsApp Webhook Event`
			where account=%s and creation >= %s and status='Failed'""",
			(ACCOUNT, since),
			as_dict=True,
		)
		evidence["failed_event_errors"] = dict(
			collections.Counter(
				(row.error or "").strip().splitlines()[-1][:200] if row.error else "" for row in errors
			)
		)
		evidence["failed_event_next_attempts"] = sorted({str(row.next_attempt_at) for row in errors})[:5]
		samples = []
		for (name, status), at in lost[:EVIDENCE]:
			rows = frappe.db.sql(
				"""select name, status, creation, received_at from `tabWhatsApp Webhook Event`
				where payload like %s and payload like %s""",
				(f"%{wamid.get(name)}%", f'%"status":"{status}"%'),
				as_dict=True,
			)
			samples.append(
				{"message": name, "status": status, "answered_at_s": round(at, 1), "event_rows": rows}
			)
		evidence["samples"] = samples
	except Exception as e:  # the intake's tables are not this benchmark's: report, do not fail
		evidence["error"] = repr(e)
	journal = frappe.get_site_path("private", "whatsapp-webhook-journal")
	if os.path.isdir(journal):
		evidence["journal_files_left"] = dict(
			collections.Counter(n.split("-", 1)[0] for n in os.listdir(journal))
		)
	return evidence


def print_summary(result: dict) -> None:
	chaos = result["chaos"]
	kinds = collections.Counter(e["kind"] for e in chaos["events"])
	campaign = result["campaign"]
	print(
		f"\nChaos: {result['recipients']:,} recipients and {result['drip_people']:,} drip enrollments (2 steps), "
		f"{kinds['worker']} worker kills, {kinds['mariadb']} MariaDB kill, {kinds['queue_redis']} queue Redis kill, "
		f"{len(chaos['workers_died_by_themselves'])} workers died by themselves"
	)
	print(
		f"  campaign {campaign['status']}"
		+ (f" after {campaign['completed_after_s']} s" if campaign["completed_after_s"] else "")
		+ f"; run over after {result['finished_after_s']} s; {result['simulator']['accepted']:,} messages accepted "
		f"by the simulator ({result['simulator'].get('msg_per_s')} msg/s from the first to the last); "
		f"{result['webhooks']['answered_200']:,} statuses and "
		f"{result['taps']['answered_302']:,} taps answered"
	)
	for label, key in (
		("messages sent twice", "sent_twice"),
		("recipients never settled", "never_settled"),
		("webhook events lost", "webhook_events_lost"),
		("clicks lost", "clicks_lost"),
	):
		print(f"  {label:<26}{result[key]:>6}")


def wait_for(check, what: str, timeout: float = 30) -> None:
	deadline = time.time() + timeout
	while time.time() < deadline:
		try:
			if check():
				return
		except (requests.RequestException, redis.RedisError):
			pass
		time.sleep(0.2)
	raise RuntimeError(f"{what} did not start")
