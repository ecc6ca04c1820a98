import frappe

from marketing_engine.roi.clicks import insert_in_batches, queue_redis, readable_clicks


def execute():
	"""Clicks used to wait on a list in the queue Redis; the ones an upgrade finds there are written
	now (the click journal replaced the list). A click_id already written is skipped."""
	key = f"rq:marketing_engine:clicks:{frappe.local.site}"
	insert_in_batches(readable_clicks(queue_redis().lrange(key, 0, -1)))
	frappe.db.commit()
	queue_redis().delete(key)
