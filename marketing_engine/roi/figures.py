"""What each WhatsApp Campaign and Drip Sequence cost and brought in: one source of figures for
the WhatsApp ROI report and for the campaign and sequence forms.

A handful of GROUP BY queries cover all the campaigns and sequences asked for at once (messages,
clicks, attributions, enrollments, and the holdout groups' customers and Sales Orders), never a
query per campaign, so the report costs the same few scans whether it shows one row or a hundred.

Definitions, per campaign or sequence:

- audience: a campaign's message rows (everyone its snapshot took in, skipped and held out too);
  a sequence's enrollments;
- sent: Accepted, Sent, Delivered or Read; delivered: Delivered or Read; read: Read;
- clicked: messages with at least one click; replied: messages with ``replied_at``;
- bookings and revenue: the Active Attribution rows and their revenue (base net total);
- cost: what Meta bills, the frozen ``cost`` of the messages its pricing webhook marked billable;
  estimated_cost: the frozen ``cost`` of every sent message;
- roi: revenue per rupee of cost; revenue_per_recipient: revenue per sent message;
- for ads, one row per ERPNext Campaign of Click-to-WhatsApp ads (each ad gets a Campaign of its
  own; a studio may put several under one): audience is the people who wrote from its ads, leads
  the Leads they became, bookings and revenue those attributed to the ads, and cost the WhatsApp
  Ad Spend entered for the Campaign or its ads (per month: over a period, the months it touches);
  message figures stay empty, the ad's messages are the person's, not the studio's;
- for a campaign with a holdout group: each group's revenue is every submitted Sales Order of its
  customers booked from the campaign's start date to the end of the attribution window, whether
  attributed or not. Customers who were never messaged book too; the difference per person is
  what the messages added.

Dates filter campaigns by their start and sequences, which never end, by message creation: a
sequence's figures are then those of its messages created in the period (its clicks and the
bookings attributed to them with them) and of its enrollments created in the period.
"""

from __future__ import annotations

import collections
from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import cint, flt, get_first_day, getdate

from marketing_engine.engine.tracking import incremental, roi
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

SENT = ("Accepted", "Sent", "Delivered", "Read")
DELIVERED = ("Delivered", "Read")
HOLDOUT = "Holdout"  # the error_title of a held-out recipient's Skipped row
CAMPAIGN, SEQUENCE, AD, VARIANT = "Campaign", "Drip Sequence", "Ad", "A/B Variant"
DOCTYPE_OF_KIND = {CAMPAIGN: "WhatsApp Campaign", SEQUENCE: "Drip Sequence"}
HOLDOUT_FIGURES = (
	"messaged_people",
	"holdout_people",
	"messaged_revenue_per_person",
	"holdout_revenue_per_person",
	"incremental_revenue_per_person",
	"incremental_revenue",
	"incremental_roi",
)


def figures(filters: dict | None = None) -> list[dict]:
	"""One row per started campaign (any status but Draft), latest first, then one per drip
	sequence with a message, for ``filters``: ``from_date`` and ``to_date`` (inclusive),
	``campaign`` (a WhatsApp Campaign), ``drip_sequence`` and ``ad`` (a WhatsApp Ad: its ERPNext
	Campaign's row). Naming one of them leaves the other kinds out. The ads' rows come last."""
	filters = frappe._dict(filters or {})
	period = _period(filters)
	named = filters.campaign or filters.drip_sequence or filters.ad
	campaigns = (
		_campaigns(filters.campaign, period, include_drafts=False) if filters.campaign or not named else []
	)
	sequences = _sequences(filters.drip_sequence) if filters.drip_sequence or not named else []
	rows = _rows(campaigns, sequences, period, sequences_without_messages=False)
	return rows + (ad_rows(filters.ad, period) if filters.ad or not named else [])


def campaign_figures(name: str) -> dict | None:
	"""The campaign's row for its form (zeros for a draft); None when there is no such campaign."""
	rows = _rows(_campaigns(name, None, include_drafts=True), [], None, sequences_without_messages=False)
	return rows[0] if rows else None


def sequence_figures(name: str) -> dict | None:
	"""The sequence's row over its whole life, for its form (zeros before its first message);
	None when there is no such sequence."""
	rows = _rows([], _sequences(name), None, sequences_without_messages=True)
	return rows[0] if rows else None


