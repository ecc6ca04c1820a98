"""A/B tests of template variants: the split, its SQL twin, the z-test and the winner."""

import hashlib
import math
import re
from collections import Counter

import pytest

from marketing_engine.engine import ab_test
from marketing_engine.engine.ab_test import (
	ALL_PAUSED,
	BEST_RATE,
	HASH_RANGE,
	LEADS,
	METRIC_LABELS,
	NO_SENDS,
	NOT_BEYOND_CHANCE,
	OTHERS_PAUSED,
	TIE,
	SplitPreview,
	VariantResult,
	assign_group,
	assignment_number,
	compare,
	group_sql,
	pick_winner,
	split_sizes,
	z_test,
)

PEOPLE = [f"CONT-{number:06d}" for number in range(100_000)]
READ = METRIC_LABELS["read"]


def split(campaign_key: str, variants: list[str], test_share: float) -> list[str | None]:
	return [assign_group(campaign_key, person, variants, test_share) for person in PEOPLE]


# --- Assignment -------------------------------------------------------------------------------


def test_the_same_person_gets_the_same_group_every_time():
	first = split("WAC-0001", ["A", "B"], 0.2)
	assert split("WAC-0001", ["A", "B"], 0.2) == first


def test_the_draw_is_sha256s_first_13_hex_digits_not_pythons_hash():
	# Python's hash() of text changes with every process; the draw must not.
	digest = hashlib.sha256(b"WAC-0001CONT-000042").hexdigest()
	assert assignment_number("WAC-0001", "CONT-000042") == int(digest[:13], 16) / 16**13
	assert assignment_number("WAC-0001", "Zoë Ñúñez") == (
		int(hashlib.sha256("WAC-0001Zoë Ñúñez".encode()).hexdigest()[:13], 16) / 16**13
	)


def test_different_campaigns_split_the_same_people_differently():
	first = split("WAC-0001", ["A", "B"], 1)
	second = split("WAC-0002", ["A", "B"], 1)
	changed = sum(a != b for a, b in zip(first, second, strict=True))
	# Independent halvings disagree for about half of the people.
	assert 0.45 < changed / len(PEOPLE) < 0.55


@pytest.mark.parametrize("variants", [["A", "B"], ["A", "B", "C"]])
@pytest.mark.parametrize("test_share", [1, 0.2])
def test_the_test_share_is_split_evenly(variants, test_share):
	counts = Counter(split("WAC-0001", variants, test_share))
	expected_per_variant = len(PEOPLE) * test_share / len(variants)
	for variant in variants:
		assert counts[variant] == pytest.approx(expected_per_variant, rel=0.02)
	assert counts[None] == pytest.approx(len(PEOPLE) * (1 - test_share), rel=0.02, abs=0)


def test_groups_follow_the_draw_in_the_order_of_the_variants():
	variants, test_share = ["A", "B", "C"], 0.2
	for person in PEOPLE[:5_000]:
		draw = assignment_number("WAC-0001", person)
		expected = None if draw >= test_share else variants[math.floor(draw * len(variants) / test_share)]
		assert assign_group("WAC-0001", person, variants, test_share) == expected


