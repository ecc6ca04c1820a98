"""Ready-made template drafts a studio submits to Meta with one click.

One per use the app ships with: the three drip sequences (review request, birthday voucher,
portfolio for a stalled inquiry) and a festive offer whose button is a tracked link. Each is
written to pass Meta's rules (:mod:`.template_rules`) with an example for every variable, and its
variables are the ones the shipped sequences and campaigns fill in.
"""

from __future__ import annotations

from dataclasses import dataclass

from .templates import Button, TemplateSpec

OPT_OUT_TEXT = "Stop promotions"


@dataclass(frozen=True)
class LibraryDraft:
	key: str
	title: str
	use: str  # what it is for, shown beside the title
	spec: TemplateSpec
	sequence: str | None = None  # the shipped drip sequence whose step it fits


def library(site_url: str) -> list[LibraryDraft]:
	"""The drafts; ``site_url`` is the studio's site, where tracked links answer (``/r/<token>``)."""
	# A button's URL ends in the site's redirect; each message fills in its own link token.
	tracked_link = f"{site_url.rstrip('/')}/r/{{{{link}}}}"
	return [
		LibraryDraft(
			key="review_request",
			title="Review request",
			use="Two days after a project is completed, ask for a review",
			sequence="Review Request after Project Completion",
			spec=TemplateSpec(
				name="review_request_after_shoot",
				language="en",
				category="MARKETING",
				status="DRAFT",
				body=(
					"Hi {{1}}, thank you for choosing us for your {{2}}! If you loved your photos, "
					"would you leave us a review? It helps other families find us."
				),
				footer="Reply to reach the studio",
				buttons=[Button(type="QUICK_REPLY", text=OPT_OUT_TEXT)],
				examples={"1": "Asha", "2": "wedding shoot"},
			),
		),
		LibraryDraft(
			key="birthday_voucher",
			title="Birthday voucher",
			use="On the client's birthday, a voucher for their next shoot",
			sequence="Birthday Voucher",
			spec=TemplateSpec(
				name="birthday_voucher",
				language="en",
				category="MARKETING",
				status="DRAFT",
				body=(
					"Happy birthday, {{1}}! To celebrate, here is {{2}} off your next portrait "
					"session with us. Show this message when you book."
				),
				buttons=[
					Button(type="COPY_CODE", text="Copy code", example="BDAY15"),
					Button(type="QUICK_REPLY", text=OPT_OUT_TEXT),
				],
				examples={"1": "Asha", "2": "15%"},
			),
		),
		LibraryDraft(
			key="portfolio_highlight",
			title="Portfolio highlight",
			use="An inquiry with no progress for three days gets the portfolio",
			sequence="Portfolio for a Stalled Inquiry",
			spec=TemplateSpec(
				name="portfolio_highlight",
				language="en",
				category="MARKETING",
				status="DRAFT",
				parameter_format="NAMED",
				header_format="IMAGE",
				body=(
					"Hi {{name}}, while you plan your {{shoot}}, here are a few of our favourite "
					"recent shoots. Tap below to see the full portfolio and pick a date."
				),
				buttons=[
					Button(type="URL", text="See the portfolio", url=tracked_link),
					Button(type="QUICK_REPLY", text=OPT_OUT_TEXT),
				],
				examples={"name": "Asha", "shoot": "wedding", "link": "Xq3kT9vLmN2pR7sW"},
			),
		),
		LibraryDraft(
			key="festive_offer",
			title="Festive offer",
			use="A broadcast for Diwali or any season, with a tracked booking link",
			spec=TemplateSpec(
				name="festive_offer_booking",
				language="en",
				category="MARKETING",
				status="DRAFT",
				parameter_format="NAMED",
				header_format="IMAGE",
				body=(
					"Hi {{name}}! Our festive portrait sessions are open: {{offer}}. Slots go fast, "
					"tap below to pick yours."
				),
				footer="Reply to reach the studio",
				buttons=[
					Button(
						type="URL",
						text="Book now",
						url=tracked_link,
					),
					Button(type="QUICK_REPLY", text=OPT_OUT_TEXT),
				],
				examples={"name": "Asha", "offer": "20% off family portraits", "link": "Xq3kT9vLmN2pR7sW"},
			),
		),
	]
