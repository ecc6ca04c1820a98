from datetime import date
from decimal import Decimal

import pytest

from marketing_engine.engine.cost import (
	CATCH_ALL_MARKET,
	PUBLISHED_CONVERSION_TO_INR,
	PUBLISHED_SOURCE,
	MarketRate,
	estimate,
	market_for,
	parse_countries,
	published_card,
	published_inr_rates,
	published_rate_cards,
	published_rates,
	rate_card_problems,
)


def rate(market, countries, marketing, utility="0", authentication="0"):
	return MarketRate(market, countries, Decimal(marketing), Decimal(utility), Decimal(authentication))


INDIA = rate("India", ("IN",), "0.8631", "0.1150", "0.1150")
NORTH_AMERICA = rate("North America", ("US", "CA"), "2.0000", "0.3000", "0.3000")
UAE = rate("United Arab Emirates", ("AE",), "4.5000", "1.4000", "1.4000")
OTHER = rate(CATCH_ALL_MARKET, (), "5.5000", "0.7000", "0.7000")
CARD = [INDIA, NORTH_AMERICA, UAE, OTHER]


def test_a_country_listed_by_a_market_is_priced_there():
	assert market_for("IN", CARD) is INDIA
	assert market_for("CA", CARD) is NORTH_AMERICA


def test_region_codes_are_matched_whatever_their_case():
	assert market_for(" in ", CARD) is INDIA


def test_unlisted_and_unknown_countries_fall_to_the_catch_all():
	assert market_for("FR", CARD) is OTHER
	assert market_for(None, CARD) is OTHER
	assert market_for("", CARD) is OTHER


def test_without_a_catch_all_an_unlisted_country_has_no_market():
	assert market_for("FR", [INDIA, UAE]) is None


def test_estimate_prices_each_market_and_sums_the_lines():
	result = estimate({"IN": 1000, "US": 10, "CA": 5, "AE": 3, "FR": 2, None: 1}, "MARKETING", CARD)

	assert [(line.market, line.recipients, line.unit_price, line.amount) for line in result.lines] == [
		("India", 1000, Decimal("0.8631"), Decimal("863.10")),
		("North America", 15, Decimal("2.0000"), Decimal("30.00")),
		(CATCH_ALL_MARKET, 3, Decimal("5.5000"), Decimal("16.50")),
		("United Arab Emirates", 3, Decimal("4.5000"), Decimal("13.50")),
	]
	assert result.total == Decimal("923.10")
	assert result.recipients == result.priced_recipients == 1021
	assert result.currency == "INR"
	assert result.unpriced == {}


def test_category_decides_the_rate_whatever_its_case():
	result = estimate({"IN": 1000}, "utility", CARD)
	assert result.category == "UTILITY"
	assert result.total == Decimal("115.00")
	assert estimate({"AE": 2}, " Authentication ", CARD).total == Decimal("2.80")


def test_unknown_category_is_refused():
	with pytest.raises(ValueError, match="SERVICE"):
		estimate({"IN": 1}, "SERVICE", CARD)
	with pytest.raises(ValueError):
		estimate({"IN": 1}, "", CARD)


def test_each_line_is_rounded_half_up_to_the_paisa_and_the_total_adds_the_rounded_lines():
	card = [rate("A", ("AA",), "0.0125"), rate("B", ("BB",), "0.0125")]
	result = estimate({"AA": 1, "BB": 1}, "MARKETING", card)
	assert [line.amount for line in result.lines] == [Decimal("0.01"), Decimal("0.01")]
	# Unrounded the two lines would add up to 0.03 after rounding; the total adds what is shown.
	assert result.total == Decimal("0.02")
	assert estimate({"AA": 3}, "MARKETING", card).total == Decimal("0.04")  # 0.0375


def test_regions_no_market_prices_are_reported_not_guessed():
	result = estimate({"IN": 10, "FR": 4, None: 2}, "MARKETING", [INDIA, UAE])
	assert result.unpriced == {"FR": 4, None: 2}
	assert result.total == Decimal("8.63")
	assert result.recipients == 16
	assert result.priced_recipients == 10


def test_zero_counts_are_ignored_and_negative_counts_refused():
	assert estimate({"IN": 0, "FR": 0}, "MARKETING", [INDIA]).lines == []
	with pytest.raises(ValueError):
		estimate({"IN": -1}, "MARKETING", CARD)


def test_conversion_turns_card_prices_into_the_estimate_currency():
	usd_card = [rate("India", ("IN",), "0.0118", "0.0014", "0.0014"), rate(CATCH_ALL_MARKET, (), "0.0604")]
	result = estimate({"IN": 1000, "DE": 10}, "MARKETING", usd_card, conversion=Decimal("91.49"))
	india, other = result.lines
	assert india.unit_price == Decimal("1.079582")
	assert india.amount == Decimal("1079.58")
	assert other.amount == Decimal("55.26")  # 10 x 0.0604 x 91.49 = 55.25996
	assert result.total == Decimal("1134.84")


