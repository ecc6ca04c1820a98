"""A campaign rides through real faults: its MariaDB connection killed from another session, and
the Redis it keeps its claims and rate in restarted. The simulator's ledger (what Meta received)
proves that nobody got the message twice and nobody was missed."""

import collections
import os
import subprocess
import time

import frappe
import pymysql
from frappe.utils import get_bench_path

from marketing_engine.campaigns.dispatch import CampaignSource
from marketing_engine.campaigns.snapshot import snapshot
from marketing_engine.channel import sending
from marketing_engine.channel.consent import record_opt_in
from marketing_engine.engine.consent import OptInSource
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	LiveChannelTestCase,
	RQWorker,
	group_segment,
	make_customer,
	make_customer_group,
	review_request_campaign,
	template_name,
	wait_until,
)

GROUP = "_ME Fault Clients"
AUDIENCE = "_ME Fault Audience"
RECIPIENTS = 60


class TestFaults(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_customer_group(GROUP)
		cls.phones = []
		for i in range(RECIPIENTS):
			phone = f"+91981250{i:04d}"
			name = f"_ME Fault Client{i:02d}"
			customer = frappe.db.exists("Customer", name) or make_customer(phone, name=name, group=GROUP)
			record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
			cls.phones.append(phone.lstrip("+"))
		group_segment(AUDIENCE, GROUP)
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 10)
		frappe.db.commit()
		cls.worker = RQWorker().start()

	@classmethod
	def tearDownClass(cls):
		cls.worker.stop()
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "messages_per_second", 80)
		frappe.db.commit()
		super().tearDownClass()

	def start_campaign(self, name: str) -> str:
		campaign = review_request_campaign(name, AUDIENCE)
		campaign.confirm_send()
		frappe.db.commit()
		return campaign.name

	def sent_to(self, campaign: str) -> collections.Counter:
		names = set(frappe.get_all("WhatsApp Message", filters={"campaign": campaign}, pluck="name"))
		return collections.Counter(m.to for m in self.simulator.sent if m.callback_data in names)

	def completed(self, campaign: str) -> bool:
		return frappe.db.get_value("WhatsApp Campaign", campaign, "status") == "Completed"

	def assert_everyone_once(self, campaign: str):
		sent = self.sent_to(campaign)
		self.assertEqual(set(sent), set(self.phones))  # nobody missed
		self.assertEqual(set(sent.values()), {1})  # nobody twice
		statuses = collections.Counter(
			frappe.get_all("WhatsApp Message", filters={"campaign": campaign}, pluck="status")
		)
		self.assertFalse(
			statuses.get("Pending") or statuses.get("Queued") or statuses.get("Failed"), statuses
		)

	def test_killed_database_connection_mid_campaign(self):
		campaign = self.start_campaign("_ME Fault DB Kill")
		self.assertTrue(wait_until(lambda: len(self.sent_to(campaign)) >= 10, 30))
		mine = frappe.db.sql("select connection_id()")[0][0]
		killed = 0
		for (connection,) in frappe.db.sql(
			"select id from information_schema.processlist where db = database() and id != %s", mine
		):
			frappe.db.sql(f"kill connection {int(connection)}")
			killed += 1
		self.assertGreater(killed, 0)
		self.assertLess(len(self.sent_to(campaign)), RECIPIENTS)  # killed in the middle
		# The job reconnects and goes on by itself: no scheduler, no resume.
		self.assertTrue(wait_until(lambda: self.completed(campaign), 60), self.sent_to(campaign))
		self.assert_everyone_once(campaign)
		self.assertFalse(
			frappe.db.exists("Error Log", {"reference_name": campaign}),
			"the job gave up instead of reconnecting",
		)

	def test_a_connection_killed_while_sends_are_handed_to_the_threads_sends_nobody_twice(self):
		# The job's own steps, run here so that the connection is killed at one moment: right as
		# the first send of a batch leaves for the send threads, as an operator's KILL could. The
		# step that meets the dead connection is repeated after reconnecting; it must not be one
		# that hands sends to the threads, or those rows go out twice.
		campaign = review_request_campaign("_ME Fault Hand-off", AUDIENCE)
		total = snapshot(campaign)
		frappe.db.set_value(
			"WhatsApp Campaign", campaign.name, {"status": "Sending", "total_recipients": total}
		)
		frappe.db.commit()
		source = CampaignSource(campaign.name)
		jobs_connection = frappe.db.sql("select connection_id()")[0][0]
		operator = another_session()
		killed = []
		send = source.channel.send

		def send_right_after_a_kill(started, row, payload):
			if not killed:
				killed.append(row["name"])
				with operator.cursor() as cursor:
					cursor.execute(f"kill connection {int(jobs_connection)}")
			return send(started, row, payload)

		source.channel.send = send_right_after_a_kill
		try:
			sending.send_until_done(source, 1, collections.deque())
		finally:
			operator.close()
		self.assertEqual(len(killed), 1)
		self.assertNotEqual(frappe.db.sql("select connection_id()")[0][0], jobs_connection)  # reconnected
		self.assertTrue(wait_until(lambda: self.completed(campaign.name), 30), self.sent_to(campaign.name))
		self.assert_everyone_once(campaign.name)

	def test_redis_restart_mid_campaign(self):
		campaign = self.start_campaign("_ME Fault Redis")
		self.assertTrue(wait_until(lambda: len(self.sent_to(campaign)) >= 10, 30))
		restart_redis("redis_cache.conf")
		self.assertLess(len(self.sent_to(campaign)), RECIPIENTS)
		self.assertTrue(wait_until(lambda: self.completed(campaign), 60), self.sent_to(campaign))
		self.assert_everyone_once(campaign)

	def test_queue_redis_restart_leaves_the_worker_taking_jobs_and_pausing(self):
		restart_redis("redis_queue.conf")
		campaign = self.start_campaign("_ME Fault Queue Redis")
		self.assertTrue(wait_until(lambda: len(self.sent_to(campaign)) >= 5, 30))
		frappe.get_doc("WhatsApp Campaign", campaign).pause()
		frappe.db.commit()
		time.sleep(2)
		paused_at = len(self.sent_to(campaign))
		time.sleep(2)
		self.assertEqual(len(self.sent_to(campaign)), paused_at)  # pause heard after the restart
		frappe.get_doc("WhatsApp Campaign", campaign).resume()
		frappe.db.commit()
		self.assertTrue(wait_until(lambda: self.completed(campaign), 60))
		self.assert_everyone_once(campaign)


