"""The frequency cap's two readings of the same count: marketing messages handed to Meta (queued,
accepted, sent, delivered, read) in the cap's window, whatever sent them.

- At send time (a single send, and the send path just before each batch): ``recent_marketing``
  counts each person's messages, through the index on (phone, submitted_at).
- In audiences (previews, snapshots): each person's WhatsApp Consent carries
  ``marketing_capped_until``, kept by ``refresh_frequency_caps`` after every change to the count,
  so that an audience of 100,000 reads one column of a row it joins anyway. Those columns hold
  for the cap they were computed under: ``keep_caps_current`` recomputes them all when the cap
  in Marketing Settings is no longer that one, however the setting was changed.
"""

import frappe
from frappe.utils import add_days, now_datetime

from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

# What the frequency cap counts: marketing handed to Meta (or being handed over), whatever sent it.
COUNTED = """rm.category = 'MARKETING' and rm.direction = 'Outbound'
	and rm.status in ('Queued', 'Accepted', 'Sent', 'Delivered', 'Read')"""


# The cap ("limit/days", or "off") the consent records' marketing_capped_until was computed for.
COMPUTED_FOR = "marketing_engine_frequency_cap_computed_for"


def keep_caps_current() -> None:
	"""Before an audience reads the consent records' caps: recompute them all if the cap changed."""
	cap = get_settings().frequency_cap
	current = f"{cap.limit}/{cap.days}" if cap.enabled else "off"
	if computed_for() != current:
		refresh_frequency_caps()
		frappe.db.set_default(COMPUTED_FOR, current)


def cap_saved(doc=None, method=None) -> None:
	frappe.clear_document_cache("Marketing Settings", "Marketing Settings")  # it reads the new cap
	keep_caps_current()


def computed_for() -> str | None:
	# Read from the table, not through Frappe's cache of defaults: a refresh rolled back (a
	# snapshot retried after a deadlock) must not leave a cached marker its columns do not match.
	found = frappe.db.sql(
		"select defvalue from `tabDefaultValue` where parent='__default' and defkey=%s", COMPUTED_FOR
	)
	return found[0][0] if found else None


def refresh_frequency_caps(addresses: list[str] | None = None) -> None:
	"""Write on each person's WhatsApp Consent until when the frequency cap holds them back
	(``marketing_capped_until``), from their messages: the cap's limit-th newest counted message
	plus its days. A person is capped at time T exactly when that moment is after T, so audiences
	(previews, snapshots) read one column of a row they join anyway, instead of counting every
	marketing message of the window (which doubled a 100k preview). Called after each batch of
	sends, a single marketing send, a marketing message that failed, and a change of the cap; the
	check at send time still counts the messages themselves. ``None``: everyone (a changed cap)."""
	cap = get_settings().frequency_cap
	if addresses is not None and not addresses:
		return
	if not cap.enabled:
		if addresses is None:  # turned off: nobody stays held back (a batch has nothing to keep)
			frappe.db.sql(
				"""update `tabWhatsApp Consent` set marketing_capped_until = null
				where marketing_capped_until is not null"""
			)
		return
	mine = "and rm.{0} in %(addresses)s" if addresses is not None else ""
	frappe.db.sql(
		f"""update `tabWhatsApp Consent` wc
		left join (
			select address, min(submitted_at) as limit_th from (
				select address, submitted_at,
					row_number() over (partition by address order by submitted_at desc) as newest
				from (
					select rm.phone as address, rm.submitted_at from `tabWhatsApp Message` rm
					where rm.submitted_at >= %(since)s and {COUNTED} {mine.format("phone")}
					union all
					select rm.user_id, rm.submitted_at from `tabWhatsApp Message` rm
					where rm.phone is null and rm.submitted_at >= %(since)s and {COUNTED} {mine.format("user_id")}
				) counted
			) ranked
			where newest <= %(limit)s group by address having count(*) >= %(limit)s
		) capped on capped.address = wc.name
		set wc.marketing_capped_until = date_add(capped.limit_th, interval %(days)s day)
		where {"wc.name in %(addresses)s" if addresses is not None else "1=1"}
			and not (wc.marketing_capped_until <=> date_add(capped.limit_th, interval %(days)s day))""",
		{
			"since": add_days(now_datetime(), -cap.days),
			"limit": cap.limit,
			"days": cap.days,
			"addresses": addresses or [""],
		},
	)


def recent_marketing(addresses: list[str], exclude: list[str] = ()) -> dict[str, int]:
	"""Marketing messages each of these numbers (or user IDs) was handed inside the frequency
	cap's window, leaving out the messages named in ``exclude`` (the ones about to be sent)."""
	cap = get_settings().frequency_cap
	if not cap.enabled or not addresses:
		return {}
	recent = f"and rm.submitted_at >= %(since)s and {COUNTED} and rm.name not in %(exclude)s"
	return dict(
		frappe.db.sql(
			f"""select address, count(*) from (
				select rm.phone as address from `tabWhatsApp Message` rm where rm.phone in %(addresses)s {recent}
				union all
				select rm.user_id from `tabWhatsApp Message` rm
				where rm.user_id in %(addresses)s and rm.phone is null {recent}
			) r group by address""",
			{
				"since": add_days(now_datetime(), -cap.days),
				"exclude": list(exclude) or [""],
				"addresses": addresses,
			},
		)
	)
