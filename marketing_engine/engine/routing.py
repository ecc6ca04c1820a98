"""Which account sends a message, or why nothing may be sent.

Transactional messages (utility and authentication templates, booking confirmations) go through
the platform's System account. Marketing goes through the studio's own Business account, so that
Meta bills the studio, and only to numbers with a recorded opt-in that was not withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import Enum

from .consent import ConsentState

TRANSACTIONAL_CATEGORIES = frozenset({"UTILITY", "AUTHENTICATION"})
MARKETING = "MARKETING"
SENDABLE_HEALTH = frozenset({"AVAILABLE", "LIMITED"})


class Block(str, Enum):
	NO_NUMBER = "no_number"
	INVALID_NUMBER = "invalid_number"
	UNKNOWN_CATEGORY = "unknown_category"
	NO_SYSTEM_ACCOUNT = "no_system_account"
	SYSTEM_ACCOUNT_UNUSABLE = "system_account_unusable"
	NO_BUSINESS_ACCOUNT = "no_business_account"
	BUSINESS_ACCOUNT_NOT_CONNECTED = "business_account_not_connected"
	BUSINESS_ACCOUNT_UNHEALTHY = "business_account_unhealthy"
	BUSINESS_ACCOUNT_CANNOT_BILL = "business_account_cannot_bill"
	NO_CONSENT = "no_consent"
	OPTED_OUT = "opted_out"
	LANDLINE = "landline"
	MARKETING_NOT_DELIVERED = "marketing_not_delivered"
	FREQUENCY_CAP = "frequency_cap"
	QUIET_HOURS = "quiet_hours"


@dataclass
class AccountState:
	name: str
	purpose: str  # "System" or "Business"
	enabled: bool = True
	has_credentials: bool = True
	health_status: str | None = None  # AVAILABLE, LIMITED, BLOCKED; None when never checked
	# Why Meta cannot bill the WABA (no payment method, 131042), or None; marketing waits for it.
	billing_problem: str | None = None

	@property
	def can_send(self) -> bool:
		return self.health_status in SENDABLE_HEALTH


@dataclass
class FrequencyCap:
	"""At most ``limit`` marketing messages per person in any ``days`` long window; 0 turns it off.

	Klaviyo-style "smart sending" across every campaign and sequence: a studio that runs a festive
	offer, a review drip and a birthday voucher in one week must not send all three to one person."""

	limit: int = 2
	days: int = 7

	@property
	def enabled(self) -> bool:
		return self.limit > 0 and self.days > 0

	def reached(self, recent: int) -> bool:
		return self.enabled and recent >= self.limit

	def reason(self, recent: int) -> str:
		return (
			f"Already received {recent} marketing message{'s' if recent != 1 else ''} in the last "
			f"{self.days} day{'s' if self.days != 1 else ''} (frequency cap: {self.limit})."
		)


@dataclass
class Route:
	account: str | None = None
	block: Block | None = None
	reason: str = ""
	not_before: datetime | None = None  # for blocks that lift by themselves (quiet hours)

	@property
	def allowed(self) -> bool:
		return self.block is None


def decide(
	category: str,
	*,
	system_account: AccountState | None,
	business_account: AccountState | None,
	consent: ConsentState | None = None,
	now: datetime | None = None,
	quiet_hours: tuple[time, time] | None = None,
	number_warning: tuple[str, str] | None = None,
	frequency_cap: FrequencyCap | None = None,
	recent_marketing: int = 0,
) -> Route:
	"""Route one message of ``category`` (Meta's template category) to one recipient.

	``number_warning`` is what :func:`.phone.marketing_warning` says of the number (a landline, a
	market where Meta does not deliver marketing); ``recent_marketing`` counts the marketing
	messages the person was sent inside the frequency cap's window."""
	category = (category or "").upper()
	if category in TRANSACTIONAL_CATEGORIES:
		return _route_transactional(system_account)
	if category != MARKETING:
		return Route(block=Block.UNKNOWN_CATEGORY, reason=f"Unknown message category {category!r}")
	return _route_marketing(
		business_account, consent, now, quiet_hours, number_warning, frequency_cap, recent_marketing
	)


def business_account_problem(account: AccountState | None) -> Route | None:
	"""Why marketing cannot go out through ``account`` at all, or None when it can.

	Campaign forms use this alone, before any recipient is known."""
	if account is None or not account.enabled:
		return Route(
			block=Block.NO_BUSINESS_ACCOUNT,
			reason="No WhatsApp Business account is connected. Marketing goes through the studio's own "
			"WABA so that Meta bills the studio: add a WhatsApp Account with purpose Business and set "
			"it as the default business account in Marketing Settings.",
		)
	if not account.has_credentials:
		return Route(
			block=Block.BUSINESS_ACCOUNT_NOT_CONNECTED,
			reason=f"WhatsApp Account {account.name} has no phone number ID, WABA ID or access token: "
			"fill them in from Meta's WhatsApp Manager.",
		)
	if not account.can_send:
		state = (account.health_status or "never checked").lower()
		return Route(
			block=Block.BUSINESS_ACCOUNT_UNHEALTHY,
			reason=f"WhatsApp Account {account.name} cannot send ({state}): "
			"run Check Health on it and resolve what Meta reports.",
		)
	if account.billing_problem:
		return Route(
			block=Block.BUSINESS_ACCOUNT_CANNOT_BILL,
			reason=f"Meta cannot bill WhatsApp Account {account.name} for marketing: "
			f"{account.billing_problem} Add or fix the payment method in Meta's WhatsApp Manager, "
			"then run Check Health.",
		)
	return None


def _route_transactional(account: AccountState | None) -> Route:
	if account is None:
		return Route(
			block=Block.NO_SYSTEM_ACCOUNT,
			reason="No System WhatsApp account is set in Marketing Settings for transactional messages.",
		)
	if not account.enabled or not account.has_credentials or account.health_status == "BLOCKED":
		why = (
			"is disabled"
			if not account.enabled
			else "has no credentials"
			if not account.has_credentials
			else "is blocked by Meta"
		)
		return Route(
			block=Block.SYSTEM_ACCOUNT_UNUSABLE, reason=f"System WhatsApp account {account.name} {why}."
		)
	return Route(account=account.name)


def _route_marketing(
	account: AccountState | None,
	consent: ConsentState | None,
	now: datetime | None,
	quiet_hours: tuple[time, time] | None,
	number_warning: tuple[str, str] | None = None,
	frequency_cap: FrequencyCap | None = None,
	recent_marketing: int = 0,
) -> Route:
	problem = business_account_problem(account)
	if problem:
		return problem
	consent = consent or ConsentState()
	if consent.opted_out:
		return Route(block=Block.OPTED_OUT, reason="The contact opted out of WhatsApp marketing.")
	if not consent.opted_in:
		return Route(block=Block.NO_CONSENT, reason="The contact has no recorded WhatsApp marketing opt-in.")
	if number_warning:
		kind, why = number_warning
		return Route(block=Block(kind), reason=why)
	if frequency_cap and frequency_cap.reached(recent_marketing):
		return Route(block=Block.FREQUENCY_CAP, reason=frequency_cap.reason(recent_marketing))
	if now and quiet_hours:
		ends = quiet_hours_end(now, *quiet_hours)
		if ends:
			return Route(
				block=Block.QUIET_HOURS,
				reason=f"Quiet hours until {ends:%H:%M}: marketing waits until then.",
				not_before=ends,
			)
	return Route(account=account.name)


def quiet_hours_end(now: datetime, start: time, end: time) -> datetime | None:
	"""When the quiet period containing ``now`` ends, or None outside quiet hours.

	Quiet hours may wrap midnight (21:00 -> 09:00)."""
	if start == end:
		return None
	current = now.time()
	if start < end:
		inside = start <= current < end
		end_day = now.date()
	else:
		inside = current >= start or current < end
		end_day = now.date() + timedelta(days=1) if current >= start else now.date()
	if not inside:
		return None
	return datetime.combine(end_day, end, tzinfo=now.tzinfo)


def next_quiet_start(now: datetime, start: time, end: time) -> datetime | None:
	"""When the next quiet period begins after ``now`` (None without quiet hours). Inside quiet
	hours this is the start of the following night."""
	if start == end:
		return None
	begins = datetime.combine(now.date(), start, tzinfo=now.tzinfo)
	if begins <= now:
		begins += timedelta(days=1)
	return begins
