"""Audiences: who a segment or a campaign reaches, evaluated in SQL on live ERPNext data.

A dynamic segment is a condition on Customer, built from its rules (see
:mod:`marketing_engine.engine.segment_rules`). A static segment is its Segment Member rows. An
audience is the union of the included segments, less everyone in an excluded segment (by number,
or by record when there is no number). Every member then gets exactly one outcome:

- ``eligible``, or excluded because of ``no_number``, ``invalid_number``, ``duplicate`` (the
  number already came up for someone earlier), ``opted_out`` or ``no_consent`` (the last two only
  for marketing, which needs a recorded opt-in).

Counting, sampling and the campaign snapshot all read the same classified query, so the preview
and what is sent cannot disagree. Nothing is copied in advance: each use reads current data.
"""

from dataclasses import dataclass, field

import frappe
from frappe import _
from frappe.utils import add_days, cint, getdate, now_datetime, nowdate

from marketing_engine.channel.frequency_cap import keep_caps_current
from marketing_engine.channel.people import display_names
from marketing_engine.engine import phone, segment_rules
from marketing_engine.engine.segment_rules import Rule, RuleError
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings
from marketing_engine.roi.figures import SENT

REASONS = {
	"eligible": _("Eligible"),
	"no_number": _("No mobile number"),
	"invalid_number": _("Invalid mobile number"),
	"duplicate": _("Duplicate number"),
	"opted_out": _("Opted out of WhatsApp marketing"),
	"no_consent": _("No recorded WhatsApp marketing opt-in"),
	"landline": _("Fixed-line number"),
	"marketing_not_delivered": _("Market where Meta does not deliver marketing (US)"),
	"frequency_cap": _("Frequency cap reached"),
	"holdout": _("Holdout"),  # held back to measure the campaign (not an audience reason)
}
EXCLUSION_ORDER = (
	"no_number",
	"invalid_number",
	"duplicate",
	"opted_out",
	"no_consent",
	"landline",
	"marketing_not_delivered",
	"frequency_cap",
)
# Markets where Meta does not deliver marketing templates (US numbers since 1 April 2025); the
# same list the core's phone.marketing_warning uses.
NO_MARKETING_REGIONS = tuple(sorted(phone.MARKETING_NOT_DELIVERED_REGIONS))
TEMP_TABLE_BYTES = 128 * 1024 * 1024


@dataclass
class Audience:
	"""A parametrised query with the columns ``contact_doctype, contact_name, phone, region,
	reason`` (one row per member). ``phone`` is the address messages go to: the E.164 number, or
	Meta's business-scoped user ID for a person who shares no number."""

	sql: str
	params: dict = field(default_factory=dict)


@dataclass
class Preview:
	eligible: int
	excluded: dict[str, int]
	sample: list[dict]

	@property
	def total(self) -> int:
		return self.eligible + sum(self.excluded.values())

	def as_dict(self) -> dict:
		return {
			"eligible": self.eligible,
			"total": self.total,
			"excluded": [
				{"reason": r, "label": REASONS[r], "count": self.excluded.get(r, 0)}
				for r in EXCLUSION_ORDER
				if self.excluded.get(r)
			],
			"sample": self.sample,
		}


