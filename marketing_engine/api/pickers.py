"""Link pickers that offer only what can be used where they are."""

import frappe


def check_can_pick() -> None:
	"""The pickers list templates with their account's name (a field of the template), so reading
	templates is what they need; a portal user or a role without it is refused."""
	frappe.has_permission("WhatsApp Template", "read", throw=True)


@frappe.whitelist()
@frappe.validate_and_sanitize_search_inputs
def templates(doctype: str, txt: str, searchfield: str, start: int, page_len: int, filters: dict):
	"""Approved templates of ``filters["category"]`` on accounts of ``filters["purpose"]``: a
	campaign takes the Business account's MARKETING templates, the booking confirmation the System
	account's UTILITY ones. Each is shown with its account, since every account has its own copy."""
	check_can_pick()
	return frappe.db.sql(
		"""select t.name, t.template_name, t.language, t.account
		from `tabWhatsApp Template` t join `tabWhatsApp Account` a on a.name = t.account
		where t.status = 'APPROVED' and t.category = %(category)s and a.purpose = %(purpose)s
			and a.enabled = 1 and (t.template_name like %(txt)s or t.name like %(txt)s)
		order by t.template_name, t.account
		limit %(page_len)s offset %(start)s""",
		{
			"category": filters.get("category") or "MARKETING",
			"purpose": filters.get("purpose") or "Business",
			"txt": f"%{txt}%",
			"page_len": page_len,
			"start": start,
		},
	)


@frappe.whitelist()
@frappe.validate_and_sanitize_search_inputs
def usable_templates(doctype: str, txt: str, searchfield: str, start: int, page_len: int, filters: dict):
	"""Approved templates that routing can send: MARKETING ones of a Business account, the other
	categories of a System account (a drip step may be either)."""
	check_can_pick()
	return frappe.db.sql(
		"""select t.name, t.template_name, t.category, t.account
		from `tabWhatsApp Template` t join `tabWhatsApp Account` a on a.name = t.account
		where t.status = 'APPROVED' and a.enabled = 1
			and (t.category = 'MARKETING') = (a.purpose = 'Business')
			and (t.template_name like %(txt)s or t.name like %(txt)s)
		order by t.template_name, t.account
		limit %(page_len)s offset %(start)s""",
		{"txt": f"%{txt}%", "page_len": page_len, "start": start},
	)
