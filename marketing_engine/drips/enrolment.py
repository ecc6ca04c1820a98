"""Who is enrolled in a drip sequence and when, and what ends an enrollment (a reply, an opt-out,
a booking, the trigger no longer holding, a person).

Enrolment is one Drip Enrollment per sequence and triggering document (or person and year for
birthdays), kept unique by ``enrollment_key``: re-saving a project, two scheduler passes or two
workers never enrol anyone twice. Project completion enrols from the Project's own save;
birthdays and date fields once a day; stalled inquiries from the window of leads that became
"unchanged for N days" since the last pass, so a pass costs what is due, not what exists.
"""

from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import add_days, cint, getdate, now_datetime

from marketing_engine.campaigns.audience import build_audience
from marketing_engine.channel.people import display_name
from marketing_engine.engine import drip

STOP_REASONS = (
	"Replied",
	"Opted Out",
	"Booked",
	"Left Trigger Condition",
	"Template Unusable",
	"Cannot Be Messaged",
	"Manual",
)


# Where each trigger finds its person, by document type.
PERSON_FIELDS = {
	"Customer": "name",
	"Lead": "name",
	"Contact": "name",
	"Project": "customer",
	"Sales Order": "customer",
	"Sales Invoice": "customer",
	"Quotation": "party_name",
	"Opportunity": "party_name",
}


def active_sequences() -> list:
	return frappe.get_all(
		"Drip Sequence",
		filters={"enabled": 1, "status": "Active"},
		fields=[
			"name",
			"trigger",
			"birthday_of",
			"lead_statuses",
			"include_opportunities",
			"stalled_days",
			"reference_doctype",
			"date_field",
			"person_field",
			"offset_days",
			"condition",
			"last_swept_until",
		],
	)


def sweep(sequence, now) -> int:
	"""Enrol what this sequence's trigger says is due since its last pass."""
	if sequence.trigger == "Birthday":
		if sequence.last_swept_until and getdate(sequence.last_swept_until) >= now.date():
			return 0  # once a day
		people = birthdays_today(sequence.birthday_of, now.date())
		count = enrol_all(sequence, people, now, key=lambda p: f"{p[0]}|{p[1]}|{now.year}")
		mark_swept(sequence.name, now)
		return count
	if sequence.trigger == "Inquiry Stalled":
		after, until = drip.stalled_window(sequence.last_swept_until, now, cint(sequence.stalled_days))
		statuses = lead_statuses(sequence)
		# The trigger fires when the inquiry has been unchanged for the days asked: modified + days.
		stalled = timedelta(days=cint(sequence.stalled_days))
		people = [
			("Lead", name, "Lead", name, modified + stalled)
			for name, modified in frappe.db.sql(
				"""select name, modified from `tabLead`
				where modified > %s and modified <= %s and status in %s""",
				(after, until, statuses),
			)
		]
		if sequence.include_opportunities:
			people += [
				(kind, party, "Opportunity", name, modified + stalled)
				for name, kind, party, modified in frappe.db.sql(
					"""select name, opportunity_from, party_name, modified from `tabOpportunity`
					where modified > %s and modified <= %s and status = 'Open'""",
					(after, until),
				)
			]
		count = enrol_all(sequence, people, now, key=lambda p: f"{p[2]}|{p[3]}")
		mark_swept(sequence.name, until)
		return count
	if sequence.trigger == "Date Field":
		after, until = drip.date_window(
			getdate(sequence.last_swept_until) if sequence.last_swept_until else None,
			now.date(),
			sequence.offset_days or 0,
		)
		if after >= until:
			return 0  # this day's dates were looked at already
		count = enrol_all(
			sequence, dated_documents(sequence, after, until), now, key=lambda p: f"{p[2]}|{p[3]}"
		)
		mark_swept(sequence.name, until)
		return count
	return 0  # Project Completed and Ad Referral enrol from their documents


def mark_swept(sequence: str, until) -> None:
	frappe.db.set_value("Drip Sequence", sequence, "last_swept_until", until, update_modified=False)


def birthdays_today(birthday_of: str, today) -> list[tuple]:
	"""(person type, person, trigger type, trigger document) of everyone whose birthday is today
	(29 February birthdays on 28 February in other years)."""
	days = drip.birthdays_on(today)
	doctypes = {"Customers": ["Customer"], "Contacts": ["Contact"]}.get(birthday_of, ["Customer", "Contact"])
	people = []
	for doctype in doctypes:
		condition = " or ".join(f"(month(birthday) = {int(m)} and day(birthday) = {int(d)})" for m, d in days)
		disabled = " and disabled = 0" if doctype == "Customer" else ""
		people += [
			(doctype, name, doctype, name)
			for name in frappe.db.sql(
				f"select name from `tab{doctype}` where birthday is not null and ({condition}){disabled}",
				pluck=True,
			)
		]
	return people


