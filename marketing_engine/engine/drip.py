"""When the steps of a drip sequence are due, and which records a scheduler pass must look at.

Every time here is a naive datetime in the site's time zone (Asia/Kolkata for most studios), as
the Frappe side stores and passes them; nothing here converts or shifts a time. A step "on the
day at 09:00" therefore means 09:00 on the studio's clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

UNITS = ("Days", "Hours", "Minutes")
AFTER_TRIGGER = "Trigger"
AFTER_PREVIOUS_STEP = "Previous Step"
AFTERS = (AFTER_TRIGGER, AFTER_PREVIOUS_STEP)
TIME_FORMATS_HINT = "write it like 09:00, 9:30, 21:05, 9 am or 9:30 pm"

_TWENTY_FOUR_HOUR = re.compile(r"(\d{1,2})[:.](\d{2})(?::(\d{2}))?")
_TWELVE_HOUR = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s*m\.?", re.IGNORECASE)


@dataclass(frozen=True)
class Step:
	"""One message of a sequence: sent ``wait`` ``unit`` after the trigger or the previous step.

	With ``at_time`` the wait counts whole days and the message goes at that time of day on the
	day it lands on ("2 days after the shoot, at 10:00"); only ``unit="Days"`` allows it."""

	wait: int
	unit: str = "Days"
	after: str = AFTER_TRIGGER
	at_time: time | None = None
	skip_if_booked: bool = False


def parse_time_of_day(text: str | time | timedelta) -> time:
	"""A time of day as a studio types it: ``09:00``, ``9:30``, ``21:05``, ``9 am``, ``9:30 pm``.

	Also takes what Frappe holds for a Time field: ``"09:00:00"``, a ``time`` or a ``timedelta``
	since midnight. Raises ValueError saying what is wrong and how to write it."""
	if isinstance(text, time):
		return text
	if isinstance(text, timedelta):
		seconds = int(text.total_seconds())
		if not 0 <= seconds < 24 * 3600:
			raise ValueError(f"{text} is not a time of day: it must be between 00:00 and 23:59")
		return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)
	written = " ".join(str(text or "").split())
	if not written:
		raise ValueError(f"No time of day given: {TIME_FORMATS_HINT}")
	match = _TWELVE_HOUR.fullmatch(written)
	if match:
		hour, minute = int(match[1]), int(match[2] or 0)
		if not 1 <= hour <= 12:
			raise ValueError(f"{written!r} is not a time of day: with am or pm the hour goes from 1 to 12")
		is_pm = match[3].lower() == "p"
		return _time_of_day(written, hour % 12 + (12 if is_pm else 0), minute, 0)
	match = _TWENTY_FOUR_HOUR.fullmatch(written)
	if match:
		return _time_of_day(written, int(match[1]), int(match[2]), int(match[3] or 0))
	raise ValueError(f"{written!r} is not a time of day: {TIME_FORMATS_HINT}")


def _time_of_day(written: str, hour: int, minute: int, second: int) -> time:
	if hour > 23:
		raise ValueError(f"{written!r} is not a time of day: the hour goes from 0 to 23")
	if minute > 59 or second > 59:
		raise ValueError(f"{written!r} is not a time of day: minutes and seconds go from 0 to 59")
	return time(hour, minute, second)


def step_problems(step: Step) -> list[str]:
	"""What is wrong with one step on its own, in words."""
	problems = []
	if isinstance(step.wait, bool) or not isinstance(step.wait, int):
		problems.append(f"the wait must be a whole number, not {step.wait!r}")
	elif step.wait < 0:
		problems.append(f"the wait cannot be negative ({step.wait})")
	if step.unit not in UNITS:
		problems.append(f"unknown unit {step.unit!r}: use {', '.join(UNITS)}")
	elif step.at_time is not None and step.unit != "Days":
		problems.append(
			f"a time of day needs a wait in days; with {step.unit.lower()} the message goes when the wait is over"
		)
	if step.after not in AFTERS:
		problems.append(f"unknown start {step.after!r}: use {AFTER_TRIGGER} or {AFTER_PREVIOUS_STEP}")
	return problems


def validate_steps(steps: list[Step]) -> list[str]:
	"""Every problem of a sequence's steps, as ``"Step 2: ..."``; empty when it can run."""
	problems = []
	for position, step in enumerate(steps, start=1):
		problems += [f"Step {position}: {problem}" for problem in step_problems(step)]
		if position == 1 and step.after == AFTER_PREVIOUS_STEP:
			problems.append("Step 1: the first step has no previous step: make it wait after the trigger")
	return problems


