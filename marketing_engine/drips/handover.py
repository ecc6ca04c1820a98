"""A reply stops the person's sequences and hands over to a person at the studio.

Automation should never talk over a customer who wrote back: the first reply (text, button or
media) stops every active sequence of the person before any further step, and the person the
sequence names gets a ToDo with the reply and links, and a Desk notification. Replies to
campaigns are handed over the same way when Marketing Settings say so.
"""

import frappe
from frappe import _
from frappe.utils import escape_html, get_url_to_form, nowdate

from marketing_engine.background import plain_redis, site_key
from marketing_engine.channel.people import account_manager, display_name
from marketing_engine.drips.enrolment import active_enrollments, stop
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings


def on_reply(message, answered) -> None:
	"""Hook whatsapp_replied: for a stored inbound ``message`` (not an opt-out) that answered
	``answered`` (or None)."""
	person = (message.contact_doctype, message.contact_name) if message.contact_name else None
	sequences: dict[str, str] = {}  # sequence -> enrollment
	for enrollment in active_enrollments(message.phone or message.user_id, person, started_by=message.name):
		sequences[frappe.db.get_value("Drip Enrollment", enrollment, "sequence")] = enrollment
		stop(enrollment, "Replied", (message.body or message.message_type or "")[:140], reply=message.name)
	drip = (
		frappe.db.get_value(
			"WhatsApp Message", answered.name, ["drip_sequence", "drip_enrollment"], as_dict=True
		)
		if answered
		else None
	)
	if drip and drip.drip_sequence:
		sequences.setdefault(drip.drip_sequence, drip.drip_enrollment)  # a finished sequence too
	owners: dict[str, list[str]] = {}
	for sequence, enrollment in sequences.items():
		user = sequence_owner(sequence, person)
		owners.setdefault(user, []).append(enrollment)
		frappe.db.set_value("Drip Enrollment", enrollment, "handed_to", user, update_modified=False)
	if not sequences and answered and answered.campaign:
		settings = get_settings()
		if settings.hand_over_campaign_replies:
			user = account_manager(person) or settings.campaign_reply_user
			if user:
				owners.setdefault(user, [])
	for user, enrollments in owners.items():
		assign(user, message, person, enrollments, answered)


def sequence_owner(sequence: str, person: tuple | None) -> str:
	doc = frappe.get_cached_doc("Drip Sequence", sequence)
	if doc.handover_to == "User" and doc.handover_user:
		return doc.handover_user
	if doc.handover_to == "Role (Round Robin)" and doc.handover_role:
		users = role_users(doc.handover_role)
		if users:
			# An atomic counter, so that two replies at once go to two people.
			turn = plain_redis().incr(site_key("drip-handover", sequence)) - 1
			chosen = users[turn % len(users)]
			frappe.db.set_value(
				"Drip Sequence", sequence, "last_handover_user", chosen, update_modified=False
			)
			return chosen
	return account_manager(person) or doc.handover_user or "Administrator"


def role_users(role: str) -> list[str]:
	users = frappe.get_all(
		"Has Role",
		filters={"role": role, "parenttype": "User", "parent": ("not in", ("Guest", "Administrator"))},
		pluck="parent",
		distinct=True,
	)
	return sorted(frappe.get_all("User", filters={"name": ("in", users or [""]), "enabled": 1}, pluck="name"))


def assign(user: str, message, person: tuple | None, enrollments: list[str], answered) -> None:
	who = display_name(*person) if person else (message.profile_name or message.phone or message.user_id)
	links = [f'<a href="{get_url_to_form("WhatsApp Message", message.name)}">{_("the reply")}</a>']
	if person:
		links.append(f'<a href="{get_url_to_form(person[0], person[1])}">{escape_html(who)}</a>')
	links += [f'<a href="{get_url_to_form("Drip Enrollment", e)}">{_("enrollment")}</a>' for e in enrollments]
	answered_text = (
		frappe.db.get_value("WhatsApp Message", answered.name, "body") if answered else None
	) or ""
	description = _("{0} replied on WhatsApp: <b>{1}</b>").format(
		escape_html(who), escape_html(message.body or message.message_type or "")
	)
	if answered_text:
		description += "<br>" + _("In answer to: {0}").format(escape_html(answered_text[:300]))
	description += "<br>" + " · ".join(links)
	frappe.get_doc(
		{
			"doctype": "ToDo",
			"allocated_to": user,
			"description": description,
			"reference_type": "WhatsApp Message",
			"reference_name": message.name,
			"priority": "High",
			"date": nowdate(),
			"assigned_by": "Administrator",
		}
	).insert(ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "Notification Log",
			"for_user": user,
			"type": "Assignment",
			"subject": _("WhatsApp reply from {0}: {1}").format(who, (message.body or "")[:80]),
			"email_content": description,
			"document_type": "WhatsApp Message",
			"document_name": message.name,
			"from_user": "Administrator",
		}
	).insert(ignore_permissions=True)
