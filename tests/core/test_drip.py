import itertools
from datetime import date, datetime, time, timedelta, timezone

import pytest

from marketing_engine.engine.drip import (
	Step,
	birthday_this_year,
	birthdays_on,
	date_window,
	is_birthday,
	parse_time_of_day,
	run_at,
	stalled_window,
	validate_steps,
)

IST = timezone(timedelta(hours=5, minutes=30))


# -- times of day -----------------------------------------------------------------------------
@pytest.mark.parametrize(
	("written", "expected"),
	[
		("09:00", time(9, 0)),
		("9:30", time(9, 30)),
		("21:05", time(21, 5)),
		("00:00", time(0, 0)),
		("23:59", time(23, 59)),
		("9.30", time(9, 30)),
		(" 09:00:00 ", time(9, 0)),  # as Frappe writes a Time field
		("9 am", time(9, 0)),
		("9am", time(9, 0)),
		("9:30 pm", time(21, 30)),
		("9:30PM", time(21, 30)),
		("9 a.m.", time(9, 0)),
		("12 am", time(0, 0)),
		("12:15 am", time(0, 15)),
		("12 pm", time(12, 0)),
		("12:45 p.m.", time(12, 45)),
	],
)
def test_times_of_day_as_a_studio_types_them(written, expected):
	assert parse_time_of_day(written) == expected


def test_times_of_day_as_frappe_holds_them():
	assert parse_time_of_day(time(7, 15)) == time(7, 15)
	assert parse_time_of_day(timedelta(hours=18, minutes=30)) == time(18, 30)  # Time from the database
	with pytest.raises(ValueError, match="between 00:00 and 23:59"):
		parse_time_of_day(timedelta(hours=24))


@pytest.mark.parametrize(
	("written", "says"),
	[
		("", "No time of day given"),
		(None, "No time of day given"),
		("9", "write it like 09:00"),
		("morning", "write it like 09:00"),
		("9:5", "write it like 09:00"),
		("24:00", "the hour goes from 0 to 23"),
		("25:10", "the hour goes from 0 to 23"),
		("09:60", "minutes and seconds go from 0 to 59"),
		("13 pm", "with am or pm the hour goes from 1 to 12"),
		("0 am", "with am or pm the hour goes from 1 to 12"),
		("21:05 pm", "with am or pm the hour goes from 1 to 12"),
	],
)
def test_what_is_not_a_time_of_day_is_explained(written, says):
	with pytest.raises(ValueError, match=says):
		parse_time_of_day(written)


# -- when a step is due -----------------------------------------------------------------------
def test_a_wait_without_a_time_of_day_adds_to_the_start():
	trigger = datetime(2026, 3, 1, 18, 45)
	assert run_at(Step(2, "Days"), trigger, None) == datetime(2026, 3, 3, 18, 45)
	assert run_at(Step(6, "Hours"), trigger, None) == datetime(2026, 3, 2, 0, 45)  # across midnight
	assert run_at(Step(90, "Minutes"), trigger, None) == datetime(2026, 3, 1, 20, 15)
	assert run_at(Step(0, "Days"), trigger, None) == trigger


def test_a_time_of_day_sends_on_the_day_the_wait_lands_on():
	trigger = datetime(2026, 3, 1, 18, 45)
	step = Step(2, "Days", at_time=time(10, 0))
	assert run_at(step, trigger, None) == datetime(2026, 3, 3, 10, 0)  # earlier in the day than the trigger
	assert run_at(Step(1, "Days", at_time=time(21, 0)), trigger, None) == datetime(2026, 3, 2, 21, 0)


def test_day_zero_at_a_time_already_passed_is_due_at_once_not_skipped():
	trigger = datetime(2026, 3, 1, 10, 0)
	due = run_at(Step(0, "Days", at_time=time(9, 0)), trigger, None)
	assert due == datetime(2026, 3, 1, 9, 0)
	assert due <= trigger  # a scheduler pass at the trigger already finds it due
	assert run_at(Step(0, "Days", at_time=time(11, 0)), trigger, None) == datetime(2026, 3, 1, 11, 0)


def test_midnight_edges():
	just_before = datetime(2026, 3, 1, 23, 59, 59)
	assert run_at(Step(1, "Days", at_time=time(0, 0)), just_before, None) == datetime(2026, 3, 2, 0, 0)
	assert run_at(Step(1, "Minutes"), just_before, None) == datetime(2026, 3, 2, 0, 0, 59)
	midnight = datetime(2026, 3, 2)
	assert run_at(Step(0, "Days", at_time=time(0, 0)), midnight, None) == midnight
	assert run_at(Step(1, "Days", at_time=time(23, 59)), midnight, None) == datetime(2026, 3, 3, 23, 59)


