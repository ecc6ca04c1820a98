"""Static segment members from a CSV upload: validate, keep the good rows, report the bad ones.

Rows are matched to existing Customers, Contacts and Leads by their E.164 number. Rows that match
nothing stay list members (they are not turned into Leads: a list from an expo is not yet a sales
conversation, and the studio can still create Leads from the member list). A row that says the
person agreed to WhatsApp marketing records an opt-in with source CSV, unless that number opted
out before: a paper form from an expo never overrides a STOP.
"""

import frappe
from frappe import _
from frappe.utils import now_datetime

from marketing_engine.engine.audience_csv import CsvFormatError, parse_members, report_csv
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

REPORT_ROWS_SHOWN = 200


def import_csv(segment, raw: bytes) -> dict:
	opted_in = set(frappe.get_all("WhatsApp Consent", filters={"status": "Opted In"}, pluck="name"))
	try:
		report = parse_members(raw, get_settings().region_code, consented_numbers=opted_in)
	except CsvFormatError as e:
		frappe.throw(str(e), title=_("CSV cannot be imported"))

	now = now_datetime()
	frappe.db.delete("Segment Member", {"segment": segment.name})
	members = [
		(
			frappe.generate_hash(length=12),
			now,
			now,
			frappe.session.user,
			frappe.session.user,
			segment.name,
			row.name,
			row.phone,
			row.region,
			row.email,
			row.city,
			", ".join(row.tags),
			row.line,
			row.line_type,
			", ".join(row.warnings),
		)
		for row in report.rows
	]
	frappe.db.bulk_insert(
		"Segment Member",
		[
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"segment",
			"member_name",
			"phone",
			"region",
			"email",
			"city",
			"tags",
			"csv_line",
			"line_type",
			"warnings",
		],
		members,
		chunk_size=5000,
	)
	_match_records(segment.name)
	ignored_consent = _record_csv_consent([row for row in report.rows if row.consent], now)

	counts = report.counts_by_kind()
	warnings = report.warning_counts_by_kind()
	summary = _("{0} members kept from {1} rows; {2} rejected").format(
		len(report.rows), report.total_lines, len(report.errors)
	)
	if counts:
		summary += " (" + _counted(counts) + ")"
	if warnings:
		summary += _("; {0} warnings ({1})").format(len(report.warnings), _counted(warnings))
	if ignored_consent:
		summary += _("; CSV consent ignored for {0} numbers that opted out before").format(ignored_consent)
	segment.db_set(
		{
			"member_count": len(report.rows),
			"import_summary": summary,
			"import_warnings": len(report.warnings),
			"import_report": _save_report(segment, report),
		}
	)
	return {
		"summary": summary,
		"kept": len(report.rows),
		"rejected": len(report.errors),
		"counts": counts,
		"warning_counts": warnings,
		"errors": _lines(report.errors),
		"warnings": _lines(report.warnings),
		"errors_not_shown": max(0, len(report.errors) - REPORT_ROWS_SHOWN),
		"warnings_not_shown": max(0, len(report.warnings) - REPORT_ROWS_SHOWN),
	}


def _counted(counts: dict[str, int]) -> str:
	return ", ".join(f"{kind.replace('_', ' ')}: {n}" for kind, n in sorted(counts.items()))


def _lines(entries) -> list[dict]:
	return [
		{"line": e.line, "kind": e.kind, "reason": e.reason, "raw": e.raw}
		for e in entries[:REPORT_ROWS_SHOWN]
	]


def _save_report(segment, report) -> str | None:
	"""The line-by-line report as a private CSV attached to the segment, so it outlives the
	dialog; the previous import's report goes."""
	for old in frappe.get_all(
		"File",
		filters={
			"attached_to_doctype": "Segment",
			"attached_to_name": segment.name,
			"attached_to_field": "import_report",
		},
		pluck="name",
	):
		frappe.delete_doc("File", old, ignore_permissions=True)
	if not (report.errors or report.warnings):
		return None
	file = frappe.get_doc(
		{
			"doctype": "File",
			"file_name": f"{frappe.scrub(segment.name)}-import-report.csv",
			"attached_to_doctype": "Segment",
			"attached_to_name": segment.name,
			"attached_to_field": "import_report",
			"is_private": 1,
			"content": report_csv(report),
		}
	).insert(ignore_permissions=True)
	return file.file_url


def _match_records(segment: str) -> None:
	for doctype, field in (("Customer", "customer"), ("Contact", "contact"), ("Lead", "lead")):
		frappe.db.sql(
			f"""update `tabSegment Member` m
			join (select whatsapp_number, min(name) as name from `tab{doctype}`
				where ifnull(whatsapp_number, '') != '' group by whatsapp_number) r
			on r.whatsapp_number = m.phone
			set m.{field} = r.name where m.segment = %s""",
			segment,
		)


def _record_csv_consent(rows, at) -> int:
	"""Opt-ins from the CSV in bulk; returns how many were ignored because of an earlier opt-out."""
	if not rows:
		return 0
	phones = [row.phone for row in rows]
	existing = {
		r.name: r.status
		for r in frappe.get_all(
			"WhatsApp Consent", filters={"name": ("in", phones)}, fields=["name", "status"], limit=0
		)
	}
	user = frappe.session.user
	new = [row for row in rows if row.phone not in existing]
	frappe.db.bulk_insert(
		"WhatsApp Consent",
		[
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"phone",
			"status",
			"marketing_opt_in",
			"opt_in_source",
			"opted_in_at",
		],
		[(r.phone, at, at, user, user, r.phone, "Opted In", 1, "CSV", at) for r in new],
		chunk_size=5000,
	)
	upgraded = [phone for phone, status in existing.items() if status == "No Consent"]
	if upgraded:
		frappe.db.sql(
			"""update `tabWhatsApp Consent` set status='Opted In', marketing_opt_in=1, opt_in_source='CSV',
			opted_in_at=%s, modified=%s where name in %s""",
			(at, at, upgraded),
		)
	frappe.db.bulk_insert(
		"WhatsApp Consent Log",
		[
			"name",
			"creation",
			"modified",
			"owner",
			"modified_by",
			"consent",
			"event",
			"source",
			"at",
			"detail",
		],
		[
			(
				frappe.generate_hash(length=12),
				at,
				at,
				user,
				user,
				phone,
				"Opt-in",
				"CSV",
				at,
				_("Segment CSV import"),
			)
			for phone in [r.phone for r in new] + upgraded
		],
		chunk_size=5000,
	)
	return sum(1 for status in existing.values() if status == "Opted Out")