# -- segments ----------------------------------------------------------------------------------
def segment_members_sql(segment, params: dict, key: str) -> str:
	"""The members of one segment as ``contact_doctype, contact_name, has_number, phone, region``;
	``key`` keeps parameter names of several segments apart. Columns are cast narrow on purpose:
	the classification sorts every member in a temporary table, and MariaDB sizes its rows by the
	columns' declared widths."""
	if segment.segment_type == "Static":
		params[key] = segment.name
		return f"""select
				cast(case when ifnull(m.customer, '') != '' then 'Customer'
					when ifnull(m.contact, '') != '' then 'Contact'
					when ifnull(m.lead, '') != '' then 'Lead'
					else 'Segment Member' end as char(20)) as contact_doctype,
				coalesce(nullif(m.customer, ''), nullif(m.contact, ''), nullif(m.lead, ''), m.name) as contact_name,
				ifnull(m.phone, '') != '' as has_number,
				cast(m.phone as char(20)) as phone, cast(m.region as char(4)) as region,
				cast(m.line_type as char(24)) as line_type
			from `tabSegment Member` m where m.segment = %({key})s"""
	condition = rules_condition(rules_of(segment), params, key)
	# Without a usable number, a business-scoped user ID on a consent record of the customer's
	# (someone who wrote from a username account) is where a message can still go.
	user_id = """(select min(bc.name) from `tabWhatsApp Consent` bc
		where bc.customer = c.name and ifnull(bc.phone, '') = '')"""
	return f"""select cast('Customer' as char(20)) as contact_doctype, c.name as contact_name,
			ifnull(c.mobile_no, '') != '' as has_number,
			cast(ifnull(c.whatsapp_number, {user_id}) as char(140)) as phone,
			cast(ifnull(c.whatsapp_region, left({user_id}, 2)) as char(4)) as region,
			cast(c.whatsapp_line_type as char(24)) as line_type
		from `tabCustomer` c where c.disabled = 0 and ({condition})"""


def rules_of(segment) -> list[Rule]:
	rules = [
		Rule(
			criterion=row.criterion,
			operator=row.operator,
			value=row.value,
			value_to=row.value_to,
			negate=bool(row.negate),
			group=cint(row.rule_group) or 1,
			booked_from=getdate(row.booked_from) if row.booked_from else None,
			booked_to=getdate(row.booked_to) if row.booked_to else None,
			booked_months_ago=cint(row.booked_months_ago) or None,
			row=row.idx,
			engaged_with=row.get("engaged_with") or None,
			engagement_reference=row.get("engagement_reference") or None,
			within_days=cint(row.get("within_days")) or None,
		)
		for row in segment.rules
	]
	for rule in rules:
		segment_rules.check(rule)
	return rules


def rules_condition(rules: list[Rule], params: dict, key: str) -> str:
	"""SQL for Customer ``c``: OR over rule groups of AND-ed rules. No rules: every customer."""
	if not rules:
		return "1=1"
	groups = []
	for g, group in enumerate(segment_rules.groups(rules)):
		parts = []
		for r, rule in enumerate(group):
			condition = rule_condition(rule, params, f"{key}_{g}_{r}")
			# coalesce: a rule on a missing value (no birthday) is false, and so is its negation's
			# opposite; NOT NULL would silently drop the customer from both. A rule that is not
			# negated needs none: under AND and OR, WHERE keeps a row only when the whole is true,
			# and an unknown part counts as false there already. Left bare, an IN (subquery) can be
			# read as a semi-join, from the few rows the subquery finds, where coalesce() made
			# MariaDB test every customer against it (five to eight times slower for engagement).
			parts.append(f"not coalesce(({condition}), 0)" if rule.negate else f"({condition})")
		groups.append("(" + " and ".join(parts) + ")")
	return " or ".join(groups)


