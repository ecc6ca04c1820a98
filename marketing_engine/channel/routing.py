"""Whether a message may go now, and through which account: the app's side of the core's routing
rules (:mod:`marketing_engine.engine.routing`), with what it needs read from the site: the
accounts, the person's consent, quiet hours and the frequency cap's count.

The frequency cap's count is :mod:`marketing_engine.channel.frequency_cap`'s.
"""

import frappe
from frappe.utils import add_days, now_datetime

from marketing_engine.channel.consent import consent_state
from marketing_engine.channel.frequency_cap import recent_marketing
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