def test_day_waits_cross_month_year_and_leap_day():
	assert run_at(Step(1, "Days", at_time=time(9, 0)), datetime(2028, 2, 28, 20, 0), None) == datetime(
		2028, 2, 29, 9, 0
	)
	assert run_at(Step(1, "Days"), datetime(2026, 2, 28, 20, 0), None) == datetime(2026, 3, 1, 20, 0)
	assert run_at(Step(3, "Days", at_time=time(9, 0)), datetime(2026, 12, 30, 8, 0), None) == datetime(
		2027, 1, 2, 9, 0
	)


def test_after_the_previous_step_counts_from_when_it_was_sent():
	trigger = datetime(2026, 3, 1, 9, 0)
	previous = datetime(2026, 3, 4, 17, 30)
	assert run_at(Step(1, "Days", "Previous Step"), trigger, previous) == datetime(2026, 3, 5, 17, 30)
	assert run_at(Step(1, "Days", "Trigger"), trigger, previous) == datetime(2026, 3, 2, 9, 0)
	# Without a previous step the trigger is where the wait starts.
	assert run_at(Step(1, "Days", "Previous Step"), trigger, None) == datetime(2026, 3, 2, 9, 0)


def test_times_are_never_shifted_between_time_zones():
	"""Naive site-local times stay naive and on the studio's clock; an aware time keeps its zone."""
	trigger = datetime(2026, 3, 1, 22, 30)  # 22:30 in Kolkata, 17:00 UTC
	due = run_at(Step(1, "Days", at_time=time(9, 0)), trigger, None)
	assert due == datetime(2026, 3, 2, 9, 0) and due.tzinfo is None
	aware = datetime(2026, 3, 1, 22, 30, tzinfo=IST)
	due = run_at(Step(1, "Days", at_time=time(9, 0)), aware, None)
	assert due.tzinfo is IST and (due.hour, due.minute) == (9, 0)
	assert run_at(Step(2, "Hours"), aware, None) == datetime(2026, 3, 2, 0, 30, tzinfo=IST)


def test_steps_that_cannot_be_scheduled_are_refused():
	trigger = datetime(2026, 3, 1, 9, 0)
	with pytest.raises(ValueError, match="needs a wait in days"):
		run_at(Step(3, "Hours", at_time=time(9, 0)), trigger, None)
	with pytest.raises(ValueError, match="negative"):
		run_at(Step(-1, "Days"), trigger, None)
	with pytest.raises(ValueError, match="unknown unit"):
		run_at(Step(1, "Weeks"), trigger, None)


def test_validate_steps_names_each_problem_by_step():
	steps = [
		Step(1, "Days", "Previous Step"),
		Step(2, "Hours", at_time=time(9, 0)),
		Step(-1, "Days"),
		Step(1, "Fortnights", "Later"),
		Step(1.5, "Days"),
		Step(3, "Days", "Previous Step", at_time=time(10, 0), skip_if_booked=True),
	]
	assert validate_steps(steps) == [
		"Step 1: the first step has no previous step: make it wait after the trigger",
		"Step 2: a time of day needs a wait in days; with hours the message goes when the wait is over",
		"Step 3: the wait cannot be negative (-1)",
		"Step 4: unknown unit 'Fortnights': use Days, Hours, Minutes",
		"Step 4: unknown start 'Later': use Trigger or Previous Step",
		"Step 5: the wait must be a whole number, not 1.5",
	]
	assert validate_steps([Step(0, "Days", at_time=time(9, 0)), Step(2, "Hours", "Previous Step")]) == []
	assert validate_steps([]) == []


# -- birthdays --------------------------------------------------------------------------------
def test_birthdays_keep_their_day_in_every_year():
	assert birthday_this_year(date(1990, 7, 14), 2026) == date(2026, 7, 14)
	assert birthday_this_year(date(1990, 12, 31), 2027) == date(2027, 12, 31)


def test_a_29_february_birthday_is_kept_on_28_february_in_common_years():
	leapling = date(1996, 2, 29)
	assert birthday_this_year(leapling, 2028) == date(2028, 2, 29)
	assert birthday_this_year(leapling, 2026) == date(2026, 2, 28)
	assert birthday_this_year(leapling, 2100) == date(2100, 2, 28)  # divisible by 100: not leap
	assert birthday_this_year(leapling, 2000) == date(2000, 2, 29)  # divisible by 400: leap
	assert is_birthday(leapling, date(2026, 2, 28))
	assert not is_birthday(leapling, date(2026, 3, 1))
	assert is_birthday(leapling, date(2028, 2, 29))
	assert not is_birthday(leapling, date(2028, 2, 28))  # in a leap year it is the 29th
	assert is_birthday(date(1995, 2, 28), date(2028, 2, 28))
	assert not is_birthday(date(1995, 2, 28), date(2028, 2, 29))