def test_conversion_given_as_a_float_is_read_as_written():
	result = estimate({"IN": 1000}, "MARKETING", [rate("India", ("IN",), "0.0118")], conversion=91.49)
	assert result.total == Decimal("1079.58")


def test_no_recipients_cost_nothing():
	result = estimate({}, "MARKETING", CARD)
	assert result.lines == []
	assert result.total == Decimal("0.00")
	assert result.recipients == 0


def test_country_lists_are_normalised():
	assert parse_countries(" in, np  lk;IN ") == ("IN", "NP", "LK")
	assert parse_countries("") == ()
	assert parse_countries(None) == ()


def test_country_lists_name_what_is_not_a_country_code():
	with pytest.raises(ValueError, match=r"IND, 9\$"):
		parse_countries("IN, IND, 9$")


def test_rate_card_problems_catch_ambiguous_or_negative_cards():
	assert rate_card_problems(CARD) == []
	problems = rate_card_problems(
		[
			INDIA,
			rate("Subcontinent", ("IN", "NP"), "1"),
			OTHER,
			rate("Rest of World", (), "1"),
			rate("Refund", ("ZZ",), "-0.1"),
			rate("India", ("BT",), "1"),
		]
	)
	assert problems == [
		"market India is listed 2 times",
		"only one market may have no countries (catch-all): Other, Rest of World",
		"IN is in more than one market: India, Subcontinent",
		"Refund: the marketing rate is negative",
	]


def test_the_published_card_is_consistent_and_prices_every_country():
	rates = published_rates()
	assert rate_card_problems(rates) == []
	assert sum(rate.is_catch_all for rate in rates) == 1
	assert market_for("IN", rates).market == "India"
	assert market_for("NP", rates).market == "Rest of Asia Pacific"
	assert market_for("JE", rates).market == "United Kingdom"
	assert market_for("KR", rates).market == CATCH_ALL_MARKET


def test_the_published_card_prices_an_indian_campaign_in_rupees():
	result = estimate(
		{"IN": 1000, "AE": 10}, "MARKETING", published_rates(), conversion=PUBLISHED_CONVERSION_TO_INR
	)
	assert [(line.market, line.amount) for line in result.lines] == [
		("India", Decimal("1079.58")),  # 1000 x USD 0.0118 x 91.49
		("United Arab Emirates", Decimal("45.65")),  # 10 x USD 0.0499 x 91.49
	]


def test_published_cards_are_one_per_billing_currency():
	usd, inr = published_rate_cards()
	assert (usd.currency, inr.currency) == ("USD", "INR")
	assert usd.rates == published_rates() and usd.source == PUBLISHED_SOURCE
	assert usd.conversion_to_inr == PUBLISHED_CONVERSION_TO_INR and inr.conversion_to_inr == 1
	assert usd.effective_from == inr.effective_from == date(2026, 1, 1)
	assert usd.converted_markets == ()
	for card in (usd, inr):
		assert rate_card_problems(card.rates) == []
		assert sum(rate.is_catch_all for rate in card.rates) == 1
		assert "http" in card.source
	assert published_card("inr") is not None and published_card("inr").currency == "INR"
	assert published_card("EUR") is None


def test_the_inr_card_prices_india_at_metas_rupee_rates():
	india = market_for("IN", published_inr_rates())
	assert (india.marketing, india.utility, india.authentication) == (
		Decimal("0.8631"),
		Decimal("0.1150"),
		Decimal("0.1150"),
	)
	result = estimate({"IN": 1000}, "MARKETING", published_inr_rates())
	assert result.total == Decimal("863.10")  # the USD card converted gives 1079.58
	assert estimate({"IN": 1000}, "UTILITY", published_inr_rates()).total == Decimal("115.00")


def test_the_inr_card_falls_back_to_the_usd_card_converted_for_other_markets():
	(_, inr) = published_rate_cards()
	assert "India" not in inr.converted_markets
	assert set(inr.converted_markets) == {rate.market for rate in published_rates()} - {"India"}
	assert "converted" in inr.source and "91.49" in inr.source
	uae = market_for("AE", inr.rates)
	assert uae.marketing == Decimal("4.5654")  # USD 0.0499 x 91.49 = 4.565351, to four decimals
	assert market_for("NP", inr.rates).market == "Rest of Asia Pacific"
	assert market_for("KR", inr.rates).market == CATCH_ALL_MARKET
	result = estimate({"IN": 1000, "AE": 10}, "MARKETING", inr.rates, currency=inr.currency)
	assert [(line.market, line.amount) for line in result.lines] == [
		("India", Decimal("863.10")),
		("United Arab Emirates", Decimal("45.65")),  # as the USD card converted prices it
	]


def test_published_cards_are_fresh_copies():
	first, _ = published_rate_cards()
	first.rates[0].marketing = Decimal("99")
	assert published_rate_cards()[0].rates[0].marketing != Decimal("99")