def rule_condition(rule: Rule, params: dict, key: str) -> str:
	def param(suffix: str, value) -> str:
		params[f"{key}_{suffix}"] = value
		return f"%({key}_{suffix})s"

	criterion, op = rule.criterion, rule.operator
	if criterion == "Lifetime Spend":
		having = _compare("sum(si.base_grand_total)", op, rule, segment_rules.parse_amount, param)
		return f"""c.name in (select si.customer from `tabSales Invoice` si
			where si.docstatus = 1 and si.is_return = 0 group by si.customer having {having})"""
	if criterion == "Customer Group":
		return (
			f"c.customer_group in ({_subtree('Customer Group', segment_rules.split_list(rule.value), param)})"
		)
	if criterion == "Booked Item Group":
		groups = _subtree("Item Group", segment_rules.split_list(rule.value), param)
		# ERPNext copies the order's date and docstatus onto each item, so one index on the items
		# answers the filter; the order is read only for its customer.
		window = ""
		if rule.booked_from:
			window += f" and soi.transaction_date >= {param('from', rule.booked_from)}"
		if rule.booked_to:
			window += f" and soi.transaction_date <= {param('to', rule.booked_to)}"
		if rule.booked_months_ago:
			cutoff = segment_rules.add_months(getdate(nowdate()), -int(rule.booked_months_ago))
			window += f" and soi.transaction_date <= {param('cutoff', cutoff)}"
		return f"""c.name in (select so.customer from `tabSales Order Item` soi
			join `tabSales Order` so on so.name = soi.parent
			where soi.item_group in ({groups}) and soi.docstatus = 1{window})"""
	if criterion in ("City", "State"):
		column = "a.city" if criterion == "City" else "a.state"
		values = param("values", segment_rules.split_list(rule.value))
		# The customer's primary address; without one, an address linked to it and marked primary.
		return f"""(c.customer_primary_address in (select a.name from `tabAddress` a where {column} in {values})
			or (ifnull(c.customer_primary_address, '') = '' and c.name in (
				select dl.link_name from `tabDynamic Link` dl join `tabAddress` a on a.name = dl.parent
				where dl.parenttype = 'Address' and dl.link_doctype = 'Customer'
				and a.is_primary_address = 1 and {column} in {values})))"""
	if criterion in ("First Booking Date", "Last Booking Date"):
		aggregate = (
			"min(so.transaction_date)" if criterion == "First Booking Date" else "max(so.transaction_date)"
		)
		having = _compare_date(aggregate, op, rule, param)
		return f"""c.name in (select so.customer from `tabSales Order` so where so.docstatus = 1
			group by so.customer having {having})"""
	if criterion == "Customer Since":
		return _compare_date("date(c.creation)", op, rule, param)
	if criterion == "Birthday Month":
		return f"month(c.birthday) in {param('months', segment_rules.parse_month_names(rule.value))}"
	if criterion == "Campaign Engagement":
		return engagement_condition(rule, param)
	raise RuleError(f"Unknown criterion {criterion!r}")


# What each kind of engagement asks of one message ``m`` (see segment_rules.Engagement).
_DID = {
	"sent": "1",
	"delivered": "m.status in ('Delivered', 'Read')",
	"read": "m.status = 'Read'",
	"replied": "m.replied_at is not null",
	"clicked": "exists (select 1 from `tabWhatsApp Link Click` k where k.message = m.name)",
}


def engagement_condition(rule: Rule, param) -> str:
	"""Customers by what they did with the messages of a campaign or a sequence (or of any) sent
	in the last days asked. Read through the message table's campaign, sequence or creation
	index, so a rule costs the messages it names, not the table."""
	engagement = segment_rules.ENGAGEMENTS[rule.operator]
	origin = _engagement_origin(rule, param)
	since = ""
	if rule.within_days:
		cutoff = add_days(now_datetime(), -int(rule.within_days))
		since = f" and {{alias}}.creation >= {param('since', cutoff)}"
	if engagement.booking:
		return f"""c.name in (select a.customer from `tabAttribution` a
			where a.status = 'Active' and {origin.format(alias="a")}{since.format(alias="a")})"""
	messages = f"""m.contact_doctype = 'Customer' and m.direction = 'Outbound' and m.status in {param("sent", SENT)}
		and {origin.format(alias="m")}{since.format(alias="m")}"""
	did = _DID[engagement.messages]
	if engagement.messages == "clicked" and not engagement.none_of:
		# From the clicks (a tenth of the messages, or fewer) to their messages.
		return f"""c.name in (select m.contact_name from `tabWhatsApp Link Click` k
			join `tabWhatsApp Message` m on m.name = k.message where {messages})"""
	if engagement.none_of:
		return f"""c.name in (select m.contact_name from `tabWhatsApp Message` m where {messages}
			group by m.contact_name having max({did}) = 0)"""
	return f"c.name in (select m.contact_name from `tabWhatsApp Message` m where {messages} and {did})"


