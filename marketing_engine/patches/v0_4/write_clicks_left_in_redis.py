import json

import frappe

from marketing_engine.roi.clicks import COLUMNS, insert, queue_redis


def execute():
	"""Clicks used to wait on a list in the queue Redis; the ones an upgrade finds there are written
	now (the click journal replaced the list). A click_id already written is skipped."""
	key = f"rq:marketing_engine:clicks:{frappe.local.site}"
	entries = queue_redis().lrange(key, 0, -1)
	clicks = []
	for entry in entries:
		try:
			click = json.loads(entry)
			clicks.append(tuple(click[column] for column in COLUMNS))
		except (ValueError, KeyError, TypeError):
			frappe.log_error("Unreadable waiting click", entry.decode(errors="replace"))
	for start in range(0, len(clicks), 500):
		insert(clicks[start : start + 500])
	frappe.db.commit()
	queue_redis().delete(key)
