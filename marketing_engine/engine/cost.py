"""What a campaign will cost at Meta's per-message rates, worked out before it is sent.

Since 1 July 2025 Meta charges per delivered template message (per-message pricing), at a rate
set by the template's category and the market of the recipient's number. Markets are single
countries (India, Brazil, ...) or regions ("Rest of Asia Pacific", ...) plus a catch-all,
"Other", for every country Meta does not list. A rate card lists them; this module prices a
campaign's recipients against one, and ships the figures of Meta's published cards. Meta prints
one card per billing currency: a WABA billed in rupees pays the INR card's prices, which are not
the USD card's converted at the day's exchange rate.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
CATCH_ALL_MARKET = "Other"
_PAISA = Decimal("0.01")
_CARD_PRECISION = Decimal("0.0001")  # Meta prints its cards to four decimals
_COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


@dataclass
class MarketRate:
	market: str  # "India", "Rest of Asia Pacific", "Other", ...
	countries: tuple[str, ...]  # ISO alpha-2 codes in that market; empty for the catch-all "Other"
	marketing: Decimal
	utility: Decimal
	authentication: Decimal

	@property
	def is_catch_all(self) -> bool:
		return not self.countries

	def price(self, category: str) -> Decimal:
		return getattr(self, _category(category).lower())


@dataclass
class EstimateLine:
	market: str
	recipients: int
	unit_price: Decimal
	amount: Decimal


@dataclass
class Estimate:
	category: str
	currency: str
	lines: list[EstimateLine]
	total: Decimal
	recipients: int  # every recipient asked about, priced or not
	unpriced: dict[str | None, int] = field(default_factory=dict)  # region -> recipients no market prices

	@property
	def priced_recipients(self) -> int:
		return sum(line.recipients for line in self.lines)


def market_for(region: str | None, rates: list[MarketRate]) -> MarketRate | None:
	"""The market that prices a number of ``region`` (ISO alpha-2, as ``phone.region_of`` gives):
	the one listing that country, else the catch-all market, else None."""
	code = (region or "").strip().upper()
	if code:
		for rate in rates:
			if code in rate.countries:
				return rate
	return next((rate for rate in rates if rate.is_catch_all), None)


def estimate(
	recipients_by_region: dict[str | None, int],
	category: str,
	rates: list[MarketRate],
	currency: str = "INR",
	conversion: Decimal = Decimal(1),
) -> Estimate:
	"""Price ``recipients_by_region`` (ISO alpha-2 region -> eligible recipients) for one
	template of ``category`` against ``rates``; ``conversion`` turns the card's prices into
	``currency`` (1 when the card is already in it).

	The result is an upper bound on Meta's charge: every recipient is priced at the list rate,
	although utility and authentication rates fall in volume tiers, messages inside a free entry
	point window (click-to-WhatsApp ads) are free, and a utility template delivered inside an
	open 24-hour customer service window is free (providers report that Meta charges these from
	1 October 2026). Service (non-template) messages, provider fees and taxes (GST) are out of
	scope.
	Each line is rounded to the paisa (half up); the total is the sum of the rounded lines.
	"""
	category = _category(category)
	conversion = to_decimal(conversion)
	by_market: Counter[str] = Counter()
	unit_prices: dict[str, Decimal] = {}
	unpriced: Counter[str | None] = Counter()
	for region, count in recipients_by_region.items():
		if count < 0:
			raise ValueError(f"negative recipient count for {region!r}: {count}")
		if not count:
			continue
		rate = market_for(region, rates)
		if rate is None:
			unpriced[region] += count
			continue
		by_market[rate.market] += count
		unit_prices[rate.market] = rate.price(category) * conversion
	lines = [
		EstimateLine(
			market=market,
			recipients=count,
			unit_price=unit_prices[market],
			amount=(unit_prices[market] * count).quantize(_PAISA, rounding=ROUND_HALF_UP),
		)
		for market, count in by_market.items()
	]
	lines.sort(key=lambda line: (-line.amount, line.market))
	return Estimate(
		category=category,
		currency=currency,
		lines=lines,
		total=sum((line.amount for line in lines), Decimal("0.00")),
		recipients=sum(by_market.values()) + sum(unpriced.values()),
		unpriced=dict(unpriced),
	)


def parse_countries(text: str | None) -> tuple[str, ...]:
	"""Country codes typed as "in, np  lk" -> ("IN", "NP", "LK"), duplicates dropped.

	Raises ValueError naming every entry that is not two letters.
	"""
	codes = [part.upper() for part in re.split(r"[\s,;]+", text or "") if part]
	invalid = [code for code in codes if not _COUNTRY_CODE.match(code)]
	if invalid:
		raise ValueError(f"not ISO alpha-2 country codes: {', '.join(invalid)}")
	return tuple(dict.fromkeys(codes))


def rate_card_problems(rates: list[MarketRate]) -> list[str]:
	"""Why ``rates`` cannot price campaigns unambiguously; empty when they can."""
	problems = []
	markets = Counter(rate.market for rate in rates)
	problems += [f"market {market} is listed {n} times" for market, n in markets.items() if n > 1]
	catch_alls = [rate.market for rate in rates if rate.is_catch_all]
	if len(catch_alls) > 1:
		problems.append(f"only one market may have no countries (catch-all): {', '.join(catch_alls)}")
	owners: dict[str, list[str]] = {}
	for rate in rates:
		for country in rate.countries:
			owners.setdefault(country, []).append(rate.market)
	problems += [
		f"{country} is in more than one market: {', '.join(markets_of_country)}"
		for country, markets_of_country in owners.items()
		if len(markets_of_country) > 1
	]
	for rate in rates:
		for category in CATEGORIES:
			if rate.price(category) < 0:
				problems.append(f"{rate.market}: the {category.lower()} rate is negative")
	return problems


def to_decimal(value) -> Decimal:
	"""Decimal of a card figure; floats (as Frappe stores Float fields) go through their repr so
	that 0.0118 stays 0.0118."""
	if isinstance(value, Decimal):
		return value
	return Decimal(str(value if value is not None else 0))


def _category(category: str) -> str:
	normalised = (category or "").strip().upper()
	if normalised not in CATEGORIES:
		raise ValueError(f"unknown template category {category!r}; expected one of {', '.join(CATEGORIES)}")
	return normalised


# Meta's published USD card, converted to rupees at the rate below for estimates. A WABA billed in
# INR pays Meta's INR card instead (India: ₹0.8631 marketing, ₹0.1150 utility and authentication
# from 1 January 2026, where this card gives ₹1.08 and ₹0.13): see published_rate_cards().
PUBLISHED_EFFECTIVE_FROM = date(2026, 1, 1)
PUBLISHED_CURRENCY = "USD"
PUBLISHED_CONVERSION_TO_INR = Decimal("91.49")
PUBLISHED_SOURCE = """\
Meta, "Pricing on the WhatsApp Business Platform", USD rate card effective 2026-01-01 \
(https://developers.facebook.com/docs/whatsapp/pricing), per-message list rates before volume \
tiers. Figures as transcribed in a public copy of that card; they agree with the 2025 card plus \
the 2026-01-01 changes Meta announced (India marketing up; France and Egypt marketing down; North \
America utility and authentication down), and the Argentina, Brazil, Chile, Colombia and Egypt \
figures match the 2026-10-01 AED card (huggingface.co/datasets/tobachat/whatsapp-api-rates) at \
USD 1 = AED 3.6725.
Not included, figures not found: the 2026-07-01 changes (marketing up in Italy, Saudi Arabia, \
Spain and the United Kingdom; utility up in Pakistan, down in Turkey; own markets for Hong Kong, \
Singapore, Hungary, Poland, Romania and Qatar) and the 2026-10-01 changes (own markets for \
Bangladesh, Iraq, Kazakhstan, Kuwait, Morocco, Nepal, Oman, Sri Lanka and Ukraine); those \
countries are still priced in their old regions here. Authentication-international rates \
(e.g. India USD 0.0280) are not modelled.
Markets by the recipient's country: Meta prices by country calling code, so +1 numbers outside \
the Rest of Latin America list are North America and +44 Crown Dependencies are United Kingdom.
conversion_to_inr: USD 1 = INR 91.49, the rupee's close on 2026-02-02 (PTI, rediff.com); update \
it to the rate your bank or card charges."""

_NANP_OUTSIDE_LATIN_AMERICA = "AG AI AS BB BM BS DM GD GU KN KY LC MP MS SX TC TT VC VG VI"
_PUBLISHED_USD = (
	# market, countries, marketing, utility, authentication
	("Argentina", "AR", "0.0618", "0.0260", "0.0260"),
	("Brazil", "BR", "0.0625", "0.0068", "0.0068"),
	("Chile", "CL", "0.0889", "0.0200", "0.0200"),
	("Colombia", "CO", "0.0125", "0.0008", "0.0008"),
	("Egypt", "EG", "0.0644", "0.0036", "0.0036"),
	("France", "FR", "0.0859", "0.0300", "0.0300"),
	("Germany", "DE", "0.1365", "0.0550", "0.0550"),
	("India", "IN", "0.0118", "0.0014", "0.0014"),
	("Indonesia", "ID", "0.0411", "0.0250", "0.0250"),
	("Israel", "IL", "0.0353", "0.0053", "0.0053"),
	("Italy", "IT", "0.0691", "0.0300", "0.0300"),
	("Malaysia", "MY", "0.0860", "0.0140", "0.0140"),
	("Mexico", "MX", "0.0305", "0.0085", "0.0085"),
	("Netherlands", "NL", "0.1597", "0.0500", "0.0500"),
	("Nigeria", "NG", "0.0516", "0.0067", "0.0067"),
	("Pakistan", "PK", "0.0473", "0.0054", "0.0054"),
	("Peru", "PE", "0.0703", "0.0200", "0.0200"),
	("Russia", "RU", "0.0802", "0.0400", "0.0400"),
	("Saudi Arabia", "SA", "0.0455", "0.0107", "0.0107"),
	("South Africa", "ZA", "0.0379", "0.0076", "0.0076"),
	("Spain", "ES", "0.0615", "0.0200", "0.0200"),
	("Turkey", "TR", "0.0109", "0.0053", "0.0053"),
	("United Arab Emirates", "AE", "0.0499", "0.0157", "0.0157"),
	("United Kingdom", "GB GG IM JE", "0.0529", "0.0220", "0.0220"),
	("North America", "US CA " + _NANP_OUTSIDE_LATIN_AMERICA, "0.0250", "0.0034", "0.0034"),
	(
		"Rest of Africa",
		"DZ AO BJ BW BF BI CM TD CG ER ET GA GM GH GW CI KE LS LR LY MG MW ML MR MA MZ NA NE RW SN SL "
		"SO SS SD SZ TZ TG TN UG ZM ZW",
		"0.0225",
		"0.0040",
		"0.0040",
	),
	(
		"Rest of Asia Pacific",
		"AF AU BD KH CN HK JP LA MN NP NZ PG PH SG LK TW TJ TH TM UZ VN",
		"0.0732",
		"0.0113",
		"0.0113",
	),
	(
		"Rest of Central & Eastern Europe",
		"AL AM AZ BY BG HR CZ GE GR HU LV LT MD MK PL RO RS SK SI UA",
		"0.0860",
		"0.0212",
		"0.0212",
	),
	("Rest of Latin America", "BO CR DO EC SV GT HT HN JM NI PA PY PR UY VE", "0.0740", "0.0113", "0.0113"),
	("Rest of Middle East", "BH IQ JO KW LB OM QA YE", "0.0341", "0.0091", "0.0091"),
	("Rest of Western Europe", "AT BE DK FI IE NO PT SE CH", "0.0592", "0.0171", "0.0171"),
	(CATCH_ALL_MARKET, "", "0.0604", "0.0077", "0.0077"),
)


def published_rates() -> list[MarketRate]:
	"""Meta's published card (see PUBLISHED_SOURCE), in PUBLISHED_CURRENCY."""
	return [
		MarketRate(
			market=market,
			countries=parse_countries(countries),
			marketing=Decimal(marketing),
			utility=Decimal(utility),
			authentication=Decimal(authentication),
		)
		for market, countries, marketing, utility, authentication in _PUBLISHED_USD
	]


# Meta's INR card, for a WABA billed in rupees. Only India's figures were found; every other market
# is the USD card converted at PUBLISHED_CONVERSION_TO_INR (see PUBLISHED_INR_SOURCE).
PUBLISHED_INR_EFFECTIVE_FROM = date(2026, 1, 1)
_PUBLISHED_INR = (
	# market, countries, marketing, utility, authentication
	("India", "IN", "0.8631", "0.1150", "0.1150"),
)
PUBLISHED_INR_SOURCE = """\
Meta, "Pricing on the WhatsApp Business Platform", INR rate card effective 2026-01-01 \
(https://developers.facebook.com/docs/whatsapp/pricing, where Meta offers its card in each billing \
currency), per-message list rates before volume tiers.
India: marketing INR 0.8631 (up from 0.7846), utility INR 0.1150, authentication INR 0.1150 \
(authentication-international INR 2.30, not modelled), as quoted from Meta's INR card by \
whats91.com/pricing (Meta's India rates, effective 2026-01-01, INR billing), \
richautomate.in (blog: Meta raised India's marketing rate 10% on 2026-01-01) and \
digitaltechbyte.com (India rupee billing from 2026-01-01).
Every other market: Meta's INR figures effective 2026-01-01 were not found, so they are the USD \
card (see the USD card's source) converted at USD 1 = INR 91.49 and rounded to four decimals. \
The INR figures found for other markets were older cards (emovur.com's copy, with India marketing \
at INR 0.7846 and authentication priced apart from utility) or later ones (the 2026-10-01 cards in \
huggingface.co/datasets/tobachat/whatsapp-api-rates), so they were not used. Those older INR cards \
priced foreign markets near INR 73 per US dollar (Argentina marketing INR 4.5293 against \
USD 0.0618), so the converted figures here probably overstate what an INR-billed WABA pays for \
numbers outside India: replace them with Meta's INR card when you have it."""


@dataclass
class PublishedCard:
	"""One of Meta's rate cards as shipped here, in its billing currency."""

	currency: str
	effective_from: date
	conversion_to_inr: Decimal  # rupees per unit of ``currency``: 1 for the INR card
	source: str
	rates: list[MarketRate]
	converted_markets: tuple[str, ...] = ()  # markets priced from another currency's card


def published_inr_rates() -> list[MarketRate]:
	"""Meta's INR card (see PUBLISHED_INR_SOURCE): India as Meta prints it, every other market of
	the USD card converted to rupees."""
	own = {
		market: MarketRate(
			market=market,
			countries=parse_countries(countries),
			marketing=Decimal(marketing),
			utility=Decimal(utility),
			authentication=Decimal(authentication),
		)
		for market, countries, marketing, utility, authentication in _PUBLISHED_INR
	}
	return [
		own.get(rate.market) or _converted(rate, PUBLISHED_CONVERSION_TO_INR) for rate in published_rates()
	]


def published_rate_cards() -> list[PublishedCard]:
	"""Every card shipped here, USD first: pick the one in the WABA's billing currency."""
	inr_markets = {row[0] for row in _PUBLISHED_INR}
	return [
		PublishedCard(
			currency=PUBLISHED_CURRENCY,
			effective_from=PUBLISHED_EFFECTIVE_FROM,
			conversion_to_inr=PUBLISHED_CONVERSION_TO_INR,
			source=PUBLISHED_SOURCE,
			rates=published_rates(),
		),
		PublishedCard(
			currency="INR",
			effective_from=PUBLISHED_INR_EFFECTIVE_FROM,
			conversion_to_inr=Decimal(1),
			source=PUBLISHED_INR_SOURCE,
			rates=published_inr_rates(),
			converted_markets=tuple(
				rate.market for rate in published_rates() if rate.market not in inr_markets
			),
		),
	]


def published_card(currency: str) -> PublishedCard | None:
	"""The shipped card in ``currency`` (any letter case), or None."""
	wanted = (currency or "").strip().upper()
	return next((card for card in published_rate_cards() if card.currency == wanted), None)


def _converted(rate: MarketRate, conversion: Decimal) -> MarketRate:
	def convert(price: Decimal) -> Decimal:
		return (price * conversion).quantize(_CARD_PRECISION, rounding=ROUND_HALF_UP)

	return MarketRate(
		market=rate.market,
		countries=rate.countries,
		marketing=convert(rate.marketing),
		utility=convert(rate.utility),
		authentication=convert(rate.authentication),
	)