def dated_documents(sequence, after, until) -> list[tuple]:
	"""Documents of the sequence's type whose date is in (after, until] (the dates that fell due,
	the offset counted), that meet its condition."""
	doctype = sequence.reference_doctype
	meta = frappe.get_meta(doctype)
	if not meta.has_field(sequence.date_field):
		frappe.throw(_("{0} has no field {1}").format(doctype, sequence.date_field))
	person_field = sequence.person_field or PERSON_FIELDS.get(doctype)
	filters = {sequence.date_field: ("between", (add_days(after, 1), until))}
	if meta.is_submittable:
		filters["docstatus"] = 1
	found = []
	for name in frappe.get_all(doctype, filters=filters, pluck="name"):
		doc = frappe.get_doc(doctype, name)
		if sequence.condition and not frappe.safe_eval(sequence.condition, None, condition_names(doc)):
			continue
		person = doc.get(person_field) if person_field != "name" else doc.name
		kind = person_doctype(doc, person_field)
		if person and kind:
			found.append((kind, person, doctype, name))
	return found


def condition_problem(sequence) -> str | None:
	"""Why the sequence's condition cannot be used, checked when the sequence is saved: it must
	compile under Frappe's safe_eval, and evaluate on the newest document of its type (when there
	is one), so that a typo is refused on the form instead of failing every minute."""
	condition = (sequence.condition or "").strip()
	if not condition:
		return None
	try:
		compile_restricted_eval_or_raise(condition)
	except SyntaxError as e:
		return _("The condition is not an expression Frappe can evaluate: {0}").format(e.msg or e)
	doctype = sequence.reference_doctype
	if not doctype or not frappe.db.exists("DocType", doctype):
		return None
	newest = frappe.get_all(doctype, order_by="creation desc", limit=1, pluck="name")
	if not newest:
		return None
	try:
		frappe.safe_eval(condition, None, condition_names(frappe.get_doc(doctype, newest[0])))
	except Exception as e:
		return _("The condition fails on {0} {1}: {2}: {3}").format(doctype, newest[0], type(e).__name__, e)
	return None


def compile_restricted_eval_or_raise(condition: str) -> None:
	from RestrictedPython import compile_restricted_eval

	result = compile_restricted_eval(condition)
	if result.errors:
		raise SyntaxError("; ".join(result.errors))


def condition_names(doc) -> dict:
	"""What a sequence's condition may use: the document, and the few builtins a condition over
	its rows needs (``any(item.item_group == "Maternity" for item in doc.items)``)."""
	return {"doc": doc, "any": any, "all": all, "len": len}


def person_doctype(doc, person_field: str) -> str | None:
	if person_field == "name":
		return doc.doctype if doc.doctype in ("Customer", "Lead", "Contact") else None
	if doc.doctype in ("Quotation", "Opportunity"):
		return doc.get("quotation_to") or doc.get("opportunity_from")
	df = doc.meta.get_field(person_field)
	return df.options if df and df.fieldtype == "Link" else None


def lead_statuses(sequence) -> tuple[str, ...]:
	return tuple(s.strip() for s in (sequence.lead_statuses or "").splitlines() if s.strip()) or (
		"Lead",
		"Open",
		"Replied",
	)


# -- enrolment ---------------------------------------------------------------------------------
def enrol_all(sequence, people: list[tuple], now, key) -> int:
	"""Enrol each (person type, person, trigger type, trigger document[, trigger time]) that is in
	the sequence's audience and can be reached; ``key`` names the trigger instance."""
	people = in_audience(sequence.name, people)
	count = 0
	for person in people:
		if enrol(
			sequence.name, *person[:4], trigger_at=person[4] if len(person) > 4 else now, key=key(person)
		):
			count += 1
	return count


