"""The drip sequences' due steps, each turned into a message when it falls due, and the
scheduler's minute that drives them.

Due steps are found by an indexed query on (status, next_run_at). Each becomes a WhatsApp
Message row (Pending, with its values) in the same transaction that moves the enrollment on, so
a crash never loses or repeats a step; a unique (enrollment, step) key makes sure of it. The
messages go out on the one send path (:mod:`marketing_engine.drips.sending`).
"""

import json

import frappe
from frappe import _
from frappe.utils import add_to_date, get_datetime, now_datetime

from marketing_engine.background import alone
from marketing_engine.channel import sending
from marketing_engine.channel.media import media_header
from marketing_engine.channel.people import customer_of, display_name, first_name
from marketing_engine.channel.routing import route
from marketing_engine.drips.enrolment import (
	active_sequences,
	finish,
	stop,
	sweep,
	to_step,
	trigger_left,
)
from marketing_engine.drips.sending import DripSource, enqueue_drip_job, recover_claims
from marketing_engine.engine import drip
from marketing_engine.engine.identity import is_bsuid
from marketing_engine.engine.templates import render
from marketing_engine.marketing_engine.doctype.whatsapp_rate_card.whatsapp_rate_card import price_of_message
from marketing_engine.roi.links import tracked_link_values

BATCH = 500
RETRY_MINUTES = 15  # a step that failed is tried again this much later


def tick(now=None) -> dict:
	"""Every minute: enrol what triggered, turn due steps into messages, settle what a dead
	sending job left, and start the sending job when anything is due."""
	now = get_datetime(now) if now else now_datetime()  # a child process passes it as text
	enrolled = 0
	for sequence in active_sequences():
		# One sequence that cannot enrol (a condition that no longer evaluates) stops only itself.
		enrolled += alone("Drip Sequence", sequence.name, sweep, sequence, now, default=0)
	created = make_due_messages(now)
	recover_claims()
	if created or sending.next_retry_in(DripSource()) is not None:
		enqueue_drip_job()
	frappe.db.commit()
	return {"enrolled": enrolled, "messages": created}


def make_due_messages(now) -> int:
	"""Turn every due step into a Pending message, moving each enrollment on in the same
	transaction. Returns how many messages were written."""
	written = 0
	while True:
		due = frappe.db.sql(
			"""select e.* from `tabDrip Enrollment` e
			join `tabDrip Sequence` s on s.name = e.sequence and s.enabled = 1 and s.status = 'Active'
			where e.status = 'Active' and e.next_run_at <= %s
			order by e.next_run_at limit %s for update skip locked""",
			(now, BATCH),
			as_dict=True,
		)
		if not due:
			frappe.db.commit()
			return written
		sequences: dict[str, object] = {}
		for enrollment in due:
			if enrollment.sequence not in sequences:
				sequences[enrollment.sequence] = frappe.get_doc("Drip Sequence", enrollment.sequence)
			taken = alone(
				"Drip Sequence",
				enrollment.sequence,
				take_step,
				sequences[enrollment.sequence],
				enrollment,
				now,
			)
			if taken is None:
				# Failed (said on the sequence): tried again later, so that it is not picked first
				# in every batch of this pass.
				frappe.db.set_value(
					"Drip Enrollment", enrollment.name, "next_run_at", add_to_date(now, minutes=RETRY_MINUTES)
				)
			written += taken or 0
		frappe.db.commit()
		if len(due) < BATCH:
			return written


