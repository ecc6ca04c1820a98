"""Single sends: one template message (a booking confirmation) or a free-form answer inside the
24-hour window: route, log, wait for a slot of the number's rate, send, record the outcome.

The WhatsApp Message row is committed *before* the call to Meta and its name travels as
``biz_opaque_callback_data``. If the process dies after Meta accepted the message but before the
answer was stored, the status webhook still finds the row by that name, so the message is
reconciled instead of sent again.
"""

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

from marketing_engine.channel.consent import record_opt_out
from marketing_engine.channel.frequency_cap import refresh_frequency_caps
from marketing_engine.channel.health import billing_refused
from marketing_engine.channel.routing import route
from marketing_engine.channel.sending import limiter_for
from marketing_engine.engine import errors
from marketing_engine.engine.consent import OptOutSource
from marketing_engine.engine.identity import is_bsuid
from marketing_engine.engine.phone import InvalidPhoneNumber, region_of
from marketing_engine.engine.status import advance
from marketing_engine.engine.templates import MediaHeader, TemplateVariableError, check_values, render
from marketing_engine.engine.window import service_window_closes_at, service_window_open
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import normalize_phone
from marketing_engine.marketing_engine.doctype.whatsapp_account.whatsapp_account import get_account
from marketing_engine.marketing_engine.doctype.whatsapp_rate_card.whatsapp_rate_card import price_of_message


class BlockedMessage(frappe.ValidationError):
	pass


