"""Whether a message may go now, and through which account: the app's side of the core's routing
rules (:mod:`marketing_engine.engine.routing`), with what it needs read from the site: the
accounts, the person's consent, quiet hours and the frequency cap's count.

The frequency cap counts marketing messages handed to Meta (queued, accepted, sent, delivered,
read) in its window, whatever sent them; the same SQL serves a single send, the send path's check
just before sending, and the audience query that skips capped people.
"""

import frappe
from frappe.utils import add_days, now_datetime

from marketing_engine.channel.consent import consent_state
from marketing_engine.engine import routing
from marketing_engine.engine.identity import is_bsuid
from marketing_engine.engine.phone import marketing_warning
from marketing_engine.engine.routing import quiet_hours_end
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings
from marketing_engine.marketing_engine.doctype.whatsapp_account.whatsapp_account import get_account


def route(category: str, address: str) -> routing.Route:
	"""Which account sends a ``category`` message to ``address`` (an E.164 number or a
	business-scoped user ID) now, or why none may."""
	settings = get_settings()
	system = get_account(settings.default_system_account)
	business = get_account(settings.default_business_account)
	is_marketing = category.upper() == routing.MARKETING
	return routing.decide(
		category,
		system_account=system.to_state() if system else None,
		business_account=business.to_state() if business else None,
		consent=consent_state(address) if is_marketing else None,
		now=now_datetime(),
		quiet_hours=settings.quiet_hours,
		number_warning=marketing_warning(address) if is_marketing and not is_bsuid(address) else None,
		frequency_cap=settings.frequency_cap,
		recent_marketing=recent_marketing([address]).get(address, 0) if is_marketing else 0,
	)


def quiet_hours_now():
	"""When the quiet hours under way end (None outside them, or when they are off)."""
	settings = get_settings()
	return quiet_hours_end(now_datetime(), *settings.quiet_hours) if settings.quiet_hours else None


# Marketing messages each address was sent since %(cap_since)s: handed to Meta (or being handed
# over), whatever sent them. Read through the index on (category, submitted_at, ...).
RECENT_MARKETING_SQL = """select coalesce(rm.phone, rm.user_id) as address, count(*) as recent
	from `tabWhatsApp Message` rm
	where rm.category = 'MARKETING' and rm.submitted_at >= %(cap_since)s and rm.direction = 'Outbound'
		and rm.status in ('Queued', 'Accepted', 'Sent', 'Delivered', 'Read')
	group by address"""


def recent_marketing(addresses: list[str], exclude: list[str] = ()) -> dict[str, int]:
	"""Marketing messages each of these numbers (or user IDs) was handed inside the frequency
	cap's window, leaving out the messages named in ``exclude`` (the ones about to be sent)."""
	cap = get_settings().frequency_cap
	if not cap.enabled or not addresses:
		return {}
	recent = """and rm.submitted_at >= %(since)s and rm.category = 'MARKETING' and rm.direction = 'Outbound'
		and rm.status in ('Queued', 'Accepted', 'Sent', 'Delivered', 'Read') and rm.name not in %(exclude)s"""
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
