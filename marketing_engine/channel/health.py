"""Meta's signals about a WhatsApp Business Account's health, and what the app does about them.

Meta pauses a template whose messages people block or report, flags a number whose quality drops
(and lowers its messaging limit), and restricts an account that breaks policy. Sending on through
any of these makes it worse, and Meta says so by webhook before a studio would notice. Each
signal updates the template or account, pauses every campaign and sequence that uses it with
the reason on its form, and tells the Marketing Managers; when Meta reinstates, what it paused
resumes. Campaigns and sequences are above the channel: they hear of it through the
``whatsapp_sending_paused`` and ``whatsapp_sending_resumed`` hooks (:mod:`.signals`).
"""

import frappe
from frappe import _
from frappe.utils import now_datetime

from marketing_engine.channel import signals
from marketing_engine.channel.signals import Hold
from marketing_engine.engine.webhook import (
	AccountUpdate,
	PhoneQualityChange,
	TemplateQualityChange,
	TemplateStatusChange,
)

MANAGER_ROLE = "Marketing Manager"
# Template events that stop sends (Meta refuses the template with 132015/132016 meanwhile) and
# the template status each leaves; APPROVED and REINSTATED put it back.
TEMPLATE_STATUS = {
	"APPROVED": "APPROVED",
	"REINSTATED": "APPROVED",
	"UNARCHIVED": "APPROVED",
	"PENDING": "PENDING",  # back in review after an edit
	"IN_APPEAL": "IN_APPEAL",
	"LIMIT_EXCEEDED": "LIMIT_EXCEEDED",
	"ARCHIVED": "ARCHIVED",
	"PAUSED": "PAUSED",
	"DISABLED": "DISABLED",
	"REJECTED": "REJECTED",
	"PENDING_DELETION": "DELETED",
	"DELETED": "DELETED",
}
USABLE_TEMPLATE_STATUS = "APPROVED"
# Number quality: a flag or a lower messaging limit pauses marketing from the number; Meta lifting
# the flag or raising the limit again resumes it.
NUMBER_PAUSE_EVENTS = frozenset({"FLAGGED", "DOWNGRADE"})
NUMBER_RESUME_EVENTS = frozenset({"UNFLAGGED", "UPGRADE"})
# Restrictions that stop business-initiated messages (all marketing is business-initiated).
BLOCKING_RESTRICTIONS = frozenset(
	{"RESTRICTED_BIZ_INITIATED_MESSAGING", "RESTRICTED_CUSTOMER_INITIATED_MESSAGING"}
)
BLOCKING_ACCOUNT_EVENTS = frozenset({"DISABLED_UPDATE", "ACCOUNT_VIOLATION"})


def template_status_changed(account: str, event: TemplateStatusChange, touched=None) -> None:
	status = TEMPLATE_STATUS.get(event.event)
	for template in _templates(event.waba_id, event.template_id, event.template_name, event.language):
		why = ", ".join(p for p in (event.reason, event.detail) if p and p.upper() != "NONE")
		if status:
			frappe.db.set_value(
				"WhatsApp Template",
				template,
				{"status": status, "status_detail": _meta_said(event.event, why)},
			)
			if event.event in REVIEW_EVENTS:
				tell_author(template, event.event, why)
		cause = f"template:{template}"
		if status == USABLE_TEMPLATE_STATUS:
			signals.sending_resumed(cause, _("Meta reinstated template {0}").format(template))
		elif status:
			reason = _(
				"Meta set template {0} to {1}{2}. Campaigns and sequences using it are paused."
			).format(template, status.lower(), f" ({why})" if why else "")
			signals.sending_paused(Hold(cause, reason, template=template))
			notify_managers(
				_("WhatsApp template {0} is {1}").format(template, status.lower()), reason, template
			)
		elif event.event == "FLAGGED":
			notify_managers(
				_("WhatsApp template {0} was flagged by Meta").format(template),
				_("Its quality dropped; Meta pauses it if it does not improve. {0}").format(why),
				template,
			)