@frappe.whitelist()
def figures_of(doctype: str, name: str) -> dict | None:
	"""The row a WhatsApp Campaign's or a Drip Sequence's form shows, for whoever may read it."""
	figures_for = {"WhatsApp Campaign": campaign_figures, "Drip Sequence": sequence_figures}.get(doctype)
	if not figures_for:
		frappe.throw(
			_("ROI figures are kept for WhatsApp Campaigns and Drip Sequences, not {0}").format(doctype)
		)
	frappe.has_permission(doctype, "read", name, throw=True)
	return figures_for(name)


# -- what is shown -----------------------------------------------------------------------------
def _period(filters) -> tuple | None:
	"""[start, end) dates for the days asked (``to_date`` whole), or None for all time."""
	if not filters.from_date and not filters.to_date:
		return None
	start = getdate(filters.from_date or "1900-01-01")
	end = getdate(filters.to_date or "2999-12-31") + timedelta(days=1)
	return (start, end)


def _campaigns(name: str | None, period: tuple | None, include_drafts: bool) -> list[dict]:
	conditions = ["1=1" if include_drafts else "status != 'Draft'"]
	if name:
		conditions.append("name = %(name)s")
	if period:
		conditions.append("started_at >= %(start)s and started_at < %(end)s")
	start, end = period or (None, None)
	rows = frappe.db.sql(
		f"""select name, campaign_name as title, campaign as erpnext_campaign, started_at, ab_parent
		from `tabWhatsApp Campaign` where {" and ".join(conditions)}
		order by started_at desc, name""",
		{"name": name, "start": start, "end": end},
		as_dict=True,
	)
	# An A/B test's variants are rows of their campaign: right after it, A to C.
	variants = collections.defaultdict(list)
	for row in sorted((r for r in rows if r.ab_parent), key=lambda r: r.name):
		variants[row.ab_parent].append(row)
	shown = {r.name for r in rows}
	ordered = []
	for row in rows:
		if not row.ab_parent or row.ab_parent not in shown:
			ordered.append(row)
			ordered.extend(variants.pop(row.name, []))
	return ordered


def _sequences(name: str | None) -> list[dict]:
	return frappe.db.sql(
		f"""select name, sequence_name as title, campaign as erpnext_campaign
		from `tabDrip Sequence` {"where name = %(name)s" if name else ""} order by name""",
		{"name": name},
		as_dict=True,
	)


def _rows(
	campaigns: list[dict], sequences: list[dict], period: tuple | None, sequences_without_messages: bool
) -> list[dict]:
	if not campaigns and not sequences:
		return []
	scope = _Scope(campaigns, sequences, period)
	messages = _message_counts(scope)
	clicks = _click_counts(scope)
	bookings = _booking_counts(scope)
	enrollments = _enrollment_counts(scope)
	holdout_campaigns = [c for c in campaigns if messages.get((CAMPAIGN, c.name), {}).get("held_out")]
	groups = _holdout_groups(holdout_campaigns)

	rows = []
	for kind, records in ((CAMPAIGN, campaigns), (SEQUENCE, sequences)):
		for record in records:
			key = (kind, record.name)
			if kind == SEQUENCE and key not in messages and not sequences_without_messages:
				continue  # a sequence that never sent (in the period) has nothing to show
			counted = messages.get(key, {})
			booked, revenue = bookings.get(key, (0, 0))
			cost = flt(counted.get("cost"), 2)
			row = {
				# An A/B test's variant is a campaign, shown as its campaign's variant.
				"kind": VARIANT if record.get("ab_parent") else kind,
				"reference_doctype": DOCTYPE_OF_KIND[kind],
				"name": record.name,
				"title": record.title or record.name,
				"erpnext_campaign": record.erpnext_campaign,
				"audience": cint(
					enrollments.get(record.name) if kind == SEQUENCE else counted.get("audience")
				),
				"leads": None,
				"sent": cint(counted.get("sent")),
				"delivered": cint(counted.get("delivered")),
				"read": cint(counted.get("read")),
				"clicked": cint(clicks.get(key)),
				"replied": cint(counted.get("replied")),
				"bookings": cint(booked),
				"revenue": flt(revenue, 2),
				"cost": cost,
				"estimated_cost": flt(counted.get("estimated_cost"), 2),
				"roi": roi(cost, flt(revenue, 2)),
			}
			row["revenue_per_recipient"] = flt(row["revenue"] / row["sent"], 2) if row["sent"] else None
			row.update(dict.fromkeys(HOLDOUT_FIGURES))
			if kind == CAMPAIGN and record.name in groups:
				row.update(_holdout_figures(groups[record.name], row["cost"]))
			rows.append(row)
	return rows