def _engagement_origin(rule: Rule, param) -> str:
	"""The rows of the campaign or sequence named (an ``{alias}`` to fill in), of any of that
	kind, or of any campaign or sequence."""
	column = {"WhatsApp Campaign": "campaign", "Drip Sequence": "drip_sequence"}.get(rule.engaged_with)
	if column and rule.engagement_reference:
		if not frappe.db.exists(rule.engaged_with, rule.engagement_reference):
			raise RuleError(
				_("Rule {0}: {1} {2} not found").format(
					rule.row, rule.engaged_with, rule.engagement_reference
				)
			)
		return f"{{alias}}.{column} = {param('origin', rule.engagement_reference)}"
	if column:
		return f"{{alias}}.{column} is not null"
	return "({alias}.campaign is not null or {alias}.drip_sequence is not null)"


def _compare(expression: str, op: str, rule: Rule, parse, param) -> str:
	if op == "between":
		return f"{expression} between {param('low', parse(rule.value))} and {param('high', parse(rule.value_to))}"
	return f"{expression} {op} {param('value', parse(rule.value))}"


def _compare_date(expression: str, op: str, rule: Rule, param) -> str:
	if op in ("more than months ago", "within last months"):
		cutoff = segment_rules.add_months(getdate(nowdate()), -segment_rules.parse_months(rule.value))
		sign = "<=" if op == "more than months ago" else ">="
		return f"{expression} {sign} {param('cutoff', cutoff)}"
	if op == "between":
		low, high = segment_rules.parse_date(rule.value), segment_rules.parse_date(rule.value_to)
		return f"{expression} between {param('low', low)} and {param('high', high)}"
	sign = "<" if op == "before" else ">"
	return f"{expression} {sign} {param('value', segment_rules.parse_date(rule.value))}"


def _subtree(doctype: str, names: list[str], param) -> str:
	"""A nested-set subquery: the named groups and every group below them."""
	bounds = frappe.get_all(doctype, filters={"name": ("in", names)}, fields=["name", "lft", "rgt"])
	missing = set(names) - {b.name for b in bounds}
	if missing:
		raise RuleError(_("{0} not found: {1}").format(doctype, ", ".join(sorted(missing))))
	table = f"`tab{doctype}`"
	ranges = " or ".join(
		f"(g.lft >= {param(f'lft{i}', b.lft)} and g.rgt <= {param(f'rgt{i}', b.rgt)})"
		for i, b in enumerate(bounds)
	)
	return f"select g.name from {table} g where {ranges}"


# -- audiences ---------------------------------------------------------------------------------
def build_audience(include: list[str], exclude: list[str] = (), *, marketing: bool = True) -> Audience:
	"""The classified members of the ``include`` segments less the ``exclude`` segments."""
	if not include:
		raise RuleError(_("Choose at least one segment to include"))
	params: dict = {}
	union = " union all ".join(
		f"select {i} as source_order, s{i}.* from ({segment_members_sql(frappe.get_doc('Segment', name), params, f's{i}')}) s{i}"
		for i, name in enumerate(include)
	)
	excluded = ""
	if exclude:
		parts = " union all ".join(
			f"select x{i}.contact_doctype, x{i}.contact_name, x{i}.phone from ("
			f"{segment_members_sql(frappe.get_doc('Segment', name), params, f'x{i}')}) x{i}"
			for i, name in enumerate(exclude)
		)
		excluded = f"""where not exists (select 1 from ({parts}) x
			where (x.phone is not null and x.phone != '' and x.phone = u.phone)
			or (x.contact_doctype = u.contact_doctype and x.contact_name = u.contact_name))"""
	marketing_only = ""
	if marketing:
		cap = get_settings().frequency_cap
		params["no_marketing_regions"] = NO_MARKETING_REGIONS
		marketing_only = """when wc.status = 'Opted Out' then 'opted_out'
			when wc.status is null or wc.status != 'Opted In' then 'no_consent'
			when a.line_type = 'fixed_line' then 'landline'
			when a.region in %(no_marketing_regions)s then 'marketing_not_delivered'"""
		keep_caps_current()
		if cap.enabled:
			# Kept on the consent record by the send path (see refresh_frequency_caps).
			params["cap_now"] = now_datetime()
			marketing_only += " when wc.marketing_capped_until > %(cap_now)s then 'frequency_cap'"
	sql = f"""select a.contact_doctype, a.contact_name, a.phone, a.region,
			case when ifnull(a.phone, '') = '' and not a.has_number then 'no_number'
				when ifnull(a.phone, '') = '' then 'invalid_number'
				when a.number_rank > 1 then 'duplicate'
				{marketing_only}
				else 'eligible' end as reason
		from (
			select u.*, row_number() over (
				partition by coalesce(nullif(u.phone, ''), concat(u.contact_doctype, ':', u.contact_name))
				order by u.source_order, u.contact_name) as number_rank
			from ({union}) u {excluded}
		) a
		left join `tabWhatsApp Consent` wc on wc.name = a.phone"""
	return Audience(sql, params)


