"""Segment rules as a studio owner types them, checked and turned into plain values.

Rules are grouped: rules with the same group number must all hold (AND), and a customer is in
the segment when any group holds (OR). Each rule can be negated. That covers "(A and B) or C"
and "A and not B" without a query language.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

CRITERIA = {
	"Lifetime Spend": (">", ">=", "<", "<=", "=", "between"),
	"Customer Group": ("is",),
	"Booked Item Group": ("booked",),
	"City": ("is",),
	"State": ("is",),
	"First Booking Date": ("before", "after", "between", "more than months ago", "within last months"),
	"Last Booking Date": ("before", "after", "between", "more than months ago", "within last months"),
	"Customer Since": ("before", "after", "between", "more than months ago", "within last months"),
	"Birthday Month": ("is",),
	"Campaign Engagement": (
		"received",
		"delivered",
		"read",
		"not read",
		"clicked",
		"not clicked",
		"replied",
		"did not reply",
		"booked",
	),
}
ENGAGED_WITH = ("WhatsApp Campaign", "Drip Sequence")  # or neither: any campaign or sequence
MAX_ENGAGEMENT_DAYS = 3650


@dataclass(frozen=True)
class Engagement:
	"""What a Campaign Engagement operator asks of a customer's messages (from the campaign or
	sequence named, or any, sent in the last days asked):

	- ``messages``: which of them count: ``"sent"`` (handed to Meta: Accepted, Sent, Delivered,
	  Read), ``"delivered"`` (Delivered or Read), ``"read"``, ``"clicked"`` (a tracked link
	  opened), ``"replied"``;
	- ``none_of``: the negative operators ("not read"): the customer received at least one such
	  message and *none* of them was read. Someone never messaged did not "not read": a follow-up
	  goes to those who got the message, and the rule's Negate box covers "never read anything";
	- ``booking``: "booked": an Active Attribution to the campaign or sequence (any, when none is
	  named) made in the days asked.
	"""

	messages: str
	none_of: bool = False
	booking: bool = False


ENGAGEMENTS = {
	"received": Engagement("sent"),
	"delivered": Engagement("delivered"),
	"read": Engagement("read"),
	"not read": Engagement("read", none_of=True),
	"clicked": Engagement("clicked"),
	"not clicked": Engagement("clicked", none_of=True),
	"replied": Engagement("replied"),
	"did not reply": Engagement("replied", none_of=True),
	"booked": Engagement("sent", booking=True),
}
_UNITS = {"k": 1_000, "thousand": 1_000, "l": 100_000, "lac": 100_000, "lakh": 100_000, "lakhs": 100_000,
          "cr": 10_000_000, "crore": 10_000_000, "crores": 10_000_000}  # fmt: skip
_AMOUNT = re.compile(r"^(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[a-z]+)?$")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})


class RuleError(ValueError):
	"""A rule that cannot be evaluated; the message says which rule and what to type instead."""


@dataclass
class Rule:
	criterion: str
	operator: str
	value: str | None = None
	value_to: str | None = None
	negate: bool = False
	group: int = 1
	booked_from: date | None = None
	booked_to: date | None = None
	booked_months_ago: int | None = None
	row: int | None = None  # the table row, for messages
	engaged_with: str | None = None  # Campaign Engagement: "WhatsApp Campaign", "Drip Sequence"
	engagement_reference: str | None = None  # ... and which one (none: any of that kind)
	within_days: int | None = None  # ... in the last days (none: any time)


def parse_amount(text: str | None) -> Decimal:
	"""``"1,00,000"``, ``"₹1L"``, ``"1.5 lakh"``, ``"2 cr"``, ``"250k"`` -> a Decimal of rupees."""
	cleaned = (
		(text or "").lower().replace("₹", "").replace("rs.", "").replace("rs", "").replace(",", "").strip()
	)
	match = _AMOUNT.match(cleaned)
	if not match or (match["unit"] and match["unit"] not in _UNITS):
		raise RuleError(f"{text!r} is not an amount (examples: 100000, 1,00,000, 1L, 2.5 lakh, 1 crore)")
	try:
		amount = Decimal(match["number"])
	except InvalidOperation:
		raise RuleError(f"{text!r} is not an amount")
	return amount * _UNITS[match["unit"]] if match["unit"] else amount


def parse_months(text: str | None) -> int:
	try:
		months = int(str(text).strip())
	except (TypeError, ValueError):
		raise RuleError(f"{text!r} is not a number of months")
	if months < 0 or months > 1200:
		raise RuleError(f"{months} months is out of range")
	return months


def parse_month_names(text: str | None) -> list[int]:
	"""``"March, Apr"`` or ``"3,4"`` -> [3, 4]."""
	months = []
	for part in re.split(r"[,\s]+", (text or "").strip()):
		if not part:
			continue
		key = part.lower().rstrip(".")
		if key.isdigit() and 1 <= int(key) <= 12:
			months.append(int(key))
		elif key in _MONTHS:
			months.append(_MONTHS[key])
		else:
			raise RuleError(f"{part!r} is not a month (January..December or 1..12)")
	if not months:
		raise RuleError("Give at least one month")
	return sorted(set(months))


def parse_date(text: str | date | None) -> date:
	if isinstance(text, datetime):
		return text.date()
	if isinstance(text, date):
		return text
	for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y"):
		try:
			parsed = datetime.strptime(str(text).strip(), fmt).date()
		except (TypeError, ValueError):
			continue
		return parsed
	raise RuleError(f"{text!r} is not a date (YYYY-MM-DD or DD-MM-YYYY)")


def split_list(text: str | None) -> list[str]:
	values = [v.strip() for v in (text or "").split(",") if v.strip()]
	if not values:
		raise RuleError("Give at least one value")
	return values


def check(rule: Rule) -> None:
	"""Raise :class:`RuleError` when ``rule`` cannot be evaluated."""
	where = f"Rule {rule.row}: " if rule.row else ""
	operators = CRITERIA.get(rule.criterion)
	if operators is None:
		raise RuleError(f"{where}unknown criterion {rule.criterion!r}")
	if rule.operator not in operators:
		raise RuleError(f"{where}{rule.criterion} takes {', '.join(operators)}, not {rule.operator!r}")
	try:
		if rule.criterion == "Lifetime Spend":
			parse_amount(rule.value)
			if rule.operator == "between":
				parse_amount(rule.value_to)
		elif rule.criterion == "Birthday Month":
			parse_month_names(rule.value)
		elif rule.criterion == "Campaign Engagement":
			check_engagement(rule)
		elif rule.criterion.endswith(("Date", "Since")):
			if rule.operator in ("more than months ago", "within last months"):
				parse_months(rule.value)
			else:
				parse_date(rule.value)
				if rule.operator == "between":
					parse_date(rule.value_to)
		else:
			split_list(rule.value)
		if rule.booked_months_ago is not None:
			parse_months(rule.booked_months_ago)
	except RuleError as e:
		raise RuleError(f"{where}{rule.criterion}: {e}")
	if rule.booked_from and rule.booked_to and rule.booked_from > rule.booked_to:
		raise RuleError(f"{where}'booked from' is after 'booked to'")


def check_engagement(rule: Rule) -> None:
	if rule.engaged_with and rule.engaged_with not in ENGAGED_WITH:
		raise RuleError(f"engagement is with a {' or a '.join(ENGAGED_WITH)}, not {rule.engaged_with!r}")
	if rule.engagement_reference and not rule.engaged_with:
		raise RuleError(
			f"say whether {rule.engagement_reference!r} is a WhatsApp Campaign or a Drip Sequence"
		)
	if rule.within_days is not None and not 0 <= rule.within_days <= MAX_ENGAGEMENT_DAYS:
		raise RuleError(
			f"'in the last days' takes 1 to {MAX_ENGAGEMENT_DAYS} (or 0: any time), not {rule.within_days}"
		)


def groups(rules: list[Rule]) -> list[list[Rule]]:
	"""Rules by group number, in order: the segment is OR over groups of AND-ed rules."""
	by_group: dict[int, list[Rule]] = {}
	for rule in rules:
		by_group.setdefault(rule.group or 1, []).append(rule)
	return [by_group[g] for g in sorted(by_group)]


def add_months(day: date, months: int) -> date:
	"""``day`` moved by ``months`` (negative: back), clamped to the month's last day."""
	month_index = day.year * 12 + day.month - 1 + months
	year, month = divmod(month_index, 12)
	last = calendar.monthrange(year, month + 1)[1]
	return date(year, month + 1, min(day.day, last))