# Meta's review of a template written in Desk: its author hears the outcome.
REVIEW_EVENTS = frozenset({"APPROVED", "REJECTED"})


def tell_author(template: str, event: str, why: str) -> None:
	author = frappe.db.get_value("WhatsApp Template", template, "submitted_by")
	if not author or not frappe.db.get_value("User", author, "enabled"):
		return
	if event == "APPROVED":
		subject = _("Meta approved WhatsApp template {0}").format(template)
		message = _("It can be used in campaigns and drip sequences now.")
	else:
		subject = _("Meta rejected WhatsApp template {0}").format(template)
		message = _("Meta's reason: {0}. Change it and save to send it back for review.").format(
			why or _("none given")
		)
	_notify(author, subject, message, template)


def template_category_changed(account: str, event, touched=None) -> None:
	"""Meta files a template under another category (what it costs and who may receive it)."""
	for template in _templates(event.waba_id, event.template_id, event.template_name, event.language):
		if event.impending:
			detail = _("Meta will move it from {0} to {1} within 24 hours.").format(
				event.new_category, event.correct_category
			)
		else:
			detail = _("Meta moved it from {0} to {1}.").format(event.previous_category, event.new_category)
			if event.new_category in ("MARKETING", "UTILITY", "AUTHENTICATION"):
				frappe.db.set_value("WhatsApp Template", template, "category", event.new_category)
		frappe.db.set_value("WhatsApp Template", template, "status_detail", detail)
		notify_managers(_("WhatsApp template {0}: category changed").format(template), detail, template)


def template_quality_changed(account: str, event: TemplateQualityChange, touched=None) -> None:
	for template in _templates(event.waba_id, event.template_id, event.template_name, event.language):
		frappe.db.set_value("WhatsApp Template", template, "quality_rating", event.new_score)
		if (event.new_score or "").upper() == "RED":
			notify_managers(
				_("WhatsApp template {0}: quality is low").format(template),
				_("Meta rates its quality {0} (was {1}); it may be paused.").format(
					event.new_score, event.previous_score or "-"
				),
				template,
			)


def phone_quality_changed(account: str, event: PhoneQualityChange, touched=None) -> None:
	for name in _accounts_of_number(event.waba_id, event.display_phone_number):
		values = {"health_detail": _meta_said(event.event, _limit_text(event.current_limit))}
		if event.current_limit:
			values["messaging_limit"] = event.current_limit
		if event.event == "FLAGGED":
			values["quality_rating"] = "RED"
		elif event.event == "UNFLAGGED":
			values["quality_rating"] = "GREEN"
		frappe.db.set_value("WhatsApp Account", name, values)
		cause = f"number:{name}"
		if event.event in NUMBER_PAUSE_EVENTS:
			reason = _(
				"Meta reported {0} on WhatsApp number {1}{2}. Its campaigns and sequences are paused."
			).format(
				event.event.lower(),
				name,
				f" ({_limit_text(event.current_limit)})" if event.current_limit else "",
			)
			signals.sending_paused(Hold(cause, reason, account=name))
			notify_managers(_("WhatsApp number {0}: {1}").format(name, event.event.lower()), reason, None)
		elif event.event in NUMBER_RESUME_EVENTS:
			signals.sending_resumed(
				cause, _("Meta reported {0} on WhatsApp number {1}").format(event.event.lower(), name)
			)


