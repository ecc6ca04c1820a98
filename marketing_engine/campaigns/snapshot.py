"""A campaign's snapshot: its audience written as one WhatsApp Message per member, in one
``INSERT ... SELECT``, when it starts.

Eligible recipients start Pending; excluded ones are Skipped with the reason, so every member of
the audience ends Sent, Failed or Skipped, never silently dropped. Each row's price is frozen in
the same insert from the rate card in the WABA's currency, and the holdout (chosen reproducibly
from the campaign and each number) is Skipped as "Holdout".
"""

import time

import frappe
from frappe.utils import now_datetime

from marketing_engine.campaigns import ab_testing
from marketing_engine.campaigns.audience import REASONS, allow_in_memory_temp_tables, build_audience
from marketing_engine.engine.tracking import in_holdout
from marketing_engine.marketing_engine.doctype.whatsapp_rate_card.whatsapp_rate_card import (
	rate_card_of_account,
)


def snapshot(campaign) -> int:
	"""Write one WhatsApp Message per audience member, in one statement. Idempotent: a campaign
	that has rows already is left as it is (a second start, a duplicate job)."""
	frappe.db.sql("select name from `tabWhatsApp Campaign` where name=%s for update", campaign.name)
	if frappe.db.exists("WhatsApp Message", {"campaign": campaign.name}):
		return frappe.db.count("WhatsApp Message", {"campaign": campaign.name})
	template = frappe.get_cached_doc("WhatsApp Template", campaign.template)
	include = [row.segment for row in campaign.segments if not row.exclude]
	exclude = [row.segment for row in campaign.segments if row.exclude]
	audience = build_audience(include, exclude, marketing=template.category == "MARKETING")
	reason_text = " ".join(
		f"when %(reason_{code})s then %(text_{code})s" for code in REASONS if code != "eligible"
	)
	params = {
		**audience.params,
		"prefix": f"{frappe.generate_hash(length=8)}-",
		"user": frappe.session.user,
		"now": now_datetime(),
		"account": campaign.account,
		"template": campaign.template,
		"category": template.category,
		"campaign": campaign.name,
		**{f"reason_{code}": code for code in REASONS},
		**{f"text_{code}": str(text) for code, text in REASONS.items()},
	}
	frozen_cost = frozen_cost_sql(campaign.account, template.category)
	# An A/B test's variant takes its group of the eligible members, the campaign the others.
	in_group, group_params = ab_testing.group_condition(campaign)
	allow_in_memory_temp_tables()
	frappe.db.sql(
		f"""insert into `tabWhatsApp Message` (name, creation, modified, owner, modified_by, docstatus, idx,
			direction, status, phone, user_id, region, account, template, category, campaign,
			contact_doctype, contact_name, error_title, error_detail, attempts, cost)
		select concat(%(prefix)s, lpad(row_number() over (order by a.reason != 'eligible', a.contact_name), 7, '0')),
			%(now)s, %(now)s, %(user)s, %(user)s, 0, 0,
			'Outbound', if(a.reason = 'eligible', 'Pending', 'Skipped'),
			if(a.reason = 'eligible' and a.phone like '+%%', a.phone, null),
			if(a.reason = 'eligible' and a.phone not like '+%%', a.phone, null),
			a.region, %(account)s, %(template)s, %(category)s,
			%(campaign)s, a.contact_doctype, a.contact_name,
			case a.reason {reason_text} else null end,
			case a.reason when 'duplicate' then a.phone when 'invalid_number' then typed.mobile_no end, 0,
			if(a.reason = 'eligible', {frozen_cost}, 0)
		from ({audience.sql}) a
		-- The number as typed, for members skipped because it is invalid (looked up for them
		-- alone: a second pass over the rows cost a sixth of the snapshot).
		left join `tabCustomer` typed on a.reason = 'invalid_number' and a.contact_doctype = 'Customer'
			and typed.name = a.contact_name
		{in_group}""",
		{**params, **group_params},
	)
	mark_holdout(campaign)
	return frappe.db.count("WhatsApp Message", {"campaign": campaign.name})


def frozen_cost_sql(account: str, category: str) -> str:
	"""Each message's price as SQL over the audience's ``a.region``, frozen at the snapshot from
	the rate card in the WABA's currency (0 without a card). Written in the snapshot's own insert:
	a second pass over the rows cost a seventh of the snapshot's time."""
	card = rate_card_of_account(account)
	if not card:
		return "0"
	prices = card.unit_prices(category)
	default = float(prices.pop(None, None) or 0)
	if not prices:
		return str(default)
	cases = " ".join(
		f"when {frappe.db.escape(region)} then {float(price)}" for region, price in prices.items()
	)
	return f"case a.region {cases} else {default} end"


def mark_holdout(campaign) -> int:
	"""Hold back the campaign's share of its eligible audience, chosen reproducibly from the
	campaign and each number (the same people whenever it is computed): Skipped, "Holdout"."""
	share = (campaign.holdout_percent or 0) / 100
	if not share:
		return 0
	rows = frappe.db.sql(
		"select name, coalesce(phone, user_id) from `tabWhatsApp Message` where campaign=%s and status='Pending'",
		campaign.name,
	)
	held = [name for name, address in rows if in_holdout(campaign.name, address, share)]
	for start in range(0, len(held), 5000):
		frappe.db.sql(
			"""update `tabWhatsApp Message` set status='Skipped', error_title=%s, cost=0 where name in %s""",
			(str(REASONS["holdout"]), held[start : start + 5000]),
		)
	return len(held)


SNAPSHOT_ATTEMPTS = 3


def with_deadlock_retry(step, *args):
	"""The snapshot reads the audience's records while people and webhooks write to them; when
	MariaDB picks it as a deadlock's victim, everything it did is undone and it runs again."""
	for attempt in range(SNAPSHOT_ATTEMPTS):
		try:
			return step(*args)
		except frappe.QueryDeadlockError:
			frappe.db.rollback()
			if attempt == SNAPSHOT_ATTEMPTS - 1:
				raise
			time.sleep(0.2 * (attempt + 1))
