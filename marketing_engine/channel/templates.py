"""Templates written in Desk: checked against Meta's rules, submitted, edited and deleted at Meta,
duplicated into other languages, started from the library's drafts.

Meta's review answers later, by webhook: :mod:`.health` applies the status (APPROVED, REJECTED
with Meta's reason, PAUSED ...) and a category Meta changed, and tells the template's author.
"""

import mimetypes

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime

from marketing_engine import desk
from marketing_engine.channel import signals
from marketing_engine.engine import errors
from marketing_engine.engine.template_library import library
from marketing_engine.engine.template_rules import check_template
from marketing_engine.engine.templates import MEDIA_HEADER_FORMATS, render

# Statuses of a template that Meta lets a business edit (name and language never change).
EDITABLE_AT_META = ("APPROVED", "REJECTED", "PAUSED")
# What a template's content is made of: a change to any of these on a template Meta has is an edit.
CONTENT_FIELDS = ("category", "parameter_format", "header_format", "header_text", "body", "footer")


def problems(template) -> list[dict]:
	"""Meta's rules that ``template`` breaks, each on its field: ``[{"field", "message"}]``."""
	spec = template.to_spec()
	has_example = bool(template.header_handle or template.header_example)
	return [
		{"field": p.field, "message": p.message} for p in check_template(spec, has_header_example=has_example)
	]


def preview(template) -> dict:
	"""The message as a WhatsApp bubble shows it, with the examples filled in."""
	spec = template.to_spec()
	examples = {row.variable: row.example for row in template.examples if row.example}
	return {
		"header_format": spec.header_format,
		"header": render(spec.header_text, examples) if spec.header_format == "TEXT" else None,
		"header_example": template.header_example,
		"body": render(spec.body, examples),
		"footer": spec.footer,
		"buttons": [{"type": b.type, "text": b.text} for b in spec.buttons],
	}


def throw_problems(template, found: list[dict]) -> None:
	labels = {df.fieldname: _(df.label) for df in template.meta.fields}
	lines = "".join(
		f"<li><b>{labels.get(p['field'], p['field'])}</b>: {frappe.utils.escape_html(p['message'])}</li>"
		for p in found
	)
	frappe.throw(
		_("Meta would reject this template:") + f"<ul>{lines}</ul>", title=_("Fix the template first")
	)


def submit(template) -> None:
	"""Send a draft to Meta for review: it becomes PENDING with Meta's id."""
	if template.meta_template_id:
		frappe.throw(_("Meta already has this template: save your changes to edit it there."))
	found = problems(template)
	if found:
		throw_problems(template, found)
	account = frappe.get_doc("WhatsApp Account", template.account)
	upload_header_example(template, account)
	try:
		created = account.get_client().create_template(template.to_spec())
	except errors.MetaError as e:
		frappe.throw(_("Meta refused the template: {0}").format(str(e)), title=_("Not submitted"))
	template.meta_template_id = created.meta_id
	template.status = (created.status or "PENDING").upper()
	if created.category and created.category.upper() != template.category:
		template.status_detail = _("Meta filed it as {0}, not {1}.").format(
			created.category, template.category
		)
		template.category = created.category.upper()
	else:
		template.status_detail = _("Submitted to Meta for review.")
	template.submitted_at = now_datetime()
	template.submitted_by = frappe.session.user
	template.flags.from_meta = True
	template.save()
	desk.done(desk.TEMPLATES)


def edit_at_meta(template) -> None:
	"""Send a changed template Meta already has; it goes back to review (called from before_save)."""
	if template.get_db_value("status") not in EDITABLE_AT_META:
		frappe.throw(
			_("Meta edits only approved, rejected or paused templates; this one is {0}.").format(
				(template.get_db_value("status") or "").lower()
			)
		)
	if template.has_value_changed("category") and template.get_db_value("status") == "APPROVED":
		frappe.throw(_("Meta does not let an approved template change its category: duplicate it instead."))
	found = problems(template)
	if found:
		throw_problems(template, found)
	account = frappe.get_doc("WhatsApp Account", template.account)
	if template.has_value_changed("header_example"):
		template.header_handle = None
	upload_header_example(template, account)
	try:
		account.get_client().edit_template(template.meta_template_id, template.to_spec())
	except errors.MetaError as e:
		frappe.throw(_("Meta refused the edit: {0}").format(str(e)), title=_("Not edited"))
	template.status = "PENDING"
	template.status_detail = _("Edited: Meta reviews the change; campaigns wait until it is approved.")
	template.last_edited_at = now_datetime()