def another_session() -> pymysql.Connection:
	"""A MariaDB session of the site's own user, apart from Frappe's connection."""
	return pymysql.connect(
		host=frappe.conf.db_host or "127.0.0.1",
		port=int(frappe.conf.db_port or 3306),
		user=frappe.conf.db_user or frappe.conf.db_name,
		password=frappe.conf.db_password,
		database=frappe.conf.db_name,
	)


def restart_redis(conf: str) -> None:
	"""Shut a bench Redis down and start it again from its config, as a server restart would."""
	port = redis_port(conf)
	subprocess.run(["redis-cli", "-p", port, "shutdown"], capture_output=True, timeout=10)
	time.sleep(1)
	start_redis(conf, port)


def kill_redis(conf: str) -> None:
	"""Kill a bench Redis with SIGKILL (no save, as a crash would) and start it from its config."""
	port = redis_port(conf)
	info = subprocess.run(["redis-cli", "-p", port, "info", "server"], capture_output=True, text=True).stdout
	os.kill(next(int(line.split(":")[1]) for line in info.splitlines() if line.startswith("process_id:")), 9)
	time.sleep(0.5)
	start_redis(conf, port)


def redis_port(conf: str) -> str:
	config = os.path.join(get_bench_path(), "config", conf)
	return next(line.split()[1] for line in open(config) if line.startswith("port "))


def start_redis(conf: str, port: str) -> None:
	config = os.path.join(get_bench_path(), "config")
	subprocess.run(["redis-server", conf, "--daemonize", "yes"], cwd=config, check=True, timeout=10)
	for _ in range(50):
		if (
			subprocess.run(["redis-cli", "-p", port, "ping"], capture_output=True, text=True).stdout.strip()
			== "PONG"
		):
			return
		time.sleep(0.1)
	raise RuntimeError(f"Redis from {conf} did not come back")
