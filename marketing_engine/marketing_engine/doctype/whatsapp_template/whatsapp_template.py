# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import now_datetime

from marketing_engine.channel import templates
from marketing_engine.engine.consent import DEFAULT_OPT_OUT_BUTTON_TEXTS, keywords
from marketing_engine.engine.templates import Button, TemplateSpec

# The Status and Button Type options of the DocType, as Meta names them.
STATUSES = (
	"DRAFT",
	"PENDING",
	"APPROVED",
	"REJECTED",
	"PAUSED",
	"DISABLED",
	"IN_APPEAL",
	"LIMIT_EXCEEDED",
	"PENDING_DELETION",
	"ARCHIVED",
	"DELETED",
)
BUTTON_TYPES = (
	"QUICK_REPLY",
	"URL",
	"PHONE_NUMBER",
	"COPY_CODE",
	"OTP",
	"FLOW",
	"CATALOG",
	"MPM",
	"SPM",
	"VOICE_CALL",
)


class WhatsAppTemplate(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from marketing_engine.marketing_engine.doctype.whatsapp_template_button.whatsapp_template_button import (
			WhatsAppTemplateButton,
		)
		from marketing_engine.marketing_engine.doctype.whatsapp_template_example.whatsapp_template_example import (
			WhatsAppTemplateExample,
		)

		account: DF.Link
		body: DF.SmallText
		buttons: DF.Table[WhatsAppTemplateButton]
		category: DF.Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
		created_in_desk: DF.Check
		edit_at_meta: DF.Check
		examples: DF.Table[WhatsAppTemplateExample]
		footer: DF.Data | None
		header_example: DF.Attach | None
		header_format: DF.Literal["NONE", "TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"]
		header_handle: DF.Data | None
		header_text: DF.Data | None
		language: DF.Data
		last_edited_at: DF.Datetime | None
		last_synced_at: DF.Datetime | None
		meta_template_id: DF.Data | None
		parameter_format: DF.Literal["POSITIONAL", "NAMED"]
		quality_rating: DF.Data | None
		status: DF.Literal[
			"DRAFT",
			"PENDING",
			"APPROVED",
			"REJECTED",
			"PAUSED",
			"DISABLED",
			"IN_APPEAL",
			"LIMIT_EXCEEDED",
			"PENDING_DELETION",
			"ARCHIVED",
			"DELETED",
		]
		status_detail: DF.SmallText | None
		submitted_at: DF.Datetime | None
		submitted_by: DF.Link | None
		template_name: DF.Data
		variables: DF.Data | None

	# end: auto-generated types
	def validate(self):
		if self.is_new():
			self.refuse_a_second_record()
		if self.status == "DRAFT" or self.is_new():
			self.created_in_desk = self.created_in_desk or int(self.status == "DRAFT")
		elif any(self.has_value_changed(f) for f in ("template_name", "language", "account")):
			frappe.throw(_("Meta does not rename templates: duplicate it under the new name or language."))
		spec = self.to_spec()
		self.variables = ", ".join(spec.all_variables)
		self.set_example_rows(spec.all_variables)
		opt_out_texts = keywords(
			frappe.db.get_single_value("Marketing Settings", "opt_out_button_texts"),
			DEFAULT_OPT_OUT_BUTTON_TEXTS,
		)
		for row, button in zip(self.buttons, spec.buttons, strict=True):
			row.url_variable = button.url_variable
			row.is_marketing_opt_out = int(button.is_marketing_opt_out(opt_out_texts))

	def refuse_a_second_record(self) -> None:
		"""One record per template at Meta (account, name, language), with the reason in words."""
		existing = frappe.db.get_value(
			"WhatsApp Template",
			{"account": self.account, "template_name": self.template_name, "language": self.language},
			["name", "status"],
			as_dict=True,
		)
		if not existing:
			return
		if existing.status == "DELETED":
			frappe.throw(
				_(
					"{0} in {1} was deleted at Meta, which keeps a deleted template's name for 30 days: "
					"choose another name."
				).format(self.template_name, self.language),
				title=_("Name held by Meta"),
			)
		frappe.throw(
			_("{0} already exists in {1} for {2}: open {3}.").format(
				self.template_name, self.language, self.account, existing.name
			),
			frappe.DuplicateEntryError,
		)

	def before_save(self):
		edit = self.edit_at_meta
		self.edit_at_meta = 0
		if self.flags.from_meta or self.is_new() or not self.meta_template_id or not self.content_changed():
			return
		if not edit:
			frappe.throw(
				_(
					"Meta has this template: saving the change sends it to Meta for review. Save again "
					"from the form and confirm, or duplicate the template instead."
				),
				title=_("The change goes to Meta"),
			)
		templates.edit_at_meta(self)

	def content_changed(self) -> bool:
		before = self.get_doc_before_save()
		if not before:
			return False
		return before.to_spec().to_meta()["components"] != self.to_spec().to_meta()["components"] or any(
			before.get(f) != self.get(f) for f in ("category", "header_example")
		)

	def set_example_rows(self, variables: list[str]) -> None:
		"""One example row per variable, in order; an example already written is kept."""
		kept = {row.variable: row.example for row in self.examples}
		self.set("examples", [{"variable": v, "example": kept.get(v)} for v in variables])

	def to_spec(self) -> TemplateSpec:
		return TemplateSpec(
			name=self.template_name,
			language=self.language,
			category=self.category,
			status=self.status,
			parameter_format=self.parameter_format or "POSITIONAL",
			header_format=self.header_format or "NONE",
			header_text=self.header_text,
			body=self.body or "",
			footer=self.footer,
			buttons=[
				Button(
					type=(b.button_type or "").upper(),
					text=b.text or "",
					url=b.url,
					phone_number=b.phone_number,
					example=b.example,
				)
				for b in self.buttons
			],
			meta_id=self.meta_template_id,
			examples={row.variable: row.example for row in self.examples if row.example},
			header_handle=self.header_handle,
		)

	# -- from the form -------------------------------------------------------------------------
	@frappe.whitelist()
	def check_rules(self) -> dict:
		"""Meta's rules this (possibly unsaved) template breaks, and its preview, for the form."""
		self.check_permission("read")
		spec = self.to_spec()
		self.variables = ", ".join(spec.all_variables)
		self.set_example_rows(spec.all_variables)
		return {
			"problems": templates.problems(self),
			"preview": templates.preview(self),
			"examples": [{"variable": r.variable, "example": r.example} for r in self.examples],
		}

	@frappe.whitelist(methods=["POST"])
	def submit_to_meta(self) -> dict:
		self.check_permission("write")
		templates.submit(self)
		return {"status": self.status, "meta_template_id": self.meta_template_id}

	@frappe.whitelist(methods=["POST"])
	def delete_at_meta(self) -> None:
		self.check_permission("write")
		templates.delete_at_meta(self)

	@frappe.whitelist(methods=["POST"])
	def duplicate(self, language: str, template_name: str | None = None) -> str:
		self.check_permission("read")
		frappe.has_permission("WhatsApp Template", "create", throw=True)
		return templates.duplicate(self, language, template_name)


def upsert_template(account: str, spec: TemplateSpec) -> str:
	"""Create or update the WhatsApp Template for ``spec`` of ``account``; returns its name."""
	name = frappe.db.get_value(
		"WhatsApp Template", {"account": account, "template_name": spec.name, "language": spec.language}
	)
	doc = frappe.get_doc("WhatsApp Template", name) if name else frappe.new_doc("WhatsApp Template")
	doc.update(
		{
			"account": account,
			"template_name": spec.name,
			"language": spec.language,
			"category": spec.category
			if spec.category in ("MARKETING", "UTILITY", "AUTHENTICATION")
			else "UTILITY",
			"status": status_of(spec.status),
			"parameter_format": spec.parameter_format,
			"header_format": spec.header_format,
			"header_text": spec.header_text,
			"body": spec.body,
			"footer": spec.footer,
			"meta_template_id": spec.meta_id,
			"header_handle": spec.header_handle or doc.header_handle,
			"last_synced_at": now_datetime(),
		}
	)
	doc.set(
		"buttons",
		[
			{
				"button_type": b.type if b.type in BUTTON_TYPES else "OTHER",
				"text": b.text,
				"url": b.url,
				"phone_number": b.phone_number,
				"example": b.example,
			}
			for b in spec.buttons
		],
	)
	written = {row.variable: row.example for row in doc.examples}
	doc.set(
		"examples",
		[{"variable": v, "example": spec.examples.get(v) or written.get(v)} for v in spec.all_variables],
	)
	doc.flags.from_meta = True
	doc.save(ignore_permissions=True)
	return doc.name


def status_of(meta_status: str | None) -> str:
	"""Meta's status as one of the form's; a status Meta adds later reads as PENDING (not usable)."""
	status = (meta_status or "PENDING").upper()
	return status if status in STATUSES and status != "DRAFT" else "PENDING"