def ad_rows(ad: str | None, period: tuple | None) -> list[dict]:
	"""One row per ERPNext Campaign of ads (or the one of ``ad``): people, leads, bookings,
	revenue, spend and ROI, in four grouped queries whatever the number of ads."""
	groups = frappe.db.sql(
		f"""select ad.campaign, min(ad.name) as first_ad, count(*) as ads,
			coalesce(c.campaign_name, ad.campaign) as title
		from `tabWhatsApp Ad` ad left join `tabCampaign` c on c.name = ad.campaign
		where ad.campaign is not null
			{"and ad.campaign = (select campaign from `tabWhatsApp Ad` where name = %(ad)s)" if ad else ""}
		group by ad.campaign, c.campaign_name
		order by max(ad.first_referral_at) desc, ad.campaign""",
		{"ad": ad},
		as_dict=True,
	)
	if not groups:
		return []
	start, end = period or (None, None)
	values = {"campaigns": tuple(g.campaign for g in groups), "start": start, "end": end}
	if period:
		values["first_month"] = get_first_day(start)
	referrals = frappe.db.sql(
		f"""select ad.campaign,
			count(distinct coalesce(r.contact_name, r.phone, r.user_id)), count(r.lead)
		from `tabWhatsApp Ad Referral` r join `tabWhatsApp Ad` ad on ad.name = r.ad
		where ad.campaign in %(campaigns)s
			{"and r.received_at >= %(start)s and r.received_at < %(end)s" if period else ""}
		group by ad.campaign""",
		values,
	)
	people = {campaign: (cint(count), cint(leads)) for campaign, count, leads in referrals}
	booked = frappe.db.sql(
		f"""select ad.campaign, count(*), sum(a.revenue)
		from `tabAttribution` a join `tabWhatsApp Ad` ad on ad.name = a.ad
		where a.status = 'Active' and ad.campaign in %(campaigns)s
			{"and coalesce(a.touch_at, a.creation) >= %(start)s and coalesce(a.touch_at, a.creation) < %(end)s" if period else ""}
		group by ad.campaign""",
		values,
	)
	bookings = {campaign: (cint(count), flt(revenue, 2)) for campaign, count, revenue in booked}
	spend = dict(
		frappe.db.sql(
			f"""select campaign, sum(amount) from `tabWhatsApp Ad Spend`
			where campaign in %(campaigns)s
				{"and month >= %(first_month)s and month < %(end)s" if period else ""}
			group by campaign""",
			values,
		)
	)
	rows = []
	for group in groups:
		audience, leads = people.get(group.campaign, (0, 0))
		count, revenue = bookings.get(group.campaign, (0, 0.0))
		cost = flt(spend.get(group.campaign), 2)
		if period and not (audience or count or cost):
			continue  # nothing of this ad's in the period
		one_ad = group.ads == 1
		rows.append(
			{
				"kind": AD,
				"reference_doctype": "WhatsApp Ad" if one_ad else "Campaign",
				"name": group.first_ad if one_ad else group.campaign,
				"title": group.title,
				"erpnext_campaign": group.campaign,
				"audience": audience,
				"leads": leads,
				**dict.fromkeys(("sent", "delivered", "read", "clicked", "replied", "estimated_cost")),
				"bookings": count,
				"revenue": revenue,
				"cost": cost,
				"roi": roi(cost, revenue),
				"revenue_per_recipient": None,
				**dict.fromkeys(HOLDOUT_FIGURES),
			}
		)
	return rows


def _holdout_figures(groups: dict, cost: float) -> dict:
	(messaged_people, messaged_revenue) = groups.get(False, (0, 0.0))
	(holdout_people, holdout_revenue) = groups.get(True, (0, 0.0))
	result = incremental(messaged_revenue, messaged_people, holdout_revenue, holdout_people, cost)
	amounts = {key: value for key, value in result.items() if key != "incremental_roi"}
	return {
		"messaged_people": messaged_people,
		"holdout_people": holdout_people,
		**{key: None if value is None else flt(value, 2) for key, value in amounts.items()},
		"incremental_roi": result["incremental_roi"],
	}


