# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

import frappe
from frappe.model.document import Document
from frappe.utils import now_datetime

from marketing_engine.engine.consent import DEFAULT_OPT_OUT_BUTTON_TEXTS, keywords
from marketing_engine.engine.templates import Button, TemplateSpec


class WhatsAppTemplate(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from marketing_engine.marketing_engine.doctype.whatsapp_template_button.whatsapp_template_button import (
			WhatsAppTemplateButton,
		)

		account: DF.Link
		body: DF.SmallText
		buttons: DF.Table[WhatsAppTemplateButton]
		category: DF.Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
		footer: DF.Data | None
		header_format: DF.Literal["NONE", "TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"]
		header_text: DF.Data | None
		language: DF.Data
		last_synced_at: DF.Datetime | None
		meta_template_id: DF.Data | None
		parameter_format: DF.Literal["POSITIONAL", "NAMED"]
		quality_rating: DF.Data | None
		status: DF.Literal["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED", "DELETED"]
		status_detail: DF.SmallText | None
		template_name: DF.Data
		variables: DF.Data | None

	# end: auto-generated types
	def validate(self):
		spec = self.to_spec()
		self.variables = ", ".join(spec.all_variables)
		opt_out_texts = keywords(
			frappe.db.get_single_value("Marketing Settings", "opt_out_button_texts"),
			DEFAULT_OPT_OUT_BUTTON_TEXTS,
		)
		for row, button in zip(self.buttons, spec.buttons, strict=True):
			row.url_variable = button.url_variable
			row.is_marketing_opt_out = int(button.is_marketing_opt_out(opt_out_texts))

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
				)
				for b in self.buttons
			],
			meta_id=self.meta_template_id,
		)


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
			"status": spec.status or "PENDING",
			"parameter_format": spec.parameter_format,
			"header_format": spec.header_format,
			"header_text": spec.header_text,
			"body": spec.body,
			"footer": spec.footer,
			"meta_template_id": spec.meta_id,
			"last_synced_at": now_datetime(),
		}
	)
	doc.set(
		"buttons",
		[
			{"button_type": b.type, "text": b.text, "url": b.url, "phone_number": b.phone_number}
			for b in spec.buttons
		],
	)
	doc.save(ignore_permissions=True)
	return doc.name
