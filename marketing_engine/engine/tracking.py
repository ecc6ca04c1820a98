"""Tracked links, click filtering, and the arithmetic of attributing bookings to messages.

A message carries a link of the form ``/r/<token>``: the token names one message's link, so a
click tells who clicked what. The redirect adds UTM parameters to the studio's URL so that a
landing on its website is attributed too. Bookings are attributed to the last touch (landing,
click or reply) inside a window before them, and a holdout group that is never messaged measures
what the messages added.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

TOKEN_BYTES = 16  # 128 bits: not guessable, not enumerable
TOKEN_LENGTH = 22  # base64url of 16 bytes, without padding
# 16 bytes fill 21 characters and 2 bits of the 22nd, whose last 4 bits are zero: A, Q, g or w.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{21}[AQgw]")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")
TOUCH_KINDS = ("utm_landing", "click", "reply", "ad")

# Not a person: link preview fetchers, crawlers and scripts, matched in the lowercased User-Agent.
# WhatsApp fetches a link's preview with "WhatsApp/<version> <platform>" (e.g.
# "WhatsApp/2.23.18.78 i" from iOS, "... A" from Android) and through Meta's shared crawler,
# "facebookexternalhit/1.1" (opengraphplus.com/consumers/whatsapp/crawling; Signal's previews
# use "WhatsApp/2" too: github.com/flyerhq/flutter_link_previewer/pull/43). Meta's own "Link
# Previews" page (developers.facebook.com/documentation/business-messaging/whatsapp/link-previews)
# documents the Open Graph tags but not the User-Agent. A person tapping the link opens it in a
# browser, whose User-Agent is the browser's.
_PREVIEW_FETCHER_PREFIXES = ("whatsapp/",)
_NOT_A_PERSON = re.compile(
	r"facebookexternalhit|facebot|facebookcatalog|meta-externalagent|meta-externalfetcher"
	r"|twitterbot|slackbot|telegrambot|discordbot|googlebot|bingbot|linkedinbot|skypeuripreview"
	r"|curl/|wget/|python-requests|python-urllib|aiohttp|httpx|go-http-client|okhttp|java/|libwww"
	r"|headlesschrome|bot\b|crawler|spider|preview"
)
# Phone models whose names end in "bot" and would pass for crawlers.
_PHONES_NAMED_BOT = re.compile(r"cubot")


def new_token() -> str:
	"""A fresh link token: 128 random bits, URL-safe, always 22 characters."""
	return secrets.token_urlsafe(TOKEN_BYTES)


def looks_like_token(value: object) -> bool:
	"""Whether ``value`` has the shape of a :func:`new_token` token: a cheap check that turns
	away forged or mangled values before any database look-up."""
	return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def with_utm(url: str, source: str, campaign: str, medium: str = "whatsapp") -> str:
	"""``url`` with ``utm_source``, ``utm_medium`` and ``utm_campaign`` set to these values.

	Any earlier values of those three are replaced; every other query parameter is kept as
	written (order, repeated keys and encoding), and so is the fragment. Only http and https
	links are taken: a ``javascript:`` or ``data:`` link would run in the person's browser."""
	written = (url or "").strip()
	parts = urlsplit(written)
	if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
		raise ValueError(f"Only http and https links can be tracked, not {written[:80]!r}")
	values = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
	missing = [key for key, value in values.items() if not str(value or "").strip()]
	if missing:
		raise ValueError(f"A tracked link needs {', '.join(missing)}")
	kept = [
		pair
		for pair in parts.query.split("&")
		if pair and unquote_plus(pair.split("=", 1)[0]).lower() not in UTM_KEYS
	]
	added = [f"{key}={quote(str(values[key]).strip(), safe='')}" for key in UTM_KEYS]
	return urlunsplit(parts._replace(query="&".join(kept + added)))