# -- the queries -------------------------------------------------------------------------------
class _Scope:
	"""The campaigns and sequences asked for, as SQL conditions on a table's ``campaign`` and
	``drip_sequence`` columns, with the period applied to the sequences' rows."""

	def __init__(self, campaigns: list[dict], sequences: list[dict], period: tuple | None):
		self.campaigns = tuple(c.name for c in campaigns)
		self.sequences = tuple(s.name for s in sequences)
		self.period = period
		self.values = {
			"campaigns": self.campaigns,
			"sequences": self.sequences,
			"start": period[0] if period else None,
			"end": period[1] if period else None,
		}

	def condition(self, alias: str, sequence_moment: str) -> str:
		"""Rows of ``alias`` that belong to a campaign or a sequence asked for; a sequence's only
		when ``sequence_moment`` (an SQL expression) falls in the period. A side with nothing
		asked for is left out: a lone ``campaign in (...)`` (a campaign's form) reads that
		campaign's rows by its index, where an OR with the other column would scan the table."""
		parts = []
		if self.campaigns:
			parts.append(f"{alias}.campaign in %(campaigns)s")
		if self.sequences:
			in_period = (
				f" and {sequence_moment} >= %(start)s and {sequence_moment} < %(end)s" if self.period else ""
			)
			parts.append(f"({alias}.drip_sequence in %(sequences)s{in_period})")
		return "(" + " or ".join(parts) + ")"


def _key(campaign: str | None, sequence: str | None) -> tuple:
	return (CAMPAIGN, campaign) if campaign else (SEQUENCE, sequence)


def _message_counts(scope: _Scope) -> dict[tuple, dict]:
	"""Per campaign and sequence, from one pass over the messages: grouped by what tells the
	figures apart (as dispatch.update_counters counts a campaign) and summed up here, so that
	each figure's definition is the Python below. Over 100,000 rows it takes as long as eight
	conditional sums in SQL did."""
	rows = frappe.db.sql(
		f"""select m.campaign, m.drip_sequence, m.status, m.billable = 1, m.replied_at is not null,
			m.status = 'Skipped' and m.error_title = %(holdout)s, count(*), sum(ifnull(m.cost, 0))
		from `tabWhatsApp Message` m
		where {scope.condition("m", "m.creation")}
		group by m.campaign, m.drip_sequence, m.status, m.billable = 1, m.replied_at is not null,
			m.status = 'Skipped' and m.error_title = %(holdout)s""",
		{**scope.values, "holdout": HOLDOUT},
	)
	counts: dict[tuple, dict] = {}
	for campaign, sequence, status, billable, replied, held_out, count, cost in rows:
		counted = counts.setdefault(_key(campaign, sequence), collections.Counter())
		counted["audience"] += count
		counted["sent"] += count if status in SENT else 0
		counted["delivered"] += count if status in DELIVERED else 0
		counted["read"] += count if status == "Read" else 0
		counted["replied"] += count if replied else 0
		counted["held_out"] += count if held_out else 0
		counted["cost"] += flt(cost) if billable else 0
		counted["estimated_cost"] += flt(cost) if status in SENT else 0
	return counts


def _click_counts(scope: _Scope) -> dict[tuple, int]:
	"""Messages clicked at least once. A click carries its link's campaign or sequence; over a
	period a sequence's clicks are those on its messages created in the period."""
	join = "join `tabWhatsApp Message` m on m.name = k.message" if scope.period else ""
	rows = frappe.db.sql(
		f"""select k.campaign, k.drip_sequence, count(distinct k.message)
		from `tabWhatsApp Link Click` k {join}
		where {scope.condition("k", "m.creation")}
		group by k.campaign, k.drip_sequence""",
		scope.values,
	)
	return {_key(campaign, sequence): clicked for campaign, sequence, clicked in rows}