# Columns whose value distribution MariaDB's optimizer should know (histograms): without one it
# guesses that half the messages have a reply, and an engagement rule on replies then scans
# every customer against them instead of starting from the few who replied (3.3x slower
# than with the histogram). Indexes would do the same for every snapshot row's price (issue 18).
STATISTICS = {
	"WhatsApp Message": ("replied_at", "status", "direction", "contact_doctype", "drip_sequence"),
	"Attribution": ("status", "campaign", "drip_sequence"),
}


def refresh_statistics() -> None:
	"""Scheduler (daily) and after_migrate: the histograms of STATISTICS, with MariaDB's own
	``ANALYZE TABLE ... PERSISTENT FOR COLUMNS``; a second over 100,000 messages."""
	for doctype, columns in STATISTICS.items():
		listed = ", ".join(f"`{column}`" for column in columns)
		frappe.db.sql_ddl(f"analyze table `tab{doctype}` persistent for columns ({listed}) indexes ()")


def allow_in_memory_temp_tables() -> None:
	"""Segment subqueries are materialised as temporary tables keyed on names (560 bytes each in
	utf8mb4). Past MariaDB's default 16 MB such a table goes to disk and lookups into it become
	five times slower (measured over 100,000 customers), so this session may use more memory."""
	frappe.db.sql(
		f"set session tmp_table_size = {TEMP_TABLE_BYTES}, max_heap_table_size = {TEMP_TABLE_BYTES}"
	)


def preview(audience: Audience, sample_size: int = 10) -> Preview:
	"""Counts by reason and a sample of eligible members, from one evaluation of the audience."""
	allow_in_memory_temp_tables()
	rows = frappe.db.sql(
		f"""select * from (
			select classified.*, count(*) over (partition by reason) as reason_count,
				row_number() over (partition by reason order by contact_name) as position
			from ({audience.sql}) classified
		) ranked where position <= %(sample_size)s order by reason, position""",
		{**audience.params, "sample_size": max(int(sample_size), 1)},
		as_dict=True,
	)
	by_reason = {row.reason: row.reason_count for row in rows}
	sample = [
		{k: row[k] for k in ("contact_doctype", "contact_name", "phone", "region")}
		for row in rows
		if row.reason == "eligible"
	][:sample_size]
	names = display_names([(m["contact_doctype"], m["contact_name"]) for m in sample])
	for member in sample:
		member["display_name"] = names[(member["contact_doctype"], member["contact_name"])]
	return Preview(by_reason.pop("eligible", 0), by_reason, sample)


def eligible_by_region(audience: Audience) -> dict[str | None, int]:
	allow_in_memory_temp_tables()
	rows = frappe.db.sql(
		f"select region, count(*) from ({audience.sql}) classified where reason = 'eligible' group by region",
		audience.params,
	)
	return {region: count for region, count in rows}
