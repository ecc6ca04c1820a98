"""The replies inbox: what people wrote back, whom and what they answered, and a free-form answer
from Desk inside Meta's 24-hour window."""

import frappe
from frappe.utils import cint, now_datetime

from marketing_engine.channel.messaging import send_text
from marketing_engine.channel.people import display_name
from marketing_engine.engine.window import service_window_closes_at


@frappe.whitelist()
def get_replies(handled: int = 0, limit: int = 50) -> list[dict]:
	frappe.has_permission("WhatsApp Message", "read", throw=True)
	rows = frappe.db.sql(
		"""select i.name, i.phone, i.user_id, i.profile_name, i.body, i.message_type, i.received_at,
			i.contact_doctype, i.contact_name, i.handled, i.handled_by, i.campaign,
			a.name as answered, a.body as answered_body, a.drip_sequence, a.campaign as answered_campaign
		from `tabWhatsApp Message` i
		left join `tabWhatsApp Message` a on a.name = i.reply_to
		where i.direction = 'Inbound' and i.handled = %(handled)s
		order by i.received_at desc limit %(limit)s""",
		{"handled": cint(handled), "limit": min(cint(limit) or 50, 200)},
		as_dict=True,
	)
	last_by_person: dict[str, object] = {}
	for row in rows:
		row.person = (
			display_name(row.contact_doctype, row.contact_name) if row.contact_name else row.profile_name
		)
		address = row.phone or row.user_id
		if address not in last_by_person:
			last_by_person[address] = frappe.db.get_value(
				"WhatsApp Message",
				{"direction": "Inbound", "phone" if row.phone else "user_id": address},
				"max(received_at)",
			)
		closes = service_window_closes_at(last_by_person[address]) if last_by_person[address] else None
		row.window_closes_at = closes
		row.can_answer = bool(closes and closes > now_datetime())
	return rows


@frappe.whitelist(methods=["POST"])
def set_handled(message: str, handled: int = 1) -> None:
	# Marking is a change to the message (its one editable field): it needs write, not read.
	frappe.has_permission("WhatsApp Message", "write", message, throw=True)
	frappe.db.set_value(
		"WhatsApp Message",
		message,
		{"handled": cint(handled), "handled_by": frappe.session.user if cint(handled) else None},
	)


@frappe.whitelist(methods=["POST"])
def answer(message: str, text: str) -> dict:
	"""Send ``text`` to the person who wrote ``message``, and mark it handled."""
	frappe.has_permission("WhatsApp Message", "write", message, throw=True)
	frappe.only_for(("Marketing Manager", "Marketing User", "System Manager"))
	sent = send_text(message, text)
	set_handled(message, 1)
	return {"name": sent.name, "status": sent.status, "error": sent.error_title}