def _booking_counts(scope: _Scope) -> dict[tuple, tuple[int, float]]:
	"""Active attributions and their revenue. Over a period a sequence's bookings are those
	attributed to its messages created in the period (or, without a message, touched in it)."""
	join = "left join `tabWhatsApp Message` m on m.name = a.message" if scope.period else ""
	rows = frappe.db.sql(
		f"""select a.campaign, a.drip_sequence, count(*), sum(a.revenue)
		from `tabAttribution` a {join}
		where a.status = 'Active'
			and {scope.condition("a", "coalesce(m.creation, a.touch_at, a.creation)")}
		group by a.campaign, a.drip_sequence""",
		scope.values,
	)
	return {_key(campaign, sequence): (count, revenue) for campaign, sequence, count, revenue in rows}


def _enrollment_counts(scope: _Scope) -> dict[str, int]:
	if not scope.sequences:
		return {}
	in_period = " and creation >= %(start)s and creation < %(end)s" if scope.period else ""
	return dict(
		frappe.db.sql(
			f"""select sequence, count(*) from `tabDrip Enrollment`
			where sequence in %(sequences)s{in_period} group by sequence""",
			scope.values,
		)
	)


# A campaign's row of a customer in either group: messaged (sent), or held out.
_IN_A_GROUP = """{m}.contact_doctype = 'Customer'
	and ({m}.status in %(sent)s or ({m}.status = 'Skipped' and {m}.error_title = %(holdout)s))"""


def _holdout_groups(campaigns: list[dict]) -> dict[str, dict[bool, tuple[int, float]]]:
	"""Per campaign, {held out?: (customers, their revenue)}: the customers messaged (sent) and
	those held out, and every submitted Sales Order each group booked from the campaign's start
	date to the end of the attribution window. Each customer counts once per group, however
	many rows the campaign has for them, and so does each of their orders.

	Two queries rather than one join of everyone to their orders: the revenue starts from the
	few orders inside the windows (a range of ``transaction_date``'s index per campaign, given
	as plain dates: MariaDB reads a range computed from another table's column as a full scan)
	and looks their customers up among the campaign's rows by ``contact_name``'s index. Joining
	every customer to their orders instead built a temporary table of all the campaigns'
	customers first, five times slower over 100,000 messages."""
	started = [c for c in campaigns if c.started_at]
	if not started:
		return {}
	window = attribution_window_days()
	values = {"campaigns": tuple(c.name for c in started), "sent": SENT, "holdout": HOLDOUT, "window": window}
	windows = []
	for index, campaign in enumerate(started):
		values[f"from_{index}"] = getdate(campaign.started_at)
		values[f"to_{index}"] = getdate(campaign.started_at) + timedelta(days=window)
		windows.append(f"o.transaction_date between %(from_{index})s and %(to_{index})s")
	people = frappe.db.sql(
		f"""select m.campaign, m.status = 'Skipped', count(distinct m.contact_name)
		from `tabWhatsApp Message` m
		where m.campaign in %(campaigns)s and {_IN_A_GROUP.format(m="m")}
		group by m.campaign, m.status = 'Skipped'""",
		values,
	)
	revenue = frappe.db.sql(
		f"""select booked.campaign, booked.held_out, sum(booked.base_net_total)
		from (
			select straight_join distinct m.campaign, m.status = 'Skipped' as held_out, o.name,
				o.base_net_total
			from `tabSales Order` o
			join `tabWhatsApp Message` m on m.contact_name = o.customer and m.campaign in %(campaigns)s
				and {_IN_A_GROUP.format(m="m")}
			join `tabWhatsApp Campaign` c on c.name = m.campaign
			where o.docstatus = 1 and ({" or ".join(windows)})
				and o.transaction_date between date(c.started_at)
					and date(c.started_at) + interval %(window)s day
		) booked
		group by booked.campaign, booked.held_out""",
		values,
	)
	revenue_of = {(campaign, bool(held_out)): flt(amount) for campaign, held_out, amount in revenue}
	groups: dict[str, dict[bool, tuple[int, float]]] = {}
	for campaign, held_out, count in people:
		held_out = bool(held_out)
		groups.setdefault(campaign, {})[held_out] = (cint(count), revenue_of.get((campaign, held_out), 0.0))
	return groups


def attribution_window_days() -> int:
	# As attribution.last_touch_of reads it: an unset window is the default week.
	return cint(get_settings().attribution_window_days) or 7


def times(ratio: float) -> str:
	"""100x, 2.5x: one decimal, dropped when it is zero (as the report's formatter shows ROI)."""
	return f"{ratio:,.1f}".removesuffix(".0") + "x"