def test_a_draw_on_a_boundary_falls_in_the_upper_group(monkeypatch):
	limits = ab_test._group_limits(2, 0.5)
	assert limits == (HASH_RANGE // 4, HASH_RANGE // 2)
	for bits, expected in [
		(0, "A"),
		(limits[0] - 1, "A"),
		(limits[0], "B"),
		(limits[1] - 1, "B"),
		(limits[1], None),
		(HASH_RANGE - 1, None),
	]:
		monkeypatch.setattr(ab_test, "_draw_bits", lambda campaign, person, bits=bits: bits)
		assert assign_group("WAC-0001", "anyone", ["A", "B"], 0.5) == expected


def test_a_test_share_of_one_holds_nobody_back(monkeypatch):
	assert None not in split("WAC-0001", ["A", "B", "C"], 1)
	monkeypatch.setattr(ab_test, "_draw_bits", lambda campaign, person: HASH_RANGE - 1)
	assert assign_group("WAC-0001", "the last draw", ["A", "B", "C"], 1) == "C"


def test_a_tiny_test_share_holds_back_almost_everybody():
	counts = Counter(split("WAC-0001", ["A", "B"], 0.001))
	assert counts[None] == pytest.approx(99_900, abs=100)
	assert counts["A"] + counts["B"] == len(PEOPLE) - counts[None]


@pytest.mark.parametrize("test_share", [0, -0.1, 1.01, 2, math.nan, math.inf, True, "0.2", None])
def test_a_test_share_outside_0_to_1_is_refused(test_share):
	with pytest.raises(ValueError, match="test share must be more than 0 and at most 1"):
		assign_group("WAC-0001", "CONT-1", ["A", "B"], test_share)


@pytest.mark.parametrize(
	("variants", "message"),
	[
		(["A"], "2 or 3 variants"),
		([], "2 or 3 variants"),
		(["A", "B", "C", "D"], "2 or 3 variants"),
		(["A", "A"], "'A' appears more than once"),
		(["A", ""], "needs a name"),
		("AB", "list of names"),
	],
)
def test_two_or_three_distinct_variants_are_required(variants, message):
	with pytest.raises(ValueError, match=message):
		assign_group("WAC-0001", "CONT-1", variants, 0.2)


def test_keys_must_be_text_and_the_campaign_key_not_empty():
	with pytest.raises(ValueError, match="campaign key must be non-empty"):
		assign_group("", "CONT-1", ["A", "B"], 0.2)
	with pytest.raises(ValueError, match="person key must be text"):
		assign_group("WAC-0001", 42, ["A", "B"], 0.2)


def test_the_preview_gives_the_expected_group_sizes():
	assert split_sizes(1_000, 2, 0.2) == SplitPreview(per_variant=100, held_back=800)
	assert split_sizes(1_000, 3, 0.2) == (67, 800)  # 66.67 each
	assert split_sizes(1_000, 3, 1) == (333, 0)
	assert split_sizes(5, 2, 0.5) == (1, 3)  # 1.25 and 2.5, rounded half up
	assert split_sizes(0, 2, 0.2) == (0, 0)
	with pytest.raises(ValueError, match="2 or 3 variants"):
		split_sizes(1_000, 4, 0.2)
	with pytest.raises(ValueError, match="whole number of people"):
		split_sizes(-1, 2, 0.2)


# --- The SQL twin -----------------------------------------------------------------------------


def test_the_sql_is_a_case_over_mariadbs_sha2_with_every_value_a_parameter():
	sql, params = group_sql("campaign_key", "member.person", ["Spring 'offer'", "B; DROP", "C"], 0.2)
	bits = (
		"CAST(CONV(SUBSTRING(SHA2(CONCAT(%(campaign_key)s, member.person), 256), 1, 13), 16, 10) AS UNSIGNED)"
	)
	assert sql == (
		f"CASE WHEN {bits} < %(ab_limit_1)s THEN %(ab_variant_1)s"
		f" WHEN {bits} < %(ab_limit_2)s THEN %(ab_variant_2)s"
		f" WHEN {bits} < %(ab_limit_3)s THEN %(ab_variant_3)s ELSE NULL END"
	)
	assert params == {
		"ab_limit_1": ab_test._group_limits(3, 0.2)[0],
		"ab_variant_1": "Spring 'offer'",
		"ab_limit_2": ab_test._group_limits(3, 0.2)[1],
		"ab_variant_2": "B; DROP",
		"ab_limit_3": ab_test._group_limits(3, 0.2)[2],
		"ab_variant_3": "C",
	}
	assert "Spring" not in sql and "DROP" not in sql
	assert all(isinstance(params[f"ab_limit_{number}"], int) for number in (1, 2, 3))


def test_the_sql_takes_a_parameter_prefix_and_quoted_columns():
	sql, params = group_sql("key", "`tabSegment Member`.`person`", ["A", "B"], 1, param_prefix="split")
	assert "CONCAT(%(key)s, `tabSegment Member`.`person`)" in sql
	assert set(params) == {"split_limit_1", "split_variant_1", "split_limit_2", "split_variant_2"}
	assert params["split_limit_2"] == HASH_RANGE  # a share of 1: no draw reaches the last limit


@pytest.mark.parametrize(
	("key_param", "column", "message"),
	[
		("campaign_key", "person); DROP TABLE x; --", "not a column reference"),
		("campaign_key", "a.b.c", "not a column reference"),
		("campaign key", "person", "not a usable parameter name"),
		("ab_limit_1", "person", "clashes"),
	],
)
def test_the_sql_refuses_what_it_cannot_splice_safely(key_param, column, message):
	with pytest.raises(ValueError, match=message):
		group_sql(key_param, column, ["A", "B"], 0.2)


def mariadb_case(sql: str, params: dict, campaign_key: str, person: str) -> str | None:
	"""The CASE expression evaluated as MariaDB does, one function at a time:
	CONCAT joins the texts, SHA2(.., 256) gives 64 lowercase hex digits, SUBSTRING(.., 1, 13) the
	first 13 (1-based), CONV(.., 16, 10) their value written in decimal, CAST(.. AS UNSIGNED) that
	number; then the first WHEN whose limit is above it gives its variant, else NULL."""
	concatenated = campaign_key + person
	sha2 = hashlib.sha256(concatenated.encode("utf-8")).hexdigest()
	substring = sha2[1 - 1 : 1 - 1 + 13]
	conv = str(int(substring, 16))
	unsigned = int(conv)
	for limit_param, variant_param in re.findall(r"< %\((\w+)\)s THEN %\((\w+)\)s", sql):
		if unsigned < params[limit_param]:
			return params[variant_param]
	assert sql.endswith("ELSE NULL END")
	return None


@pytest.mark.parametrize(
	("variants", "test_share"), [(["A", "B"], 0.2), (["A", "B", "C"], 0.35), (["A", "B"], 1)]
)
def test_the_sql_arithmetic_agrees_with_the_python_assignment(variants, test_share):
	sql, params = group_sql("campaign_key", "person", variants, test_share)
	for person in [*PEOPLE[:20_000], "Zoë Ñúñez", ""]:
		assert mariadb_case(sql, params, "WAC-0007", person) == assign_group(
			"WAC-0007", person, variants, test_share
		)


# --- The z-test -------------------------------------------------------------------------------


def test_the_z_test_matches_the_hand_computed_values():
	# A: 60 of 200 read (30 %), B: 82 of 200 (41 %). Pooled rate (60 + 82) / 400 = 0.355;
	# standard error sqrt(0.355 * 0.645 * (1/200 + 1/200)) = sqrt(0.00228975) = 0.047852;
	# z = (0.41 - 0.30) / 0.047852 = 2.2988; two-sided p = 2 * (1 - Phi(2.2988)) = 0.0215.
	pooled = (60 + 82) / (200 + 200)
	standard_error = math.sqrt(pooled * (1 - pooled) * (1 / 200 + 1 / 200))
	z_by_hand = (82 / 200 - 60 / 200) / standard_error
	p_by_hand = 2 * (1 - 0.5 * (1 + math.erf(z_by_hand / math.sqrt(2))))
	assert z_by_hand == pytest.approx(2.2988, abs=1e-4)
	assert p_by_hand == pytest.approx(0.0215, abs=1e-4)

	test = z_test(VariantResult("B", 200, 82), VariantResult("A", 200, 60))
	assert test.z == pytest.approx(z_by_hand, rel=1e-12)
	assert test.p_value == pytest.approx(p_by_hand, rel=1e-9)
	assert test.difference == pytest.approx(0.11)
	assert test.significant


def test_unequal_groups_and_a_difference_within_chance():
	# 30 of 100 against 25 of 120: pooled 55/220 = 0.25; se = sqrt(0.25 * 0.75 * (1/100 + 1/120))
	# = 0.058630; z = (0.30 - 0.208333) / 0.058630 = 1.5635; p = 0.1179.
	test = z_test(VariantResult("A", 100, 30), VariantResult("B", 120, 25))
	assert test.z == pytest.approx(1.5635, abs=1e-4)
	assert test.p_value == pytest.approx(0.1179, abs=1e-4)
	assert not test.significant


@pytest.mark.parametrize("everybody", [False, True])
def test_nobody_or_everybody_succeeding_on_both_sides_is_no_difference(everybody):
	# The pooled rate is 0 or 1, so the standard error is 0: no division, the rates are equal.
	a = VariantResult("A", 150, 150 if everybody else 0)
	b = VariantResult("B", 90, 90 if everybody else 0)
	test = z_test(a, b)
	assert (test.z, test.p_value, test.significant) == (0.0, 1.0, False)


def test_a_variant_sent_to_nobody_cannot_be_tested():
	test = z_test(VariantResult("A", 100, 30), VariantResult("B", 0, 0))
	assert (test.difference, test.z, test.p_value, test.significant) == (None, None, None, False)


def test_all_successes_against_some_is_tested():
	test = z_test(VariantResult("A", 50, 50), VariantResult("B", 50, 40))
	assert test.z > 0 and test.significant


def test_results_must_be_possible():
	with pytest.raises(ValueError, match="more than were sent"):
		VariantResult("A", 10, 11)
	with pytest.raises(ValueError, match="sent must be a whole number"):
		VariantResult("A", -1, 0)
	with pytest.raises(ValueError, match="appear more than once"):
		compare([VariantResult("A", 10, 1), VariantResult("A", 10, 2)], READ)


# --- Comparison -------------------------------------------------------------------------------


def test_compare_gives_each_rate_the_leader_and_its_tests():
	comparison = compare(
		[VariantResult("A", 200, 60), VariantResult("B", 200, 82), VariantResult("C", 0, 0)], READ
	)
	assert [result.rate for result in comparison.results] == [0.3, 0.41, None]
	assert (comparison.leader, comparison.outcome) == ("B", LEADS)
	assert [(test.leader, test.other) for test in comparison.tests] == [("B", "A"), ("B", "C")]
	assert comparison.test_against("A").significant
	assert comparison.test_against("C").p_value is None
	assert comparison.figures("B") == "41 % (82 of 200)"
	assert comparison.figures("C") == "not sent yet"


def test_equal_best_rates_are_a_tie_without_a_leader():
	# 1/3 and 2/6 are the same rate, whatever floating point makes of them.
	comparison = compare([VariantResult("A", 3, 1), VariantResult("B", 6, 2), VariantResult("C", 6, 1)], READ)
	assert (comparison.leader, comparison.outcome, comparison.tests) == (None, TIE, ())


def test_nobody_succeeding_anywhere_is_a_tie():
	comparison = compare([VariantResult("A", 100, 0), VariantResult("B", 80, 0)], READ)
	assert (comparison.leader, comparison.outcome) == (None, TIE)


def test_nothing_sent_yet_has_no_leader():
	comparison = compare([VariantResult("A", 0, 0), VariantResult("B", 0, 0)], READ)
	assert (comparison.leader, comparison.outcome) == (None, NO_SENDS)


def test_a_variant_sent_to_nobody_cannot_lead():
	comparison = compare([VariantResult("A", 0, 0), VariantResult("B", 10, 1)], READ)
	assert comparison.leader == "B"


# --- The winner -------------------------------------------------------------------------------

A_30 = VariantResult("A", 200, 60)
B_41 = VariantResult("B", 200, 82)


def test_the_best_rate_wins_with_a_sentence_the_studio_understands():
	decision = pick_winner([A_30, B_41], metric_label=READ)
	assert (decision.winner, decision.code) == ("B", BEST_RATE)
	assert decision.reason == (
		"Variant B read by 41 % (82 of 200) against A's 30 % (60 of 200); beyond chance (p = 0.022)."
	)
	assert decision.comparison.leader == "B"


def test_a_lead_within_chance_still_wins_unless_significance_is_required():
	a, b = VariantResult("A", 200, 60), VariantResult("B", 200, 70)
	decision = pick_winner([a, b], metric_label=METRIC_LABELS["click"])
	assert (decision.winner, decision.code) == ("B", BEST_RATE)
	assert decision.reason == (
		"Variant B clicked by 35 % (70 of 200) against A's 30 % (60 of 200); not beyond chance (p = 0.29)."
	)
	required = pick_winner([a, b], metric_label=METRIC_LABELS["click"], require_significance=True)
	assert (required.winner, required.code) == (None, NOT_BEYOND_CHANCE)
	assert required.reason.endswith("not beyond chance (p = 0.29), so the studio picks the winner.")


def test_a_significant_lead_wins_when_significance_is_required():
	decision = pick_winner([A_30, B_41], metric_label=READ, require_significance=True)
	assert (decision.winner, decision.code) == ("B", BEST_RATE)


def test_significance_is_judged_against_the_runner_up():
	# B beats C (10 %) beyond chance, but not A, the runner-up.
	variants = [VariantResult("A", 200, 75), B_41, VariantResult("C", 200, 20)]
	decision = pick_winner(variants, metric_label=READ, require_significance=True)
	assert (decision.winner, decision.code) == (None, NOT_BEYOND_CHANCE)
	assert "against A's 37.5 % (75 of 200) and C's 10 % (20 of 200); not beyond chance against A" in (
		decision.reason
	)


def test_a_runner_up_sent_to_nobody_leaves_chance_open():
	variants = [VariantResult("A", 0, 0), B_41]
	decision = pick_winner(variants, metric_label=READ, require_significance=True)
	assert (decision.winner, decision.code) == (None, NOT_BEYOND_CHANCE)
	assert "A has not been sent yet, so chance cannot be ruled out" in decision.reason
	assert pick_winner(variants, metric_label=READ).winner == "B"


def test_a_tie_is_no_automatic_winner():
	decision = pick_winner(
		[A_30, VariantResult("B", 100, 30), VariantResult("C", 100, 10)], metric_label=READ
	)
	assert (decision.winner, decision.code) == (None, TIE)
	assert decision.reason == (
		"A tie: A read by 30 % (60 of 200), B read by 30 % (30 of 100). The studio picks the winner."
	)


def test_nothing_sent_is_no_winner():
	decision = pick_winner([VariantResult("A", 0, 0), VariantResult("B", 0, 0)], metric_label=READ)
	assert (decision.winner, decision.code) == (None, NO_SENDS)


def test_a_paused_variant_cannot_win():
	variants = [A_30, B_41, VariantResult("C", 200, 50)]
	decision = pick_winner(variants, metric_label=READ, paused={"B"})
	assert (decision.winner, decision.code) == ("A", BEST_RATE)
	assert decision.reason.endswith("Meta has paused B's template.")
	assert "B" not in [result.name for result in decision.comparison.results]


def test_the_only_variant_not_paused_wins_whatever_its_figures():
	decision = pick_winner([A_30, B_41], metric_label=READ, paused={"B"}, require_significance=True)
	assert (decision.winner, decision.code) == ("A", OTHERS_PAUSED)
	assert decision.reason == (
		"Variant A wins as the only one that can be sent: Meta has paused B's template. "
		"It was read by 30 % (60 of 200)."
	)
	three = pick_winner(
		[A_30, B_41, VariantResult("C", 0, 0)], metric_label=READ, paused=frozenset({"A", "B"})
	)
	assert (three.winner, three.code) == ("C", OTHERS_PAUSED)
	assert "Meta has paused the templates of A and B" in three.reason
	assert three.reason.endswith("It has not been sent yet.")


def test_every_variant_paused_is_no_winner():
	decision = pick_winner([A_30, B_41], metric_label=READ, paused={"A", "B"})
	assert (decision.winner, decision.code) == (None, ALL_PAUSED)
	assert decision.reason.startswith("Meta has paused the template of every variant (A, B)")


def test_a_tie_among_the_sendable_variants_mentions_the_paused_one():
	tie = pick_winner(
		[A_30, VariantResult("B", 200, 60), VariantResult("C", 200, 90)], metric_label=READ, paused={"C"}
	)
	assert (tie.winner, tie.code) == (None, TIE)
	assert tie.reason.endswith("The studio picks the winner. Meta has paused C's template.")


def test_paused_names_must_be_variants_of_the_test():
	with pytest.raises(ValueError, match="not among this test's variants"):
		pick_winner([A_30, B_41], metric_label=READ, paused={"Z"})
	with pytest.raises(ValueError, match="2 or 3 variants"):
		pick_winner([A_30], metric_label=READ)
