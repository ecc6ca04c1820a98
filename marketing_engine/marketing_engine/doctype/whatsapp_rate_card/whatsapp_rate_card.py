# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import flt, getdate, today

from marketing_engine.engine import cost
from marketing_engine.engine.cost import Estimate, MarketRate


class WhatsAppRateCard(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		from marketing_engine.marketing_engine.doctype.whatsapp_rate_card_rate.whatsapp_rate_card_rate import (
			WhatsAppRateCardRate,
		)

		conversion_to_inr: DF.Float
		currency: DF.Link
		effective_from: DF.Date
		enabled: DF.Check
		rates: DF.Table[WhatsAppRateCardRate]
		source: DF.SmallText | None
		title: DF.Data

	# end: auto-generated types
	def validate(self):
		problems = []
		conversion = flt(self.conversion_to_inr)
		if self.currency == "INR" and conversion != 1:
			problems.append(_("Conversion to INR must be 1 for a card in INR."))
		elif conversion <= 0:
			problems.append(_("Conversion to INR must be more than 0."))
		elif self.currency != "INR" and conversion == 1:
			# Left at its default, a USD card would show dollars as rupees.
			problems.append(_("Set Conversion to INR: how many rupees one {0} costs.").format(self.currency))
		for row in self.rates:
			row.market = (row.market or "").strip()
			try:
				row.countries = ", ".join(cost.parse_countries(row.countries))
			except ValueError as e:
				problems.append(_("Row {0} ({1}): {2}").format(row.idx, row.market, e))
		if not problems:
			problems = cost.rate_card_problems(self.to_market_rates())
		if problems:
			frappe.throw(problems, title=_("This rate card cannot price campaigns"), as_list=True)

	def to_market_rates(self) -> list[MarketRate]:
		return [
			MarketRate(
				market=row.market,
				countries=cost.parse_countries(row.countries),
				marketing=cost.to_decimal(row.marketing),
				utility=cost.to_decimal(row.utility),
				authentication=cost.to_decimal(row.authentication),
			)
			for row in self.rates
		]

	def estimate(self, recipients_by_region: dict[str | None, int], category: str) -> Estimate:
		"""What sending one ``category`` template to ``recipients_by_region`` costs, in INR."""
		return cost.estimate(
			recipients_by_region,
			category,
			self.to_market_rates(),
			currency="INR",
			conversion=cost.to_decimal(self.conversion_to_inr or 1),
		)

	def unit_prices(self, category: str) -> dict[str | None, float]:
		"""Price of one ``category`` message per region in INR, for freezing each message's cost:
		``prices.get(region, prices[None])`` (None: the catch-all market)."""
		conversion = cost.to_decimal(self.conversion_to_inr or 1)
		rates = self.to_market_rates()
		regions = {country for rate in rates for country in rate.countries}
		prices = {}
		for region in [*regions, None]:
			rate = cost.market_for(region, rates)
			if rate:
				prices[region] = float(getattr(rate, category.lower(), 0) * conversion)
		return prices


def get_rate_card(on_date=None, currency: str | None = None) -> WhatsAppRateCard | None:
	"""The enabled card in effect on ``on_date`` (today by default): the one with the latest
	Effective From not after it, in ``currency`` (the WABA's billing currency) when there is one."""
	filters = {"enabled": 1, "effective_from": ("<=", getdate(on_date or today()))}
	name = (
		frappe.db.get_value(
			"WhatsApp Rate Card",
			{**filters, "currency": currency},
			"name",
			order_by="effective_from desc, creation desc",
		)
		if currency
		else None
	) or frappe.db.get_value(
		"WhatsApp Rate Card", filters, "name", order_by="effective_from desc, creation desc"
	)
	return frappe.get_cached_doc("WhatsApp Rate Card", name) if name else None


def rate_card_of_account(account: str | None, on_date=None) -> WhatsAppRateCard | None:
	currency = frappe.db.get_value("WhatsApp Account", account, "currency") if account else None
	return get_rate_card(on_date, currency or "INR")


def price_of_message(account: str | None, category: str | None, region: str | None) -> float | None:
	"""What Meta charges for one message, in INR, on the card in force now: frozen on each message
	when it is written, so later card changes do not rewrite past costs."""
	if (category or "").upper() not in cost.CATEGORIES:
		return 0.0  # free-form service replies inside the 24-hour window are free
	card = rate_card_of_account(account)
	if not card:
		return None
	prices = card.unit_prices(category)
	return prices.get(region, prices.get(None))


def published_card_title(card=None) -> str:
	card = card or cost.published_card(cost.PUBLISHED_CURRENCY)
	return f"Meta WhatsApp rates from {card.effective_from.isoformat()} ({card.currency})"


def ship_published_rate_card() -> list[str]:
	"""Insert each of Meta's published cards (marketing_engine.engine.cost: USD, and INR for a WABA
	billed in rupees) unless a card of that title exists, so that edits made on the site survive
	migrations; returns their names."""
	names = []
	for card in cost.published_rate_cards():
		title = published_card_title(card)
		names.append(title)
		if frappe.db.exists("WhatsApp Rate Card", title):
			continue
		frappe.get_doc(
			{
				"doctype": "WhatsApp Rate Card",
				"title": title,
				"effective_from": card.effective_from,
				"currency": card.currency,
				"conversion_to_inr": float(card.conversion_to_inr),
				"source": card.source,
				"enabled": 1,
				"rates": [
					{
						"market": rate.market,
						"countries": ", ".join(rate.countries),
						"marketing": float(rate.marketing),
						"utility": float(rate.utility),
						"authentication": float(rate.authentication),
					}
					for rate in card.rates
				],
			}
		).insert(ignore_permissions=True)
	return names