def upload_header_example(template, account) -> None:
	"""A media header's example goes to Meta through the Resumable Upload API, once."""
	if template.header_format not in MEDIA_HEADER_FORMATS or template.header_handle:
		return
	if not template.header_example:
		return  # the rules have said so
	file = frappe.get_doc("File", {"file_url": template.header_example})
	content = file.get_content()
	mime_type = (
		mimetypes.guess_type(file.file_name or template.header_example)[0] or "application/octet-stream"
	)
	app_id = account.meta_app_id or frappe.db.get_single_value("Marketing Settings", "meta_app_id")
	if not app_id:
		frappe.throw(
			_("Uploading the header example needs the Meta App ID of account {0}.").format(account.name)
		)
	try:
		template.header_handle = account.get_client().upload_example(
			app_id, content, mime_type, file.file_name or "example"
		)
	except errors.MetaError as e:
		frappe.throw(_("Meta did not take the header example: {0}").format(str(e)))


def delete_at_meta(template) -> None:
	"""Delete at Meta (this language only); refused while a campaign or a sequence relies on it."""
	users = signals.template_users(template.name)
	if users:
		frappe.throw(
			_("{0} is still used: {1}. Finish, cancel or change those first.").format(
				template.template_name, "; ".join(users)
			),
			title=_("Not deleted"),
		)
	if template.meta_template_id and template.status not in ("DELETED", "PENDING_DELETION"):
		account = frappe.get_doc("WhatsApp Account", template.account)
		try:
			account.get_client().delete_template(template.template_name, template.meta_template_id)
		except errors.MetaError as e:
			frappe.throw(_("Meta refused to delete it: {0}").format(str(e)), title=_("Not deleted"))
	template.status = "DELETED"
	template.status_detail = _("Deleted at Meta by {0}. Meta keeps the name for 30 days.").format(
		frappe.session.user
	)
	template.flags.from_meta = True
	template.save()


def duplicate(template, language: str, template_name: str | None = None) -> str:
	"""A draft copy in another language (to translate) or under another name; returns its name."""
	copy = frappe.copy_doc(template)
	copy.language = (language or "").strip()
	copy.template_name = (template_name or template.template_name).strip()
	for field in ("meta_template_id", "submitted_at", "submitted_by", "last_edited_at", "quality_rating"):
		copy.set(field, None)
	copy.status = "DRAFT"
	copy.status_detail = _("Copied from {0}.").format(template.name)
	copy.created_in_desk = 1
	if frappe.db.exists(
		"WhatsApp Template",
		{"account": copy.account, "template_name": copy.template_name, "language": copy.language},
	):
		frappe.throw(_("{0} already exists in {1}.").format(copy.template_name, copy.language))
	copy.insert()
	return copy.name


def library_drafts() -> list[dict]:
	return [
		{"key": d.key, "title": d.title, "use": d.use, "name": d.spec.name, "sequence": d.sequence}
		for d in library(get_url())
	]


def add_from_library(key: str, account: str) -> str:
	"""A library draft as a WhatsApp Template of ``account``, ready to submit; an existing one
	(same name and language) is returned as it is."""
	draft = next((d for d in library(get_url()) if d.key == key), None)
	if not draft:
		frappe.throw(_("The library has no draft {0}.").format(key))
	spec = draft.spec
	existing = frappe.db.get_value(
		"WhatsApp Template", {"account": account, "template_name": spec.name, "language": spec.language}
	)
	if existing:
		return existing
	doc = frappe.new_doc("WhatsApp Template")
	doc.update(
		{
			"account": account,
			"template_name": spec.name,
			"language": spec.language,
			"category": spec.category,
			"status": "DRAFT",
			"parameter_format": spec.parameter_format,
			"header_format": spec.header_format,
			"header_text": spec.header_text,
			"body": spec.body,
			"footer": spec.footer,
			"created_in_desk": 1,
			"status_detail": _("From the library: {0}.").format(draft.use),
		}
	)
	for b in spec.buttons:
		doc.append(
			"buttons",
			{
				"button_type": b.type,
				"text": b.text,
				"url": b.url,
				"phone_number": b.phone_number,
				"example": b.example,
			},
		)
	for variable in spec.all_variables:
		doc.append("examples", {"variable": variable, "example": spec.examples.get(variable)})
	doc.insert()
	return doc.name