def run_at(step: Step, trigger_at: datetime, previous_at: datetime | None = None) -> datetime:
	"""When ``step`` is due, counted from ``trigger_at`` or from ``previous_at`` (when the previous
	step was sent; the trigger itself when there is none).

	With ``at_time`` the message goes at that time on the day ``wait`` days after the start.
	On day 0 that time may already have passed ("0 days at 09:00" for a trigger at 10:00): the step
	is then due at once, never skipped, since a late reminder beats a lost one.
	Raises ValueError for a step :func:`step_problems` finds fault with.
	"""
	problems = step_problems(step)
	if problems:
		raise ValueError(f"Cannot schedule this step: {'; '.join(problems)}")
	start = previous_at if step.after == AFTER_PREVIOUS_STEP and previous_at is not None else trigger_at
	if step.at_time is not None:
		day = start.date() + timedelta(days=step.wait)
		return datetime.combine(day, step.at_time, tzinfo=start.tzinfo)
	return start + timedelta(**{step.unit.lower(): step.wait})


# -- birthdays ------------------------------------------------------------------------------------
def birthday_this_year(birthday: date, year: int) -> date:
	"""The day ``birthday`` is celebrated in ``year``: 29 February falls on 28 February in years
	that are not leap years (so it is never skipped, and never moved into March)."""
	try:
		return birthday.replace(year=year)
	except ValueError:  # 29 February in a common year
		return date(year, 2, 28)


def is_birthday(birthday: date, today: date) -> bool:
	return birthday_this_year(birthday, today.year) == today


def birthdays_on(today: date) -> list[tuple[int, int]]:
	"""The (month, day) pairs of birth dates celebrated on ``today``, for a SQL filter on month
	and day: on 28 February of a common year that is also 29 February."""
	pairs = [(today.month, today.day)]
	if (today.month, today.day) == (2, 28) and not _is_leap(today.year):
		pairs.append((2, 29))
	return pairs


def _is_leap(year: int) -> bool:
	return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


# -- what a scheduler pass looks at ---------------------------------------------------------------
def stalled_window(
	last_swept_until: datetime | None,
	now: datetime,
	days: int,
	first_sweep_lookback_days: int = 30,
) -> tuple[datetime, datetime]:
	"""The (after, until] range of ``modified`` times of records that became unchanged for
	``days`` days since the last sweep: ``until`` is ``now - days``; ``after`` is where the last
	sweep stopped, or ``first_sweep_lookback_days`` before ``until`` on the first sweep. A pass
	then reads only what became due since the last one; it stores ``until`` for the next.

	When ``days`` grew since the last sweep, ``until`` falls before where it stopped: the range
	is then empty at the old mark, so nothing is swept twice and the mark never moves back."""
	if days < 0 or first_sweep_lookback_days < 0:
		raise ValueError("days and first_sweep_lookback_days cannot be negative")
	until = now - timedelta(days=days)
	after = (
		last_swept_until
		if last_swept_until is not None
		else until - timedelta(days=first_sweep_lookback_days)
	)
	if after > until:
		return after, after
	return after, until


def date_window(
	last_swept_until: date | None, today: date, offset_days: int, lookback_days: int = 7
) -> tuple[date, date]:
	"""The (after, until] range of date field values due by ``today`` and not swept before: a
	value is due when ``value + offset_days <= today`` (a negative offset sends before the date:
	-3 is three days before a wedding). ``after`` is where the last sweep stopped, or
	``lookback_days`` before ``until`` on the first sweep, so a missed day is caught up but an old
	archive is not messaged. As with :func:`stalled_window` the mark never moves back."""
	if lookback_days < 0:
		raise ValueError("lookback_days cannot be negative")
	until = today - timedelta(days=offset_days)
	after = last_swept_until if last_swept_until is not None else until - timedelta(days=lookback_days)
	if after > until:
		return after, after
	return after, until