def enrol(
	sequence: str, contact_doctype: str, contact_name: str, reference_doctype: str, reference_name: str, *,
	trigger_at, key: str,
) -> str | None:  # fmt: skip
	"""One enrollment, unless this trigger instance enrolled the person already; returns its name."""
	address = address_of(contact_doctype, contact_name)
	if not address:
		return None  # nothing to send to: no enrollment that could only fail
	if frappe.db.exists("Drip Enrollment", {"sequence": sequence, "address": address, "status": "Active"}):
		return None  # two records of one person (duplicate leads): they get the sequence once
	steps = frappe.get_cached_doc("Drip Sequence", sequence).steps
	if not steps:
		return None
	first = to_step(steps[0])
	doc = frappe.get_doc(
		{
			"doctype": "Drip Enrollment",
			"sequence": sequence,
			"status": "Active",
			"contact_doctype": contact_doctype,
			"contact_name": contact_name,
			"person_name": display_name(contact_doctype, contact_name),
			"address": address,
			"reference_doctype": reference_doctype,
			"reference_name": reference_name,
			"trigger_at": trigger_at,
			"next_step": 1,
			"next_run_at": drip.run_at(first, trigger_at, trigger_at),
			"enrollment_key": f"{sequence}|{key}",
		}
	)
	# A plain row insert: a pass enrols hundreds (thousands when it catches up), the values are
	# the app's own, and the controller has nothing to run on insert. Document.insert would cost
	# about 20 ms each, and publish a realtime update that Frappe checks against every earlier one
	# of the transaction (quadratic time).
	doc.set_new_name()
	doc.set_user_and_timestamp()
	try:
		doc.db_insert()
	except (frappe.DuplicateEntryError, frappe.UniqueValidationError):
		return None  # this trigger enrolled the person already (MariaDB undoes only the insert)
	return doc.name


def in_audience(sequence: str, people: list[tuple]) -> list[tuple]:
	"""Only people in the sequence's segments (when it has any), and not in its excluded ones."""
	rows = frappe.get_all(
		"WhatsApp Campaign Segment",
		filters={"parent": sequence, "parenttype": "Drip Sequence"},
		fields=["segment", "exclude"],
	)
	if not rows or not people:
		return people
	include = [r.segment for r in rows if not r.exclude] or None
	exclude = [r.segment for r in rows if r.exclude]
	if not include:
		return people
	audience = build_audience(include, exclude, marketing=False)
	members = set(
		frappe.db.sql(
			f"""select concat(a.contact_doctype, ':', a.contact_name) from ({audience.sql}) a
			where a.contact_name in %(candidates)s""",
			{**audience.params, "candidates": [p[1] for p in people]},
			pluck=True,
		)
	)
	return [p for p in people if f"{p[0]}:{p[1]}" in members]


def address_of(contact_doctype: str, contact_name: str) -> str | None:
	"""Where the person's messages go: their number, or a business-scoped user ID on record."""
	if contact_doctype in ("Customer", "Contact", "Lead"):
		number = frappe.db.get_value(contact_doctype, contact_name, "whatsapp_number")
		if number:
			return number
		field = {"Customer": "customer", "Contact": "contact", "Lead": "lead"}[contact_doctype]
		return frappe.db.get_value(
			"WhatsApp Consent", {field: contact_name, "phone": ("is", "not set")}, "name"
		)
	return None


def trigger_left(sequence, enrollment) -> str | None:
	"""Why the trigger no longer holds (a stalled inquiry that moved on), or None."""
	if sequence.trigger != "Inquiry Stalled":
		return None
	if enrollment.reference_doctype == "Lead":
		status = frappe.db.get_value("Lead", enrollment.reference_name, "status")
		if status not in lead_statuses(sequence):
			return _("The lead is now {0}").format(status)
	elif enrollment.reference_doctype == "Opportunity":
		status = frappe.db.get_value("Opportunity", enrollment.reference_name, "status")
		if status != "Open":
			return _("The opportunity is now {0}").format(status)
	return None


def to_step(row) -> drip.Step:
	return drip.Step(
		wait=cint(row.wait),
		unit=row.wait_unit or "Days",
		after="Trigger" if row.wait_after == "Trigger" else "Previous Step",
		at_time=drip.parse_time_of_day(row.send_at) if row.send_at else None,
		skip_if_booked=bool(row.skip_if_booked),
	)


# -- ending ------------------------------------------------------------------------------------
def finish(enrollment: str) -> int:
	frappe.db.set_value("Drip Enrollment", enrollment, {"status": "Completed", "next_run_at": None})
	return 0


def stop(enrollment: str, reason: str, detail: str | None = None, **links) -> int:
	"""Stop an enrollment with its reason; its messages not yet handed to Meta are not sent."""
	frappe.db.set_value(
		"Drip Enrollment",
		enrollment,
		{
			"status": "Stopped",
			"stop_reason": reason,
			"stop_detail": detail,
			"stopped_at": now_datetime(),
			"next_run_at": None,
			**links,
		},
	)
	frappe.db.sql(
		"""update `tabWhatsApp Message` set status='Skipped', error_title=%s, modified=%s
		where drip_enrollment=%s and status='Pending'""",
		(_("Sequence stopped: {0}").format(_(reason).lower()), now_datetime(), enrollment),
	)
	return 0


