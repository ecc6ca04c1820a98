"""Clicks wait in the site's click journal and a job writes them: each click becomes exactly one
row, after a writer that died between its commit and deleting its file, with a click arriving
mid-batch, with an unreadable record, after the queue Redis is killed with clicks waiting, and,
when the journal cannot be written, in the request itself."""

import json
import os
import shutil

import frappe
import redis
from frappe.tests.utils import FrappeTestCase

from marketing_engine import background
from marketing_engine.engine import journal
from marketing_engine.engine.tracking import new_token
from marketing_engine.roi import clicks
from marketing_engine.roi.links import follow
from marketing_engine.tests.utils import drop_queued_jobs, free_port

BROWSER = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36"


class TestClicks(FrappeTestCase):
	def setUp(self):
		shutil.rmtree(clicks.journal_directory(), ignore_errors=True)
		clicks.queue_redis().delete(clicks.writer_key())

	def tearDown(self):
		shutil.rmtree(clicks.journal_directory(), ignore_errors=True)
		clicks.queue_redis().delete(clicks.writer_key())
		drop_queued_jobs()  # the writers the redirects enqueued; these tests write themselves

	def make_link(self, phone: str) -> str:
		token = new_token()
		frappe.get_doc(
			{
				"doctype": "WhatsApp Link",
				"token": token,
				"destination": "https://studio.example/book?ref=clicks",
				"utm_source": "clicks-test",
				"utm_campaign": "Clicks Test",
				"phone": phone,
			}
		).insert(ignore_permissions=True)
		frappe.db.commit()
		return token

	def rows(self, token: str) -> list:
		frappe.db.rollback()
		return frappe.get_all("WhatsApp Link Click", {"link": token}, ["phone", "clicked_at", "user_agent"])

	def click(self, token: str) -> None:
		location, remembered = follow(token, BROWSER, "GET")
		self.assertTrue(location.startswith("https://studio.example/book?ref=clicks&utm_source=clicks-test"))
		self.assertEqual(remembered["link"], token)

	def test_a_click_waits_in_the_journal_until_the_writer_makes_it_a_row(self):
		token = self.make_link("+919800000101")
		self.click(token)
		self.assertEqual(self.rows(token), [])  # the request wrote nothing to the database
		self.assertEqual(clicks.waiting_count(), 1)
		# The redirect asked for a writer: its key is taken and a job is queued.
		self.assertTrue(clicks.queue_redis().exists(clicks.writer_key()))

		self.assertEqual(clicks.write_waiting(linger=0), 1)
		(row,) = self.rows(token)
		self.assertEqual((row.phone, row.user_agent), ("+919800000101", BROWSER))
		self.assertIsNotNone(row.clicked_at)
		self.assertEqual(clicks.waiting_count(), 0)
		self.assertFalse(clicks.queue_redis().exists(clicks.writer_key()))  # handed over

	def test_a_writer_that_died_after_its_commit_writes_no_click_twice(self):
		token = self.make_link("+919800000102")
		for _ in range(3):
			self.click(token)
		# A writer took the file, committed these rows and died before deleting it.
		(taken,) = journal.take(clicks.journal_directory())
		clicks.insert([json.loads(record.data) for record in taken.records])
		frappe.db.commit()

		self.assertEqual(clicks.write_waiting(linger=0), 3)  # written again: skipped by click_id
		self.assertEqual(len(self.rows(token)), 3)
		self.assertEqual(clicks.waiting_count(), 0)

	def test_a_click_arriving_while_a_batch_is_written_stays_for_the_next(self):
		token = self.make_link("+919800000103")
		self.click(token)
		taking = journal.take(clicks.journal_directory())
		taken = next(taking)  # the writer has taken the file...
		self.click(token)  # ...and a click comes: it starts a new file
		clicks.insert([json.loads(record.data) for record in taken.records])
		frappe.db.commit()
		taken.done()
		self.assertEqual(len(self.rows(token)), 1)
		self.assertEqual(clicks.waiting_count(), 1)
		self.assertEqual(clicks.write_waiting(linger=0), 1)
		self.assertEqual(len(self.rows(token)), 2)

	def test_an_unreadable_record_is_logged_and_the_others_written(self):
		token = self.make_link("+919800000104")
		journal.Writer(clicks.journal_directory()).append(b"{not json")
		self.click(token)
		self.assertEqual(clicks.write_waiting(linger=0), 1)
		self.assertEqual(len(self.rows(token)), 1)
		self.assertEqual(clicks.waiting_count(), 0)
		self.assertTrue(frappe.db.exists("Error Log", {"method": "Unreadable waiting click"}))

	def test_the_scheduler_writes_clicks_no_writer_took(self):
		token = self.make_link("+919800000105")
		self.click(token)
		clicks.queue_redis().delete(clicks.writer_key())  # its writer died and its key expired
		clicks.write_stranded()
		self.assertEqual(len(self.rows(token)), 1)
		# A writer alive: the minute leaves its clicks to it.
		self.click(token)
		clicks.queue_redis().set(clicks.writer_key(), 1)
		clicks.write_stranded()
		self.assertEqual(len(self.rows(token)), 1)
		self.assertEqual(clicks.waiting_count(), 1)

	def test_clicks_waiting_survive_the_queue_redis_killed(self):
		from marketing_engine.tests.test_faults import kill_redis

		token = self.make_link("+919800000106")
		for _ in range(3):
			self.click(token)
		kill_redis("redis_queue.conf")  # SIGKILL, then started again from its config
		self.assertFalse(clicks.queue_redis().exists(clicks.writer_key()))  # what it held is gone
		clicks.write_stranded()  # the scheduler's minute
		self.assertEqual(len(self.rows(token)), 3)

	def test_with_the_queue_redis_down_the_click_is_kept_for_the_scheduler(self):
		token = self.make_link("+919800000107")
		site = frappe.local.site
		working = clicks.queue_redis()
		clicks._queue_clients[site] = redis.Redis(port=free_port(), socket_connect_timeout=1)
		try:
			self.click(token)
		finally:
			clicks._queue_clients[site] = working
		self.assertEqual(self.rows(token), [])
		self.assertEqual(clicks.waiting_count(), 1)
		clicks.write_stranded()
		self.assertEqual(len(self.rows(token)), 1)

	def test_with_the_journal_unwritable_the_request_writes_the_click_itself(self):
		token = self.make_link("+919800000108")
		directory = clicks.journal_directory()
		background._journal_writers.pop(directory, None)
		with open(directory, "w"):  # a file where the folder should be: no journal can be made
			pass
		try:
			self.click(token)
		finally:
			background._journal_writers.pop(directory, None)
			os.remove(directory)
		(row,) = self.rows(token)
		self.assertEqual(row.phone, "+919800000108")
