"""A/B tests of a WhatsApp campaign's template variants: who gets which, and which one won.

A campaign may carry 2 or 3 template variants. A test share of the eligible audience (say 20 %)
is split evenly among the variants; the rest are held back. After a wait, the variant with the
best read, click, reply or booking rate is sent to the held-back rest, automatically or when the
studio picks it. A test share of 1 holds nobody back: everyone is split and nothing is sent later.

Assignment is a pure function of (campaign key, person key): the same person lands in the same
group in every process and on every retry, and in the same group whether the assignment is made
here or by MariaDB inside one ``INSERT ... SELECT`` (``group_sql``). How the two agree:

* the draw is the first 13 hex digits (52 bits) of ``sha256(campaign_key + person_key)``, the text
  hashed as UTF-8, which MariaDB spells ``CONV(SUBSTRING(SHA2(CONCAT(key, person), 256), 1, 13),
  16, 10)``. 52 bits fit a double exactly, so the draw ``bits / 16**13`` is an exact number in
  [0, 1), in Python and in SQL alike;
* the groups are ranges of those bits whose integer limits are worked out here once, with
  fractions (``_group_limits``): Python compares the bits with them, and the SQL receives the same
  integers as parameters. No floating point arithmetic happens on either side, so no rounding can
  make them disagree on a person lying on a boundary.

The winner is chosen on the rates with a pooled two-proportion z-test (``compare``), so that the
form can say whether the difference is beyond chance at the group sizes. A tie is no winner: the
studio picks. Variants whose template Meta paused cannot be sent and so cannot win.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

MIN_VARIANTS = 2
MAX_VARIANTS = 3
ALPHA = 0.05  # a difference is "beyond chance" when its two-sided p-value is below this
HASH_HEX_DIGITS = 13  # 13 hex digits = 52 bits: a double's mantissa holds them exactly
HASH_RANGE = 16**HASH_HEX_DIGITS  # the draw is bits / HASH_RANGE, in [0, 1)

# What the studio may test on, and the words that complete "Variant B ___ 41 % (82 of 200)".
METRIC_LABELS = {
	"read": "read by",
	"click": "clicked by",
	"reply": "answered by",
	"booking": "turned into a booking by",
}

# Decision.code and Comparison.outcome: what the reason sentence says, for code to test on.
LEADS = "leads"  # Comparison: one variant has the best rate
BEST_RATE = "best_rate"  # Decision: the best rate among the sendable variants wins
TIE = "tie"  # two or more share the best rate: no automatic winner, the studio picks
NO_SENDS = "no_sends"  # no variant (that can be sent) has been sent to anybody yet
OTHERS_PAUSED = "others_paused"  # the only variant Meta did not pause wins
ALL_PAUSED = "all_paused"  # Meta paused every variant's template: nothing can be sent
NOT_BEYOND_CHANCE = "not_beyond_chance"  # significance was required and the lead is within chance

# A column reference group_sql may splice into SQL: col, alias.col, `tabX Y`.col.
_IDENTIFIER_PART = r"(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)"
_COLUMN = re.compile(rf"^{_IDENTIFIER_PART}(?:\.{_IDENTIFIER_PART})?$")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# --- Assignment -------------------------------------------------------------------------------


def assign_group(
	campaign_key: str, person_key: str, variants: Sequence[str], test_share: float
) -> str | None:
	"""The variant ``person_key`` receives in the campaign ``campaign_key``, or None when the
	person is held back (and gets the winner later).

	The person's draw (``assignment_number``) below ``test_share`` puts them in the test, split
	evenly among ``variants`` in their order: with 3 variants and a share of 0.2, draws in
	[0, 0.0667) get the first, [0.0667, 0.1333) the second, [0.1333, 0.2) the third. The same
	inputs give the same answer in every process, and the same as ``group_sql`` in MariaDB.
	"""
	_check_variants(variants)
	_check_test_share(test_share)
	bits = _draw_bits(campaign_key, person_key)
	for variant, limit in zip(variants, _group_limits(len(variants), test_share), strict=True):
		if bits < limit:
			return variant
	return None


def assignment_number(campaign_key: str, person_key: str) -> float:
	"""The person's draw in [0, 1): the first 52 bits of sha256(campaign_key + person_key) over
	2**52, exact in a double."""
	return _draw_bits(campaign_key, person_key) / HASH_RANGE


def group_sql(
	campaign_key_param: str,
	person_column: str,
	variants: Sequence[str],
	test_share: float,
	*,
	param_prefix: str = "ab",
) -> tuple[str, dict[str, object]]:
	"""A MariaDB expression giving each row's variant (or NULL: held back), the same as
	``assign_group(campaign_key, person, variants, test_share)`` row by row, for one
	``INSERT ... SELECT`` over the whole audience. Returns the SQL and its parameters.

	``campaign_key_param`` names the parameter the caller binds to the campaign key (it appears
	as ``%(campaign_key_param)s``); ``person_column`` is the column holding the person key, as
	text in utf8mb4 (Frappe's default), so that SHA2 hashes the same UTF-8 bytes Python does; a
	NULL person gets NULL. The column is the one piece spliced into the text, so it must be a
	column reference (checked); the variant names and the group limits are parameters, named
	``{param_prefix}_variant_N`` and ``{param_prefix}_limit_N`` (N from 1).

	MariaDB computes the hash once per WHEN (it does not share sub-expressions); three SHA2 per
	row is microseconds, against the row's insert.
	"""
	_check_variants(variants)
	_check_test_share(test_share)
	for name in (campaign_key_param, param_prefix):
		if not _PARAM_NAME.match(name):
			raise ValueError(f"{name!r} is not a usable parameter name (letters, digits and _ only).")
	if not _COLUMN.match(person_column):
		raise ValueError(
			f"{person_column!r} is not a column reference (column, alias.column or `quoted`.column)."
		)
	# CAST to UNSIGNED so that the limits are compared as integers: CONV returns text, and text
	# against a number would be compared as doubles (exact below 2**53, but needlessly so).
	bits = (
		f"CAST(CONV(SUBSTRING(SHA2(CONCAT(%({campaign_key_param})s, {person_column}), 256), "
		f"1, {HASH_HEX_DIGITS}), 16, 10) AS UNSIGNED)"
	)
	params: dict[str, object] = {}
	whens = []
	for number, (variant, limit) in enumerate(
		zip(variants, _group_limits(len(variants), test_share), strict=True), start=1
	):
		limit_param, variant_param = f"{param_prefix}_limit_{number}", f"{param_prefix}_variant_{number}"
		if campaign_key_param in (limit_param, variant_param):
			raise ValueError(f"The campaign key's parameter {campaign_key_param!r} clashes with the groups'.")
		params[limit_param] = limit
		params[variant_param] = variant
		whens.append(f"WHEN {bits} < %({limit_param})s THEN %({variant_param})s")
	return "CASE " + " ".join(whens) + " ELSE NULL END", params


class SplitPreview(NamedTuple):
	per_variant: int  # about this many people receive each variant now
	held_back: int  # about this many wait for the winner


def split_sizes(eligible: int, variants: int, test_share: float) -> SplitPreview:
	"""The expected group sizes for the form's preview, rounded to whole people. The actual sizes
	vary around them (each person's draw is a hash, not a count), by about the square root."""
	if isinstance(eligible, bool) or not isinstance(eligible, int) or eligible < 0:
		raise ValueError(
			f"The eligible audience must be a whole number of people, 0 or more; got {eligible!r}."
		)
	_check_variant_count(variants)
	_check_test_share(test_share)
	share = Fraction(test_share)
	return SplitPreview(
		per_variant=_round_half_up(eligible * share / variants),
		held_back=_round_half_up(eligible * (1 - share)),
	)


def _draw_bits(campaign_key: str, person_key: str) -> int:
	# No separator between the two keys, as in the SQL's CONCAT. ("ab", "c") and ("a", "bc") draw
	# alike, which is harmless: within one campaign the key is fixed, so different people always
	# hash different text.
	if not isinstance(campaign_key, str) or not campaign_key:
		raise ValueError(
			"The campaign key must be non-empty text: it is what makes each campaign's split its own."
		)
	if not isinstance(person_key, str):
		raise ValueError(
			f"The person key must be text (as the SQL column is); got {type(person_key).__name__}."
		)
	digest = hashlib.sha256((campaign_key + person_key).encode("utf-8")).hexdigest()
	return int(digest[:HASH_HEX_DIGITS], 16)


@lru_cache(maxsize=64)
def _group_limits(variant_count: int, test_share: float) -> tuple[int, ...]:
	"""The exclusive upper limit of each variant's range of draw bits; the last is the test's
	limit, above which people are held back. Variant i (from 0) takes the bits whose draw
	d = bits / 2**52 has i <= d * variant_count / test_share < i + 1, that is
	bits >= ceil(i * test_share * 2**52 / variant_count). Fraction(test_share) is the float's exact
	value, so this is exact, and ``bits / 2**52 < test_share`` holds exactly when
	``bits < limits[-1]``. With test_share 1 the last limit is 2**52, which no draw reaches."""
	share = Fraction(test_share)
	return tuple(
		math.ceil(share * HASH_RANGE * number / variant_count) for number in range(1, variant_count + 1)
	)


def _check_variants(variants: Sequence[str]) -> None:
	if isinstance(variants, str):
		raise ValueError("The variants must be a list of names, not one text.")
	_check_variant_count(len(variants))
	seen: set[str] = set()
	for name in variants:
		if not isinstance(name, str) or not name.strip():
			raise ValueError(f"Each variant needs a name; got {name!r}.")
		if name in seen:
			raise ValueError(f"Variant names must differ; {name!r} appears more than once.")
		seen.add(name)


def _check_variant_count(count: int) -> None:
	if isinstance(count, bool) or not isinstance(count, int) or not MIN_VARIANTS <= count <= MAX_VARIANTS:
		raise ValueError(f"An A/B test has {MIN_VARIANTS} or {MAX_VARIANTS} variants; got {count!r}.")


def _check_test_share(test_share: float) -> None:
	if (
		isinstance(test_share, bool)
		or not isinstance(test_share, int | float)
		or not math.isfinite(test_share)
		or not 0 < test_share <= 1
	):
		raise ValueError(
			"The test share must be more than 0 and at most 1 (0.2 tests on a fifth of the audience; "
			f"1 splits everyone and holds nobody back); got {test_share!r}."
		)


def _round_half_up(value: Fraction) -> int:
	return math.floor(value + Fraction(1, 2))


# --- Results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantResult:
	name: str
	sent: int  # people the variant was sent to (the rate's denominator)
	successes: int  # of those, how many read / clicked / replied / booked

	def __post_init__(self) -> None:
		for label, value in (("sent", self.sent), ("successes", self.successes)):
			if isinstance(value, bool) or not isinstance(value, int) or value < 0:
				raise ValueError(
					f"Variant {self.name}: {label} must be a whole number, 0 or more; got {value!r}."
				)
		if self.successes > self.sent:
			raise ValueError(
				f"Variant {self.name}: {self.successes} successes out of {self.sent} sent is more than were sent."
			)

	@property
	def rate(self) -> float | None:
		"""The share of those sent who succeeded; None before anybody was sent it."""
		return self.successes / self.sent if self.sent else None

	@property
	def exact_rate(self) -> Fraction | None:
		# Leaders and ties are decided on exact fractions: 1/3 and 2/6 are equal rates.
		return Fraction(self.successes, self.sent) if self.sent else None


@dataclass(frozen=True)
class ZTest:
	"""The leader against one other variant: a pooled two-proportion z-test."""

	leader: str
	other: str
	difference: float | None  # leader's rate minus the other's; None when either has no sends
	z: float | None  # None when either was sent to nobody: there is nothing to test
	p_value: float | None  # two-sided
	significant: bool  # p_value < alpha


@dataclass(frozen=True)
class Comparison:
	metric_label: str  # completes "Variant B ___ 41 %", e.g. "read by" (METRIC_LABELS)
	results: tuple[VariantResult, ...]
	leader: str | None  # the single best rate; None on a tie or when nobody was sent anything
	outcome: str  # LEADS, TIE or NO_SENDS
	tests: tuple[ZTest, ...] = field(default=())  # the leader against each other variant, in order
	alpha: float = ALPHA

	def result(self, name: str) -> VariantResult:
		return next(result for result in self.results if result.name == name)

	def test_against(self, other: str) -> ZTest | None:
		return next((test for test in self.tests if test.other == other), None)

	def figures(self, name: str) -> str:
		"""'41 % (82 of 200)', or 'not sent yet', for the form."""
		return _figures(self.result(name))


def z_test(leader: VariantResult, other: VariantResult, alpha: float = ALPHA) -> ZTest:
	"""Pooled two-proportion z-test of ``leader``'s rate against ``other``'s:
	p = (x1 + x2) / (n1 + n2), z = (x1/n1 - x2/n2) / sqrt(p (1 - p) (1/n1 + 1/n2)),
	two-sided p-value = 2 (1 - Phi(|z|)) = erfc(|z| / sqrt 2)."""
	if not leader.sent or not other.sent:
		return ZTest(leader.name, other.name, None, None, None, False)
	difference = leader.successes / leader.sent - other.successes / other.sent
	pooled = (leader.successes + other.successes) / (leader.sent + other.sent)
	variance = pooled * (1 - pooled) * (1 / leader.sent + 1 / other.sent)
	if variance == 0:
		# Nobody succeeded on either side, or everybody did: the rates are equal, no difference.
		return ZTest(leader.name, other.name, difference, 0.0, 1.0, False)
	z = difference / math.sqrt(variance)
	p_value = math.erfc(abs(z) / math.sqrt(2))
	return ZTest(leader.name, other.name, difference, z, p_value, p_value < alpha)


def compare(variants: Sequence[VariantResult], metric_label: str, *, alpha: float = ALPHA) -> Comparison:
	"""Each variant's rate, the leader (the single best rate among variants sent to somebody) and
	the leader's z-test against each other variant. Equal best rates are a tie: no leader."""
	_check_results(variants)
	results = tuple(variants)
	tested = [result for result in results if result.sent]
	if not tested:
		return Comparison(metric_label, results, None, NO_SENDS, alpha=alpha)
	best = max(result.exact_rate for result in tested)
	leaders = [result for result in tested if result.exact_rate == best]
	if len(leaders) > 1:
		return Comparison(metric_label, results, None, TIE, alpha=alpha)
	leader = leaders[0]
	tests = tuple(z_test(leader, other, alpha) for other in results if other is not leader)
	return Comparison(metric_label, results, leader.name, LEADS, tests, alpha)


def _check_results(variants: Sequence[VariantResult]) -> None:
	if not variants:
		raise ValueError("There are no variants to compare.")
	names = [result.name for result in variants]
	duplicates = sorted({name for name in names if names.count(name) > 1})
	if duplicates:
		raise ValueError(f"Variant names must differ; {', '.join(duplicates)} appear more than once.")


# --- The winner -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
	winner: str | None  # the variant to send to the held-back rest; None: the studio picks
	reason: str  # a sentence for the studio owner
	code: str  # BEST_RATE, OTHERS_PAUSED, TIE, NO_SENDS, ALL_PAUSED or NOT_BEYOND_CHANCE
	comparison: Comparison | None = None  # of the sendable variants, when there were two or more


def pick_winner(
	variants: Sequence[VariantResult],
	*,
	metric_label: str,
	paused: AbstractSet[str] = frozenset(),
	require_significance: bool = False,
	alpha: float = ALPHA,
) -> Decision:
	"""The variant to send to the held-back rest: the best rate among those whose template Meta
	has not paused (``paused``: variant names). A tie is no automatic winner, nor is a lead within
	chance when ``require_significance``: the studio picks. When only one variant is not paused it
	wins whatever its figures, as the only one that can be sent."""
	_check_variants([result.name for result in variants])
	unknown = set(paused) - {result.name for result in variants}
	if unknown:
		raise ValueError(f"Paused variants {', '.join(sorted(unknown))} are not among this test's variants.")
	sendable = [result for result in variants if result.name not in paused]
	paused_note = _paused_note([result.name for result in variants if result.name in paused])
	if not sendable:
		return Decision(
			None,
			f"Meta has paused the template of every variant ({_names(v.name for v in variants)}); "
			"nothing can be sent to the rest until one is active again.",
			ALL_PAUSED,
		)
	if len(sendable) == 1:
		only = sendable[0]
		return Decision(
			only.name,
			f"Variant {only.name} wins as the only one that can be sent: {paused_note}. "
			+ (f"It was {metric_label} {_figures(only)}." if only.sent else "It has not been sent yet."),
			OTHERS_PAUSED,
		)
	comparison = compare(sendable, metric_label, alpha=alpha)
	suffix = f" {paused_note}." if paused_note else ""
	if comparison.outcome == NO_SENDS:
		return Decision(
			None,
			f"No variant has been sent yet, so there is nothing to compare.{suffix}",
			NO_SENDS,
			comparison,
		)
	if comparison.outcome == TIE:
		best = max(result.exact_rate for result in sendable if result.sent)
		level = [result for result in sendable if result.exact_rate == best]
		return Decision(
			None,
			f"A tie: {_listing(level, metric_label)}. The studio picks the winner.{suffix}",
			TIE,
			comparison,
		)
	leader = comparison.result(comparison.leader)
	others = [result for result in sendable if result is not leader]
	runner_up_test = _runner_up_test(comparison, others)
	against = " and ".join(
		f"{other.name}'s {_figures(other)}" if other.sent else f"{other.name} (not sent yet)"
		for other in others
	)
	headline = f"Variant {leader.name} {metric_label} {_figures(leader)} against {against}"
	chance = _chance_note(runner_up_test, len(others) > 1)
	if require_significance and not runner_up_test.significant:
		return Decision(
			None,
			f"{headline}; {chance}, so the studio picks the winner.{suffix}",
			NOT_BEYOND_CHANCE,
			comparison,
		)
	return Decision(leader.name, f"{headline}; {chance}.{suffix}", BEST_RATE, comparison)


def _runner_up_test(comparison: Comparison, others: list[VariantResult]) -> ZTest:
	"""The leader's test against the runner-up: the best rate after it. Among runners-up on the
	same rate the least conclusive test counts, so that a tie for second cannot flatter the lead.
	When no other variant has sends, the (untestable) test against the first other."""
	with_sends = [other for other in others if other.sent]
	if not with_sends:
		return comparison.test_against(others[0].name)
	second = max(other.exact_rate for other in with_sends)
	tests = [comparison.test_against(other.name) for other in with_sends if other.exact_rate == second]
	return max(tests, key=lambda test: test.p_value)


def _chance_note(test: ZTest, name_the_runner_up: bool) -> str:
	against = f" against {test.other}" if name_the_runner_up else ""
	if test.p_value is None:
		return f"{test.other} has not been sent yet, so chance cannot be ruled out"
	if test.significant:
		return f"beyond chance{against} ({_p(test.p_value)})"
	return f"not beyond chance{against} ({_p(test.p_value)})"


def _figures(result: VariantResult) -> str:
	if not result.sent:
		return "not sent yet"
	percent = f"{100 * result.successes / result.sent:.1f}".removesuffix(".0")
	return f"{percent} % ({result.successes} of {result.sent})"


def _listing(results: list[VariantResult], metric_label: str) -> str:
	return ", ".join(f"{result.name} {metric_label} {_figures(result)}" for result in results)


def _p(p_value: float) -> str:
	return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}"


def _names(names: Iterable[str]) -> str:
	return ", ".join(names)


def _paused_note(paused_names: list[str]) -> str:
	if not paused_names:
		return ""
	if len(paused_names) == 1:
		return f"Meta has paused {paused_names[0]}'s template"
	return f"Meta has paused the templates of {' and '.join(paused_names)}"