def active_enrollments(
	address: str | None = None, person: tuple | None = None, started_by: str | None = None
) -> list[str]:
	"""The person's active enrollments, but those the message ``started_by`` started."""
	conditions, params = [], {"started_by": started_by}
	if address:
		conditions.append("address = %(address)s")
		params["address"] = address
	if person:
		conditions.append("(contact_doctype = %(doctype)s and contact_name = %(name)s)")
		params.update(doctype=person[0], name=person[1])
	if not conditions:
		return []
	return frappe.db.sql(
		f"""select name from `tabDrip Enrollment` where status='Active' and ({" or ".join(conditions)})
		and not (reference_doctype = 'WhatsApp Message' and reference_name <=> %(started_by)s)""",
		params,
		pluck=True,
	)


def on_opt_out(consent) -> None:
	"""Hook whatsapp_opted_out: a consent record turned Opted Out, and every active sequence of
	the person stops."""
	person = next(
		(
			(doctype, consent.get(field))
			for doctype, field in (("Customer", "customer"), ("Contact", "contact"), ("Lead", "lead"))
			if consent.get(field)
		),
		None,
	)
	for address in {consent.phone, consent.user_id} - {None, ""}:
		for enrollment in active_enrollments(address, person):
			stop(enrollment, "Opted Out", _("Opted out ({0})").format(consent.opt_out_source or ""))


def on_sales_order_submit(doc, method=None) -> None:
	"""doc_events: a booking ends the customer's sequences whose next step says "skip if booked"."""
	for enrollment in frappe.get_all(
		"Drip Enrollment",
		filters={"status": "Active", "contact_doctype": "Customer", "contact_name": doc.customer},
		fields=["name", "sequence", "next_step"],
	):
		skip = frappe.db.get_value(
			"Drip Step", {"parent": enrollment.sequence, "idx": enrollment.next_step}, "skip_if_booked"
		)
		if skip:
			stop(enrollment.name, "Booked", _("Booked {0}").format(doc.name), booking=doc.name)


def on_project_update(doc, method=None) -> None:
	"""doc_events: a Project that becomes Completed enrols its customer (once per project)."""
	if doc.status != "Completed" or not doc.customer:
		return
	before = doc.get_doc_before_save()
	if before and before.status == "Completed":
		return
	for sequence in frappe.get_all(
		"Drip Sequence",
		filters={"enabled": 1, "status": "Active", "trigger": "Project Completed"},
		pluck="name",
	):
		people = in_audience(sequence, [("Customer", doc.customer, "Project", doc.name)])
		for person in people:
			enrol(sequence, *person, trigger_at=now_datetime(), key=f"Project|{doc.name}")


def on_ad_referral(doc, method=None) -> None:
	"""doc_events of WhatsApp Ad Referral: someone who wrote from an ad is enrolled in the "Ad
	Referral" sequences of that ad or of any ad, once per number and ad. The enrollment's
	document is their message, which is how the reply check knows that this message started it
	rather than answered it."""
	if not doc.contact_name:
		return
	for sequence in frappe.get_all(
		"Drip Sequence",
		filters={"enabled": 1, "status": "Active", "trigger": "Ad Referral"},
		or_filters=[["ad", "is", "not set"], ["ad", "=", doc.ad]],
		pluck="name",
	):
		people = in_audience(
			sequence, [(doc.contact_doctype, doc.contact_name, "WhatsApp Message", doc.message)]
		)
		for person in people:
			enrol(
				sequence,
				*person,
				trigger_at=doc.received_at or now_datetime(),
				# By number: the Lead's Contact, which ERPNext makes with it, is who writes next time.
				key=f"Ad|{doc.ad}|{doc.phone or doc.user_id or doc.contact_name}",
			)


def on_inquiry_update(doc, method=None) -> None:
	"""doc_events of Lead and Opportunity: leaving the stalled statuses ends the enrollment now."""
	for enrollment in frappe.get_all(
		"Drip Enrollment",
		filters={"status": "Active", "reference_doctype": doc.doctype, "reference_name": doc.name},
		fields=["name", "sequence", "reference_doctype", "reference_name"],
	):
		sequence = frappe.get_cached_doc("Drip Sequence", enrollment.sequence)
		reason = trigger_left(sequence, enrollment)
		if reason:
			stop(enrollment.name, "Left Trigger Condition", reason)
