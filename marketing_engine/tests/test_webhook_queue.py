"""Webhooks at campaign volume: Frappe's web server stores each verified body and answers; a real
worker applies them in batches. A body that is not JSON is a 400, a payload that fails is kept
with its error and retried, and nothing is lost while no worker runs."""

import json
import time

import frappe
import requests

from marketing_engine.background import plain_redis
from marketing_engine.channel import webhooks as webhook_events
from marketing_engine.engine import journal
from marketing_engine.engine.webhook import SIGNATURE_HEADER, sign
from marketing_engine.tests.utils import (
	SYSTEM_ACCOUNT,
	LiveChannelTestCase,
	RQWorker,
	kept_webhooks,
	wait_until,
)


def statuses_of(message_ids: list[str], state: str) -> bytes:
	value = {
		"metadata": {"phone_number_id": "100000000000001", "display_phone_number": "918000000001"},
		"statuses": [
			{"id": mid, "status": state, "timestamp": str(int(time.time())), "recipient_id": "919800000401"}
			for mid in message_ids
		],
	}
	return json.dumps(
		{
			"object": "whatsapp_business_account",
			"entry": [{"id": "200000000000001", "changes": [{"value": value, "field": "messages"}]}],
		}
	).encode()


class TestWebhookQueue(LiveChannelTestCase):
	def post(self, body: bytes, secret: str | None = None, **headers):
		signature = (
			{SIGNATURE_HEADER: sign(body, secret or self.numbers[0].app_secret)} if secret != "" else {}
		)
		return requests.post(
			self.server.webhook_url,
			data=body,
			headers={"Content-Type": "application/json", **signature, **headers},
			timeout=30,
		)

	def outbound(self, count: int) -> list[str]:
		ids = [f"wamid.Q{frappe.generate_hash(length=12)}" for _ in range(count)]
		for message_id in ids:
			frappe.get_doc(
				{
					"doctype": "WhatsApp Message",
					"direction": "Outbound",
					"status": "Accepted",
					"phone": "+919800000401",
					"account": SYSTEM_ACCOUNT,
					"category": "UTILITY",
					"message_id": message_id,
				}
			).insert(ignore_permissions=True)
		frappe.db.commit()
		return ids

	def status_of(self, message_ids: list[str]) -> set[str]:
		frappe.db.rollback()
		return set(frappe.get_all("WhatsApp Message", {"message_id": ("in", message_ids)}, pluck="status"))

	def stored(self) -> int:
		return kept_webhooks()

	def test_body_that_is_not_json_is_a_400_and_stores_nothing(self):
		before = self.stored()
		body = b"{not json"
		response = self.post(body)
		self.assertEqual(response.status_code, 400)
		self.assertIn("not JSON", response.text)
		self.assertNotIn("Traceback", response.text)
		self.assertEqual(self.post(b"[]").status_code, 400)  # JSON, but not a WhatsApp webhook
		self.assertEqual(self.stored(), before)

	def test_forged_webhook_is_refused_and_stores_nothing(self):
		before = self.stored()
		body = statuses_of(self.outbound(1), "read")
		self.assertEqual(self.post(body, secret="guessed").status_code, 403)
		self.assertEqual(self.post(body, secret="").status_code, 403)
		self.assertEqual(self.stored(), before)

	def test_stored_webhooks_wait_for_a_worker_and_are_applied_once_in_order(self):
		self.webhook_worker.stop()
		before = self.stored()
		try:
			ids = self.outbound(30)
			# Meta's order is not kept: read before delivered for half of them.
			for state in ("sent", "read", "delivered"):
				for chunk in (ids[:15], ids[15:]):
					self.assertEqual(self.post(statuses_of(chunk, state)).status_code, 200)
			time.sleep(1)
			self.assertEqual(self.status_of(ids), {"Accepted"})  # kept, not yet applied
			self.assertEqual(self.stored() - before, 6)
		finally:
			type(self).webhook_worker = RQWorker("short").start()
		# The scheduler's next minute: the stopped worker's job left its key to expire, and
		# retry_failed wakes a job for whatever is pending.
		plain_redis().delete(webhook_events.applier_key())
		webhook_events.retry_failed()
		self.assertTrue(wait_until(lambda: self.status_of(ids) == {"Read"}, 30), self.status_of(ids))
		read_at = frappe.get_all("WhatsApp Message", {"message_id": ("in", ids)}, ["delivered_at", "read_at"])
		self.assertTrue(all(r.delivered_at and r.read_at for r in read_at))

	def test_an_ingest_that_dies_after_its_commit_keeps_each_webhook_once(self):
		"""The applier made the journal's records rows and committed, then died before deleting
		the file: the next applier reads the file again and keeps nothing twice."""
		self.webhook_worker.stop()
		try:
			ids = self.outbound(4)
			for state in ("delivered", "read"):
				self.assertEqual(self.post(statuses_of(ids, state)).status_code, 200)
			directory = webhook_events.journal_directory()
			taken = list(journal.take(directory))
			records = [r for t in taken for r in t.records]
			self.assertEqual(len(records), 2)
			webhook_events.insert_events([webhook_events.event_row(r) for r in records])
			frappe.db.commit()  # ... and the job dies here: no done(), the files stay taken
			self.assertEqual(webhook_events.ingest_journal(), 2)  # read again
			frappe.db.rollback()
			keys = [r.key for r in records]
			self.assertEqual(frappe.db.count("WhatsApp Webhook Event", {"journal_key": ("in", keys)}), 2)
			self.assertFalse(journal.has_records(directory))
		finally:
			type(self).webhook_worker = RQWorker("short").start()
		plain_redis().delete(webhook_events.applier_key())
		webhook_events.retry_failed()
		self.assertTrue(wait_until(lambda: self.status_of(ids) == {"Read"}, 30), self.status_of(ids))

	def test_a_journal_file_larger_than_mariadbs_packet_limit_is_kept_whole(self):
		"""Seven webhooks of nearly Meta's 3 MB in one web worker's file: more than MariaDB takes
		in one statement (max_allowed_packet), so the ingest splits its inserts by size."""
		self.webhook_worker.stop()
		try:
			ids = self.outbound(7)
			packet = frappe.db.sql("select @@max_allowed_packet")[0][0]
			writer = journal.Writer(webhook_events.journal_directory())
			padding = "x" * (2_900_000)
			for message_id in ids:
				body = json.loads(statuses_of([message_id], "delivered"))
				body["entry"][0]["changes"][0]["value"]["padding"] = padding  # fields Meta may add
				writer.append(webhook_events.journal_record(SYSTEM_ACCOUNT, json.dumps(body).encode()))
			(taken,) = journal.peek(webhook_events.journal_directory())
			self.assertGreater(sum(len(r.data) for r in taken.records), packet)
		finally:
			type(self).webhook_worker = RQWorker("short").start()
		plain_redis().delete(webhook_events.applier_key())
		webhook_events.retry_failed()
		self.assertTrue(wait_until(lambda: self.status_of(ids) == {"Delivered"}, 60), self.status_of(ids))
		self.assertFalse(journal.has_records(webhook_events.journal_directory()))

	def test_a_payload_that_fails_is_kept_with_its_error_and_retried(self):
		ids = self.outbound(2)
		bad_id = f"wamid.BAD{frappe.generate_hash(length=8)}"
		# Signed and well formed, but the message type does not fit the log: applying it fails.
		body = json.dumps(
			{
				"object": "whatsapp_business_account",
				"entry": [
					{
						"id": "200000000000001",
						"changes": [
							{
								"field": "messages",
								"value": {
									"metadata": {"phone_number_id": "100000000000001"},
									"contacts": [{"wa_id": "919800000402", "profile": {"name": "X"}}],
									"messages": [
										{
											"from": "919800000402",
											"id": bad_id,
											"timestamp": str(int(time.time())),
											"type": "x" * 300,
										}
									],
								},
							}
						],
					}
				],
			}
		).encode()
		self.assertEqual(self.post(body).status_code, 200)
		self.assertEqual(self.post(statuses_of(ids, "delivered")).status_code, 200)
		self.assertTrue(wait_until(lambda: self.status_of(ids) == {"Delivered"}, 20))  # the good one went

		def failed():
			return frappe.get_all(
				"WhatsApp Webhook Event",
				{"status": "Failed", "payload": ("like", f"%{bad_id}%")},
				["name", "attempts", "error", "next_attempt_at"],
			)

		self.assertTrue(wait_until(failed, 20))
		event = failed()[0]
		self.assertEqual(event.attempts, 1)
		self.assertIn("Message Type", event.error)  # the field it did not fit
		self.assertIsNotNone(event.next_attempt_at)

		# The scheduler retries it once its back-off is over.
		frappe.db.set_value(
			"WhatsApp Webhook Event", event.name, "next_attempt_at", frappe.utils.now_datetime()
		)
		frappe.db.commit()
		webhook_events.retry_failed()
		self.assertTrue(
			wait_until(lambda: frappe.db.get_value("WhatsApp Webhook Event", event.name, "attempts") == 2, 20)
		)
		self.assertEqual(frappe.db.get_value("WhatsApp Webhook Event", event.name, "status"), "Failed")
		frappe.db.delete("WhatsApp Webhook Event", {"name": event.name})
		frappe.db.commit()

	def test_accepted_webhooks_survive_a_killed_applier_and_a_killed_queue_redis(self):
		"""Every webhook answered 200 is applied, though the applier's worker is killed with
		SIGKILL mid-stream and the queue Redis (where RQ keeps its jobs) is killed and restarted:
		the 200 is sent only once the event is in the intake journal on the disk."""
		from marketing_engine.tests.test_faults import kill_redis

		ids = self.outbound(60)
		answered = 0
		for i, chunk in enumerate(ids[j : j + 10] for j in range(0, 60, 10)):
			if i == 2:
				self.webhook_worker.kill()  # SIGKILL, its work horse too: no clean-up runs
			if i == 4:
				kill_redis("redis_queue.conf")  # SIGKILL, then started again from its config
			for state in ("sent", "delivered", "read"):
				response = self.post(statuses_of(chunk, state))
				self.assertEqual(response.status_code, 200, response.text[:300])
				answered += 1
		self.assertEqual(answered, 18)
		type(self).webhook_worker = RQWorker("short").start()
		# The scheduler's minute, once the dead job's key has expired.
		plain_redis().delete(webhook_events.applier_key())
		webhook_events.retry_failed()
		self.assertTrue(wait_until(lambda: self.status_of(ids) == {"Read"}, 60), self.status_of(ids))
		frappe.db.rollback()
		self.assertEqual(
			frappe.db.count("WhatsApp Webhook Event", {"status": ("in", ("Pending", "Failed"))}), 0
		)