def take_step(sequence, enrollment, now) -> int:
	"""Write the enrollment's next message (or stop it, saying why). Returns 1 when written."""
	steps = sequence.steps
	if enrollment.next_step > len(steps):
		return finish(enrollment.name)
	step = steps[enrollment.next_step - 1]
	reason = trigger_left(sequence, enrollment)
	if reason:
		return stop(enrollment.name, "Left Trigger Condition", reason)
	if step.skip_if_booked:
		booking = booked_since(enrollment)
		if booking:
			return stop(enrollment.name, "Booked", _("Booked {0}").format(booking), booking=booking)
	template = frappe.get_cached_doc("WhatsApp Template", step.template) if step.template else None
	if not template or template.status != "APPROVED":
		return stop(
			enrollment.name,
			"Template Unusable",
			_("Step {0}: template {1} is {2}").format(
				step.idx, step.template or "-", (template.status if template else "not set").lower()
			),
		)
	spec = template.to_spec()
	decision = route(spec.category, enrollment.address)
	if not decision.allowed and decision.block.value not in ("quiet_hours", "frequency_cap"):
		kind = "Opted Out" if decision.block.value == "opted_out" else "Cannot Be Messaged"
		return stop(enrollment.name, kind, decision.reason)
	name = frappe.generate_hash(length=10)  # known before the insert: the step's links name it
	values = step_values(sequence, step, enrollment) | tracked_link_values(
		[{"name": name, "phone": enrollment.address, "contact_doctype": enrollment.contact_doctype,
		"contact_name": enrollment.contact_name}],
		[row for row in sequence.variables if row.step == step.idx],
		{button.url_variable for _, button in spec.url_buttons},
		{"drip_sequence": sequence.name, "drip_step": step.idx, "utm_source": sequence.utm_source,
		"utm_campaign": sequence.sequence_name},
	).get(name, {})  # fmt: skip
	header = step_header(sequence, step, spec, decision.account)
	region = (
		frappe.db.get_value(enrollment.contact_doctype, enrollment.contact_name, "whatsapp_region")
		if enrollment.contact_doctype in ("Customer", "Contact", "Lead")
		else None
	)
	message = frappe.get_doc(
		{
			"doctype": "WhatsApp Message",
			"direction": "Outbound",
			"status": "Pending",
			"phone": None if is_bsuid(enrollment.address) else enrollment.address,
			"user_id": enrollment.address if is_bsuid(enrollment.address) else None,
			"region": region,
			"account": decision.account or template.account,
			"cost": price_of_message(decision.account or template.account, spec.category, region),
			"template": template.name,
			"category": spec.category,
			"contact_doctype": enrollment.contact_doctype,
			"contact_name": enrollment.contact_name,
			"reference_doctype": enrollment.reference_doctype,
			"reference_name": enrollment.reference_name,
			"drip_sequence": sequence.name,
			"drip_enrollment": enrollment.name,
			"drip_step": step.idx,
			"body": render(spec.body, values),
			"send_parameters": json.dumps({"values": values, "header": header.__dict__ if header else None}),
		}
	)
	message.flags.notify_update = False  # as for enrollments: a batch writes hundreds
	message.insert(ignore_permissions=True, set_name=name)
	advance(sequence, enrollment, step, now, message.name)
	return 1


def advance(sequence, enrollment, step, now, message: str) -> None:
	"""The next step's time counts from this step's planned time, so that a late tick does not
	push the whole sequence later."""
	planned = enrollment.next_run_at
	following = enrollment.next_step + 1
	values = {"next_step": following, "last_sent_at": now}
	if following > len(sequence.steps):
		values.update(status="Completed", next_run_at=None)
	else:
		values["next_run_at"] = drip.run_at(
			to_step(sequence.steps[following - 1]), enrollment.trigger_at, planned
		)
	frappe.db.set_value("Drip Enrollment", enrollment.name, values)


def booked_since(enrollment) -> str | None:
	"""A Sales Order submitted for the person since they were enrolled."""
	customer = customer_of(enrollment.contact_doctype, enrollment.contact_name)
	if not customer:
		return None
	return frappe.db.get_value(
		"Sales Order",
		{"customer": customer, "docstatus": 1, "creation": (">=", enrollment.trigger_at)},
		"name",
		order_by="creation desc",
	)


def step_values(sequence, step, enrollment) -> dict[str, str]:
	"""The template's values for this step: a field of the person or of the triggering document,
	or a fixed text."""
	person = display_name(enrollment.contact_doctype, enrollment.contact_name)
	context = {"customer_name": person, "first_name": first_name(person), "phone": enrollment.address}
	reference = (
		frappe.get_doc(enrollment.reference_doctype, enrollment.reference_name)
		if enrollment.reference_doctype
		and frappe.db.exists(enrollment.reference_doctype, enrollment.reference_name)
		else None
	)
	values = {}
	for row in sequence.variables:
		if row.step != step.idx:
			continue
		if row.value_type == "Tracked Link":
			continue  # written with its link
		if row.value_type == "Fixed Text":
			values[row.variable] = row.value or ""
		elif row.value in context:
			values[row.variable] = context[row.value] or ""
		elif reference is not None and reference.get(row.value) is not None:
			values[row.variable] = frappe.format_value(
				reference.get(row.value), reference.meta.get_field(row.value), reference
			)
		else:
			values[row.variable] = ""
	return values


def step_header(sequence, step, spec, account: str | None):
	"""The step's header media; an attachment is uploaded to Meta once for the step."""

	def remember(media_id: str) -> None:
		frappe.db.set_value("Drip Step", step.name, "header_media_id", media_id)
		step.header_media_id = media_id

	return media_header(
		spec,
		account,
		url=step.header_url,
		attachment=step.header_attachment,
		media_id=step.header_media_id,
		remember=remember,
	)
