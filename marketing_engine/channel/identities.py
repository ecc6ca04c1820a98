"""Meta's notices that a WhatsApp user changed their number or their business-scoped user ID.

A number change moves the person's consent to the new number and withdraws it from the old one:
the old number may be given to a stranger one day, and a stranger must not get the studio's
marketing. The studio is told on the record, since ERPNext's mobile number is theirs to edit.
"""

import frappe
from frappe import _

from marketing_engine.channel.consent import get_consent, learn_identity, record_opt_in, record_opt_out
from marketing_engine.channel.people import consent_links, find_contact, local_time, phone_of_wa_id
from marketing_engine.engine.consent import OptInSource, OptOutSource

META = "Meta (number change notice)"


def number_changed(event) -> None:
	old, new = phone_of_wa_id(event.wa_id), phone_of_wa_id(event.new_wa_id)
	if not new:
		return
	at = local_time(event.timestamp)
	contact = find_contact(old) if old else None
	before = get_consent(old) if old else None
	detail = _("The person changed their WhatsApp number from {0} to {1}").format(old or "-", new)
	links = consent_links(contact)
	if before and before.status == "Opted In":
		record_opt_in(
			new, OptInSource.NUMBER_CHANGED, at, detail, links=links, user_id=event.user_id, actor=META
		)
	elif before and before.status == "Opted Out":
		record_opt_out(
			new, OptOutSource.NUMBER_CHANGED, at, detail, links=links, user_id=event.user_id, actor=META
		)
	elif event.user_id:
		learn_identity(new, event.user_id)
	if before and before.status != "Opted Out":
		record_opt_out(old, OptOutSource.NUMBER_CHANGED, at, detail, links=links, actor=META)
	if contact:
		frappe.get_doc(contact[0], contact[1]).add_comment(
			"Comment",
			_("WhatsApp: {0}. Update the mobile number so that messages reach them.").format(detail),
		)


def user_id_changed(event) -> None:
	if not (event.previous_user_id and event.user_id):
		return
	name = frappe.db.get_value("WhatsApp Consent", {"user_id": event.previous_user_id}) or (
		event.previous_user_id if frappe.db.exists("WhatsApp Consent", event.previous_user_id) else None
	)
	if not name:
		return
	frappe.db.set_value("WhatsApp Consent", name, "user_id", event.user_id)
	if name == event.previous_user_id:
		# A record known only by its user ID is named by it.
		frappe.rename_doc("WhatsApp Consent", name, event.user_id, force=True, ignore_permissions=True)