def account_updated(account: str, event: AccountUpdate, touched=None) -> None:
	restriction_types = {(r.get("restriction_type") or "").upper() for r in event.restrictions}
	blocked = bool(restriction_types & BLOCKING_RESTRICTIONS) or event.event in BLOCKING_ACCOUNT_EVENTS
	detail = _meta_said(event.event, event.detail or ", ".join(sorted(restriction_types)))
	for name in frappe.get_all("WhatsApp Account", filters={"waba_id": event.waba_id}, pluck="name"):
		cause = f"account:{name}"
		if blocked:
			frappe.db.set_value(
				"WhatsApp Account", name, {"health_status": "BLOCKED", "can_send": 0, "health_detail": detail}
			)
			reason = _(
				"Meta restricted WhatsApp account {0}: {1}. Its campaigns and sequences are paused."
			).format(name, event.detail or ", ".join(sorted(restriction_types)) or event.event.lower())
			signals.sending_paused(Hold(cause, reason, account=name))
			notify_managers(_("WhatsApp account {0} restricted by Meta").format(name), reason, None)
		elif not restriction_types and signals.held_by(cause):
			# The restriction was lifted: ask Meta whether the number can send before resuming.
			doc = frappe.get_doc("WhatsApp Account", name)
			doc.flags.ignore_permissions = True
			doc.check_health()
			if doc.can_send:
				signals.sending_resumed(
					cause, _("Meta lifted the restriction on WhatsApp account {0}").format(name)
				)


# -- telling people ------------------------------------------------------------------------------
def billing_refused(account: str, error) -> None:
	"""Meta refused a send because it cannot bill the WABA (131042): the account says so and
	marketing through it waits (routing blocks it) until a health check finds billing fixed."""
	if frappe.db.get_value("WhatsApp Account", account, "payment_status") == "No":
		return  # already told: a campaign's batch meets this once per message
	reason = _("Meta refused a send for a payment problem: {0}.").format(error.details or error.title)
	frappe.db.set_value(
		"WhatsApp Account", account, {"payment_status": "No", "payment_detail": reason}, update_modified=False
	)
	notify_managers(_("WhatsApp account {0}: Meta cannot bill it").format(account), reason, None)


def notify_managers(subject: str, message: str, template: str | None) -> None:
	users = frappe.get_all(
		"Has Role",
		filters={
			"role": MANAGER_ROLE,
			"parenttype": "User",
			"parent": ("not in", ("Administrator", "Guest")),
		},
		pluck="parent",
		distinct=True,
	)
	enabled = set(frappe.get_all("User", filters={"name": ("in", users or [""]), "enabled": 1}, pluck="name"))
	for user in sorted(enabled | {"Administrator"}):
		_notify(user, subject, message, template)


def _notify(user: str, subject: str, message: str, template: str | None) -> None:
	frappe.get_doc(
		{
			"doctype": "Notification Log",
			"for_user": user,
			"type": "Alert",
			"subject": subject,
			"email_content": message,
			"document_type": "WhatsApp Template" if template else None,
			"document_name": template,
			"from_user": "Administrator",
		}
	).insert(ignore_permissions=True)


# -- finding what an event is about ------------------------------------------------------------
def _templates(waba_id: str, template_id: str | None, name: str | None, language: str | None) -> list[str]:
	accounts = frappe.get_all("WhatsApp Account", filters={"waba_id": waba_id}, pluck="name")
	if not accounts:
		return []
	if template_id:
		found = frappe.get_all(
			"WhatsApp Template",
			filters={"account": ("in", accounts), "meta_template_id": str(template_id)},
			pluck="name",
		)
		if found:
			return found
	filters = {"account": ("in", accounts), "template_name": name}
	if language:
		filters["language"] = language
	return frappe.get_all("WhatsApp Template", filters=filters, pluck="name") if name else []


def _accounts_of_number(waba_id: str, display_phone_number: str | None) -> list[str]:
	accounts = frappe.get_all(
		"WhatsApp Account", filters={"waba_id": waba_id}, fields=["name", "display_phone_number"]
	)
	digits = "".join(ch for ch in display_phone_number or "" if ch.isdigit())
	matching = [
		a.name
		for a in accounts
		if digits and "".join(ch for ch in a.display_phone_number or "" if ch.isdigit()) == digits
	]
	# A number Meta names that is not on any account's form: every account of the WABA is told.
	return matching or [a.name for a in accounts]


def _limit_text(limit: str | None) -> str:
	return _("messaging limit {0}").format(limit) if limit else ""


def _meta_said(event: str, detail: str) -> str:
	return _("Meta, {0}: {1} {2}").format(now_datetime().strftime("%d %b %H:%M"), event, detail).strip()