def send_template(
	template: str,
	to: str,
	values: dict[str, object],
	*,
	header: MediaHeader | None = None,
	contact: tuple[str, str] | None = None,
	reference: tuple[str, str] | None = None,
) -> "frappe.model.document.Document":
	"""Send ``template`` to ``to`` and return its WhatsApp Message.

	Refusals before anything is sent (bad number, blocked route, missing variables) raise
	:class:`BlockedMessage`. Meta's refusals are recorded on the message (status Failed, error
	code and title) and returned, never raised, so that the record survives."""
	address = recipient_address(to)
	template_doc = frappe.get_doc("WhatsApp Template", template)
	spec = template_doc.to_spec()
	decision = route(spec.category, address)
	if not decision.allowed:
		frappe.throw(decision.reason, BlockedMessage, title=_("WhatsApp message not sent"))
	if template_doc.account != decision.account:
		frappe.throw(
			_("Template {0} belongs to WhatsApp Account {1}, but {2} messages go through {3}").format(
				template_doc.template_name, template_doc.account, spec.category.lower(), decision.account
			),
			BlockedMessage,
		)
	account = get_account(decision.account)
	try:
		check_values(spec, values)
	except TemplateVariableError as e:
		frappe.throw(str(e), BlockedMessage)

	message = frappe.get_doc(
		{
			"doctype": "WhatsApp Message",
			"direction": "Outbound",
			"status": "Queued",
			"phone": None if is_bsuid(address) else address,
			"user_id": address if is_bsuid(address) else None,
			"submitted_at": now_datetime(),
			"account": account.name,
			"template": template_doc.name,
			"category": spec.category,
			"region": region_of(address) if not is_bsuid(address) else None,
			"cost": price_of_message(
				account.name, spec.category, region_of(address) if not is_bsuid(address) else None
			),
			"contact_doctype": contact[0] if contact else None,
			"contact_name": contact[1] if contact else None,
			"reference_doctype": reference[0] if reference else None,
			"reference_name": reference[1] if reference else None,
			"body": render(spec.body, values),
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()  # the row must outlive a crash during the call to Meta

	wait_for_slot(account)
	try:
		result = account.get_client().send_template(spec, address, values, header, callback_data=message.name)
	except errors.MetaError as e:
		_record_failure(message, account, e)
	else:
		mark_accepted(message.name, result.message_id)
	if spec.category.upper() == "MARKETING":
		refresh_frequency_caps([address])
	frappe.db.commit()
	message.reload()
	return message


def recipient_address(to: str | None) -> str:
	"""Where a message goes: the number in E.164, or a business-scoped user ID as Meta gave it
	(a person who shares only a username). Anything else is refused with the reason."""
	if to and is_bsuid(to.strip()):
		return to.strip()
	try:
		return normalize_phone(to)
	except InvalidPhoneNumber as e:
		frappe.throw(_("Cannot send to {0}: {1}").format(to or _("(no number)"), e.reason), BlockedMessage)


def send_text(reply_to: str, text: str) -> "frappe.model.document.Document":
	"""A free-form answer to the inbound message ``reply_to``, allowed inside Meta's 24-hour
	customer service window that the person's last message opened. It goes out through the number
	they wrote to, waits for that number's rate like every other send, and is followed by the same
	webhooks."""
	inbound = frappe.get_doc("WhatsApp Message", reply_to)
	if inbound.direction != "Inbound":
		frappe.throw(_("Only a message someone sent the studio can be answered"), BlockedMessage)
	address = inbound.phone or inbound.user_id
	last = frappe.db.get_value(
		"WhatsApp Message",
		{"direction": "Inbound", "phone" if inbound.phone else "user_id": address},
		"max(received_at)",
	)
	if not service_window_open(get_datetime(last) if last else None, now_datetime()):
		frappe.throw(
			_(
				"The 24-hour window to answer freely closed at {0}: WhatsApp allows only an approved "
				"template now."
			).format(
				frappe.format_value(service_window_closes_at(get_datetime(last)), {"fieldtype": "Datetime"})
			),
			BlockedMessage,
			title=_("Outside WhatsApp's 24-hour window"),
		)
	account = get_account(inbound.account)
	message = frappe.get_doc(
		{
			"doctype": "WhatsApp Message",
			"direction": "Outbound",
			"status": "Queued",
			"phone": inbound.phone,
			"user_id": inbound.user_id,
			"account": account.name,
			"category": "SERVICE",
			"message_type": "text",
			"body": text,
			"reply_to": inbound.name,
			"contact_doctype": inbound.contact_doctype,
			"contact_name": inbound.contact_name,
			"submitted_at": now_datetime(),
		}
	).insert(ignore_permissions=True)
	frappe.db.commit()  # the row must outlive a crash during the call to Meta
	wait_for_slot(account)
	try:
		result = account.get_client().send_text(
			address, text, callback_data=message.name, reply_to=inbound.message_id
		)
	except errors.MetaError as e:
		_record_failure(message, account, e)
	except ValueError as e:
		frappe.throw(str(e), BlockedMessage)
	else:
		mark_accepted(message.name, result.message_id)
	frappe.db.commit()
	message.reload()
	return message


def wait_for_slot(account) -> None:
	"""A single send takes its slot of the number's rate like a campaign's sends do, waiting as
	long as the request may (a campaign in full flow leaves a slot every few milliseconds)."""
	limiter_for(account, max_wait=10.0).acquire()


def mark_accepted(message_name: str, message_id: str) -> None:
	"""Store Meta's message id; a status webhook may already have moved the message on."""
	current = frappe.db.sql(
		"select status, message_id from `tabWhatsApp Message` where name=%s for update",
		message_name,
		as_dict=True,
	)[0]
	frappe.db.set_value(
		"WhatsApp Message",
		message_name,
		{"message_id": current.message_id or message_id, "status": advance(current.status, "Accepted")},
	)


def _record_failure(message, account, error: errors.MetaError) -> None:
	if isinstance(error, errors.TransportError) and error.maybe_sent:
		# Meta may have the message: leave it Queued; its status webhook will reconcile it.
		frappe.db.set_value(
			"WhatsApp Message",
			message.name,
			{
				"error_title": _("No answer from Meta; waiting for its status webhook"),
				"error_detail": str(error),
			},
		)
		return
	frappe.db.set_value(
		"WhatsApp Message",
		message.name,
		{
			"status": "Failed",
			"failed_at": now_datetime(),
			"error_code": error.code,
			"error_title": error.title,
			"error_detail": error.details or str(error),
		},
	)
	if error.action is errors.Action.OPT_OUT:
		record_opt_out(
			message.phone,
			OptOutSource.META_ERROR,
			detail=str(error),
			message=message.name,
			user_id=message.user_id,
			actor=_("Meta, on the person's behalf"),
		)
	if error.code == errors.PAYMENT_REFUSED:
		billing_refused(account.name, error)
	elif error.action is errors.Action.STOP_RUN:
		frappe.db.set_value(
			"WhatsApp Account",
			account.name,
			"health_detail",
			_("Meta refused a send: {0}").format(str(error)),
		)
