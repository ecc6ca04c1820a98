from datetime import date
from decimal import Decimal

import pytest

from marketing_engine.engine.segment_rules import (
	Rule,
	RuleError,
	add_months,
	check,
	groups,
	parse_amount,
	parse_date,
	parse_month_names,
)


@pytest.mark.parametrize(
	"text, amount",
	[
		("100000", 100000),
		("1,00,000", 100000),
		("₹1,00,000", 100000),
		("1L", 100000),
		("1.5 lakh", 150000),
		("2 cr", 20000000),
		("250k", 250000),
		("Rs 5000", 5000),
	],
)
def test_amounts_as_typed_in_india(text, amount):
	assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["", None, "lots", "1 million", "1,0a"])
def test_bad_amounts_say_what_is_expected(text):
	with pytest.raises(RuleError, match="not an amount"):
		parse_amount(text)


def test_months_and_dates():
	assert parse_month_names("March, apr 12") == [3, 4, 12]
	with pytest.raises(RuleError, match="not a month"):
		parse_month_names("Marchember")
	assert parse_date("2024-01-31") == date(2024, 1, 31)
	assert parse_date("31-01-2024") == date(2024, 1, 31)
	with pytest.raises(RuleError):
		parse_date("yesterday")


def test_add_months_clamps_to_month_end():
	assert add_months(date(2026, 8, 31), -6) == date(2026, 2, 28)
	assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)


def test_rules_are_checked_with_row_numbers():
	check(Rule("Lifetime Spend", ">", "1,00,000"))
	check(Rule("Booked Item Group", "booked", "Maternity", booked_months_ago=6))
	check(Rule("Last Booking Date", "within last months", "12"))
	with pytest.raises(RuleError, match="Rule 3: Lifetime Spend takes"):
		check(Rule("Lifetime Spend", "is", "5", row=3))
	with pytest.raises(RuleError, match="Rule 2: Lifetime Spend: 'abc' is not an amount"):
		check(Rule("Lifetime Spend", ">", "abc", row=2))
	with pytest.raises(RuleError, match="unknown criterion"):
		check(Rule("Shoe Size", "is", "9"))
	with pytest.raises(RuleError, match="booked from"):
		check(
			Rule(
				"Booked Item Group",
				"booked",
				"Wedding",
				booked_from=date(2025, 1, 1),
				booked_to=date(2024, 1, 1),
			)
		)


def test_groups_are_ordered_and_default_to_one():
	a, b, c = (
		Rule("City", "is", "Mumbai", group=2),
		Rule("City", "is", "Pune", group=0),
		Rule("State", "is", "Goa", group=1),
	)
	assert groups([a, b, c]) == [[b, c], [a]]


def test_campaign_engagement_rules_are_checked():
	check(
		Rule(
			"Campaign Engagement", "not read", engaged_with="WhatsApp Campaign", engagement_reference="Diwali"
		)
	)
	check(Rule("Campaign Engagement", "clicked", within_days=30))  # any campaign or sequence
	check(Rule("Campaign Engagement", "booked", engaged_with="Drip Sequence"))  # any sequence
	with pytest.raises(RuleError, match="Rule 4: Campaign Engagement takes received, delivered, read"):
		check(Rule("Campaign Engagement", "opened", row=4))
	with pytest.raises(RuleError, match="is a WhatsApp Campaign or a Drip Sequence"):
		check(Rule("Campaign Engagement", "read", engagement_reference="Diwali"))
	with pytest.raises(RuleError, match="not 'Email Campaign'"):
		check(Rule("Campaign Engagement", "read", engaged_with="Email Campaign"))
	with pytest.raises(RuleError, match="Rule 2: Campaign Engagement: 'in the last days' takes 1 to 3650"):
		check(Rule("Campaign Engagement", "read", within_days=-1, row=2))


def test_each_engagement_operator_says_what_it_counts():
	from marketing_engine.engine.segment_rules import CRITERIA, ENGAGEMENTS

	assert set(ENGAGEMENTS) == set(CRITERIA["Campaign Engagement"])
	# A negative operator asks that the person got such messages and none of them did it.
	assert {op for op, e in ENGAGEMENTS.items() if e.none_of} == {"not read", "not clicked", "did not reply"}
	for op in ("not read", "not clicked", "did not reply"):
		assert (
			ENGAGEMENTS[op].messages
			== ENGAGEMENTS[op.replace("not ", "").replace("did reply", "replied")].messages
		)
	assert ENGAGEMENTS["booked"].booking and not ENGAGEMENTS["received"].booking
