"""The template library on the WhatsApp Template list: ready-made drafts a studio submits."""

import frappe

from marketing_engine.channel import templates


@frappe.whitelist()
def library() -> dict:
	frappe.has_permission("WhatsApp Template", "read", throw=True)
	return {
		"drafts": templates.library_drafts(),
		"default_account": frappe.db.get_single_value("Marketing Settings", "default_business_account"),
	}


@frappe.whitelist(methods=["POST"])
def add_from_library(key: str, account: str, submit: int | str = 0) -> dict:
	"""The draft as a template of ``account``; with ``submit``, sent to Meta at once when it meets
	Meta's rules (a media header still needs the studio's own picture: it stays a draft)."""
	frappe.has_permission("WhatsApp Template", "create", throw=True)
	frappe.has_permission("WhatsApp Account", "read", doc=account, throw=True)
	name = templates.add_from_library(key, account)
	doc = frappe.get_doc("WhatsApp Template", name)
	problems = templates.problems(doc)
	submitted = False
	if frappe.utils.cint(submit) and doc.status == "DRAFT" and not problems:
		doc.check_permission("write")
		templates.submit(doc)
		submitted = True
	return {"name": name, "submitted": submitted, "status": doc.status, "problems": problems}


@frappe.whitelist(methods=["POST"])
def check_rules(doc: str | dict) -> dict:
	"""Meta's rules the template being written breaks, its preview and its example rows. The form
	sends its unsaved document and reads the answer without it being synced back: a slow answer
	must not undo what was typed meanwhile."""
	frappe.has_permission("WhatsApp Template", "read", throw=True)
	values = frappe.parse_json(doc)
	values["doctype"] = "WhatsApp Template"
	return frappe.get_doc(values).check_rules()