def test_birthdays_on_gives_the_month_day_pairs_for_sql():
	assert birthdays_on(date(2026, 7, 14)) == [(7, 14)]
	assert birthdays_on(date(2026, 2, 28)) == [(2, 28), (2, 29)]
	assert birthdays_on(date(2028, 2, 28)) == [(2, 28)]
	assert birthdays_on(date(2028, 2, 29)) == [(2, 29)]
	assert birthdays_on(date(2100, 2, 28)) == [(2, 28), (2, 29)]
	assert birthdays_on(date(2026, 3, 1)) == [(3, 1)]


def test_birthdays_on_and_is_birthday_agree_every_day_of_leap_and_common_years():
	births = [date(1996, 2, 29), date(1990, 2, 28), date(1990, 3, 1), date(1990, 1, 1), date(1990, 12, 31)]
	for year in (2026, 2028):
		day = date(year, 1, 1)
		while day.year == year:
			pairs = birthdays_on(day)
			for born in births:
				assert is_birthday(born, day) == ((born.month, born.day) in pairs), (born, day)
			day += timedelta(days=1)


# -- scheduler windows ------------------------------------------------------------------------
def test_stalled_window_covers_what_became_stalled_since_the_last_sweep():
	now = datetime(2026, 3, 10, 9, 0)
	first = stalled_window(None, now, days=3)
	assert first == (datetime(2026, 2, 5, 9, 0), datetime(2026, 3, 7, 9, 0))  # 30 days back on the first
	assert stalled_window(None, now, days=3, first_sweep_lookback_days=0) == (first[1], first[1])
	later = now + timedelta(minutes=15)
	after, until = stalled_window(first[1], later, days=3)
	assert (after, until) == (datetime(2026, 3, 7, 9, 0), datetime(2026, 3, 7, 9, 15))


def test_consecutive_stalled_windows_neither_overlap_nor_leave_gaps():
	mark = None
	now = datetime(2026, 3, 1, 23, 50)
	covered = []
	for _ in range(8):
		after, until = stalled_window(mark, now, days=2, first_sweep_lookback_days=1)
		covered.append((after, until))
		mark = until
		now += timedelta(minutes=7)  # crosses midnight
	for (_, previous_until), (after, _) in itertools.pairwise(covered):
		assert after == previous_until


def test_a_longer_stall_setting_never_moves_the_mark_back():
	now = datetime(2026, 3, 10, 9, 0)
	mark = now - timedelta(days=3)  # the last sweep used 3 days
	assert stalled_window(mark, now, days=7) == (mark, mark)
	with pytest.raises(ValueError):
		stalled_window(None, now, days=-1)


def test_stalled_window_keeps_times_as_given():
	now = datetime(2026, 3, 10, 0, 0)  # site midnight
	after, until = stalled_window(None, now, days=1, first_sweep_lookback_days=1)
	assert (after, until) == (datetime(2026, 3, 8), datetime(2026, 3, 9))
	assert until.tzinfo is None


def test_date_window_covers_values_due_by_today():
	today = date(2026, 3, 10)
	# "1 day after the shoot": values up to 9 March are due.
	assert date_window(None, today, offset_days=1) == (date(2026, 3, 2), date(2026, 3, 9))
	assert date_window(date(2026, 3, 8), today, offset_days=1) == (date(2026, 3, 8), date(2026, 3, 9))
	# "3 days before the wedding": weddings up to 13 March are due today.
	assert date_window(date(2026, 3, 12), today, offset_days=-3) == (date(2026, 3, 12), date(2026, 3, 13))
	# On the same day it was swept, nothing more is due.
	assert date_window(date(2026, 3, 9), today, offset_days=1) == (date(2026, 3, 9), date(2026, 3, 9))


def test_date_window_across_the_leap_day_and_year_end():
	assert date_window(None, date(2028, 3, 1), offset_days=1, lookback_days=1) == (
		date(2028, 2, 28),
		date(2028, 2, 29),
	)
	assert date_window(date(2026, 12, 31), date(2027, 1, 1), offset_days=0) == (
		date(2026, 12, 31),
		date(2027, 1, 1),
	)
	assert date_window(date(2026, 3, 9), date(2026, 3, 10), offset_days=5) == (
		date(2026, 3, 9),
		date(2026, 3, 9),
	)
	with pytest.raises(ValueError):
		date_window(None, date(2026, 3, 10), 0, lookback_days=-1)