def is_link_preview_or_bot(user_agent: str | None, method: str | None = "GET") -> bool:
	"""Whether a request for a tracked link came from something other than a person: a link
	preview (WhatsApp fetches one as soon as a link is typed, before anyone taps it), a crawler,
	a script, an empty User-Agent, or any method but GET (HEAD and the like are checks, not
	clicks). Such requests still redirect but must not count as clicks."""
	if (method or "GET").upper() != "GET":
		return True
	agent = " ".join((user_agent or "").split()).lower()
	if not agent:
		return True
	if agent.startswith(_PREVIEW_FETCHER_PREFIXES):
		return True
	return _NOT_A_PERSON.search(_PHONES_NAMED_BOT.sub("", agent)) is not None


# -- attribution ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Touch:
	"""Something a person did because of a message: landed on the website with its UTM
	parameters, clicked its tracked link, or replied to it; or wrote from a Click-to-WhatsApp ad
	(``ad``: the WhatsApp Ad)."""

	kind: str  # one of TOUCH_KINDS
	at: datetime
	campaign: str | None = None
	sequence: str | None = None
	step: int | str | None = None
	message: str | None = None
	ad: str | None = None

	def __post_init__(self):
		if self.kind not in TOUCH_KINDS:
			raise ValueError(f"Unknown touch {self.kind!r}; expected one of {', '.join(TOUCH_KINDS)}")


def last_touch(touches: list[Touch], booked_at: datetime, window_days: int) -> Touch | None:
	"""The touch a booking is attributed to: the latest one at or before ``booked_at`` and no
	more than ``window_days`` before it (exactly ``window_days`` before still counts). A touch
	after the booking never counts. Of touches at the same moment the one listed last wins."""
	if window_days < 0:
		raise ValueError(f"The attribution window cannot be negative ({window_days} days)")
	earliest = booked_at - timedelta(days=window_days)
	chosen: Touch | None = None
	for touch in touches:
		if earliest <= touch.at <= booked_at and (chosen is None or touch.at >= chosen.at):
			chosen = touch
	return chosen


# -- holdout groups ---------------------------------------------------------------------------
def in_holdout(campaign_key: str, recipient_key: str, share: float) -> bool:
	"""Whether a recipient is held out of a campaign (never messaged, to measure the campaign
	against). The same pair always gets the same answer, whichever run asks; about ``share`` of
	recipients are held out, and who is differs from campaign to campaign."""
	if not 0 <= share <= 1:
		raise ValueError(f"The holdout share must be between 0 and 1, not {share}")
	# The length prefix keeps ("ab", "c") and ("a", "bc") apart.
	key = f"{len(campaign_key)}:{campaign_key}|{recipient_key}".encode()
	position = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2**64  # uniform in [0, 1)
	return position < share


def roi(cost: float, revenue: float) -> float | None:
	"""Revenue per rupee spent; None when nothing was spent."""
	if cost < 0:
		raise ValueError(f"A cost cannot be negative ({cost})")
	return float(revenue) / float(cost) if cost else None


def incremental(
	messaged_revenue: float,
	messaged_count: int,
	holdout_revenue: float,
	holdout_count: int,
	cost: float | None = None,
) -> dict:
	"""What messaging added over the holdout group: revenue per person in each group, the
	difference per person, that difference over everyone messaged, and the return on ``cost``
	of that increment. A figure that needs an empty group (or no cost) is None."""
	if messaged_count < 0 or holdout_count < 0:
		raise ValueError("Group sizes cannot be negative")
	messaged_per_person = float(messaged_revenue) / messaged_count if messaged_count else None
	holdout_per_person = float(holdout_revenue) / holdout_count if holdout_count else None
	per_person = (
		messaged_per_person - holdout_per_person
		if messaged_per_person is not None and holdout_per_person is not None
		else None
	)
	total = per_person * messaged_count if per_person is not None else None
	return {
		"messaged_revenue_per_person": messaged_per_person,
		"holdout_revenue_per_person": holdout_per_person,
		"incremental_revenue_per_person": per_person,
		"incremental_revenue": total,
		"incremental_roi": roi(cost, total) if total is not None and cost is not None else None,
	}
