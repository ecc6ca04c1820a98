"""Meta's Conversions API for Business Messaging, for Click-to-WhatsApp ads: what happened after
an ad click (a lead, a purchase) reported back to the ad, framework-free.

A Click-to-WhatsApp ad's first message carries Meta's click id, ``ctwa_clid``. An event is sent
to the WABA's dataset (``POST /<DATASET_ID>/events`` with ``data=[...]``, at most 1,000 events a
call) as ``action_source: business_messaging``, ``messaging_channel: whatsapp``, with the WABA
and the click id in ``user_data`` ("Conversions API for Business Messaging: Onboarding Guide";
"Using the API"; "Server Event Parameters"). Meta refuses the whole request when one event in it
is more than 7 days old, and counts every event it receives in ``events_received``; it
deduplicates by ``event_name`` and ``event_id``, so the id here is derived from the document the
event is about and a retry, or a document submitted twice, is counted once.

Sending is :meth:`.client.CloudAPIClient.send_conversion_events`; this module decides what is
sent (:func:`conversion_payload`), whether it can be (:func:`why_not_sendable`), and when to try
again after a failure (:func:`is_retryable`, :func:`retry_delay`, :data:`MAX_ATTEMPTS`).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from . import errors

LEAD_SUBMITTED = "LeadSubmitted"
PURCHASE = "Purchase"
# The events the app reports. Meta takes a few more for WhatsApp (AddToCart, InitiateCheckout,
# ViewContent) and refuses the pixel's ``Lead`` on business messaging: a lead is LeadSubmitted.
EVENT_NAMES = (LEAD_SUBMITTED, PURCHASE)
ACTION_SOURCE = "business_messaging"
MESSAGING_CHANNEL = "whatsapp"
MAX_EVENT_AGE = timedelta(days=7)  # Meta: "event_time can be up to 7 days before you send"
# Meta is silent on how close to the 7 days an event may be sent. An event that passes here
# must still pass at Meta after the request's way and a slow answer, so a few minutes are kept.
AGE_MARGIN = timedelta(minutes=5)
# Meta refuses an event_time in the future but names no tolerance; a minute covers clocks that
# drift apart, not a wrong time zone (which is hours).
CLOCK_SKEW = timedelta(minutes=1)
MAX_EVENTS_PER_REQUEST = 1000  # Meta: "You can send up to 1,000 events in data"
CENTS = Decimal("0.01")

# After the n-th failed attempt, wait RETRY_DELAYS[n - 1]. They add up to under 15 hours, well
# inside Meta's 7 days, and the last waits long enough for an outage at Meta to end.
RETRY_DELAYS = (
	timedelta(minutes=1),
	timedelta(minutes=5),
	timedelta(minutes=30),
	timedelta(hours=2),
	timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1  # the first try and one after each delay

# Graph API codes worth trying again: unknown (1) and service (2) errors, the app's (4), the
# user's (17) and the application's (341) request limits, the page's (32) and the custom (613)
# rate limits, and the WhatsApp throttling codes errors.py already knows.
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 341, 613}) | errors.RATE_LIMIT_CODES
# Never better on a second try: invalid parameter (100), an expired or wrong token (190), a
# missing permission (10, 200-299). The same events fail the same way until someone changes them.
PERMANENT_CODES = frozenset({10, 100, 190})


@dataclass(frozen=True)
class ConversionEvent:
	"""One conversion, as it is sent: ``event_time`` is when it happened (aware), ``value`` and
	``currency`` (ISO 4217) are for a Purchase only."""

	event_name: str  # LEAD_SUBMITTED or PURCHASE
	event_id: str  # conversion_event_id(...): the same document gives the same id
	event_time: datetime
	waba_id: str
	ctwa_clid: str | None
	value: Decimal | None = None
	currency: str | None = None

	def __post_init__(self) -> None:
		# A naive time would be read in this machine's zone and land hours off at Meta.
		if self.event_time.tzinfo is None or self.event_time.utcoffset() is None:
			raise ValueError(f"event_time must be timezone-aware, not {self.event_time!r}")


def conversion_event_id(event_name: str, reference_doctype: str, reference_name: str) -> str:
	"""The ``event_id`` for the event ``event_name`` about one document: 22 URL-safe characters,
	the same for the same document every time, so Meta counts a retry or a resubmission once.
	The event name is part of it: a Lead and a Purchase from one Quotation are two events."""
	key = "\x1f".join((event_name, reference_doctype, reference_name)).encode()
	digest = hashlib.sha256(key).digest()[:16]  # 128 bits: no two documents will ever collide
	return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def conversion_payload(event: ConversionEvent) -> dict:
	"""Meta's server event for ``event``: ``event_time`` in Unix seconds, the WABA and click id
	in ``user_data``, and for a Purchase ``custom_data`` with ``value`` (a number rounded to the
	cent) and ``currency``."""
	payload: dict = {
		"event_name": event.event_name,
		"event_time": int(event.event_time.timestamp()),
		"event_id": event.event_id,
		"action_source": ACTION_SOURCE,
		"messaging_channel": MESSAGING_CHANNEL,
		"user_data": {
			"whatsapp_business_account_id": str(event.waba_id),
			"ctwa_clid": event.ctwa_clid,
		},
	}
	if event.event_name == PURCHASE:
		payload["custom_data"] = {
			# JSON has no decimal type: the rounded Decimal becomes the float nearest it, which
			# prints as the same two decimals (1234.50 is sent as 1234.5).
			"value": None if event.value is None else float(_to_cents(event.value)),
			"currency": (event.currency or "").upper(),
		}
	return payload


def why_not_sendable(event: ConversionEvent, now: datetime) -> str | None:
	"""Why Meta would refuse ``event`` if it were sent at ``now`` (aware), in plain words; None
	when it can go. An event refused here is given up, not retried: it will not get younger, nor
	gain a click id, a value or a currency (only one dated in the future might pass later)."""
	if event.event_name not in EVENT_NAMES:
		return f"{event.event_name!r} is not an event this app reports to Meta ({', '.join(EVENT_NAMES)})"
	if not (event.ctwa_clid or "").strip():
		return "There is no Click-to-WhatsApp click id (ctwa_clid): the conversation did not start from an ad"
	if not str(event.waba_id or "").strip():
		return "The WhatsApp Business Account ID is missing"
	age = now - event.event_time
	if age > MAX_EVENT_AGE - AGE_MARGIN:
		return (
			f"The event happened {_days(age)} ago; Meta takes events up to 7 days old "
			f"(on {event.event_time:%d %b %Y %H:%M %Z}, now {now:%d %b %Y %H:%M %Z})"
		)
	if -age > CLOCK_SKEW:
		return f"The event's time ({event.event_time.isoformat()}) is in the future; Meta refuses it"
	if event.event_name == PURCHASE:
		if event.value is None or not _is_positive(event.value):
			return f"A Purchase needs a positive value, not {event.value!r}"
		currency = (event.currency or "").strip()
		if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):
			return f"A Purchase needs a 3-letter ISO 4217 currency code such as INR, not {event.currency!r}"
	return None


def retry_delay(attempts: int) -> timedelta:
	"""How long to wait after ``attempts`` failed attempts (1 after the first) before the next;
	past the table the longest wait repeats, and :data:`MAX_ATTEMPTS` says when to stop."""
	if attempts < 1:
		raise ValueError(f"attempts counts failed attempts, from 1; got {attempts}")
	return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def is_retryable(error: BaseException) -> bool:
	"""Whether sending the same events again may succeed. A lost connection or timeout is
	retryable even when the request may have reached Meta: the events keep their ``event_id``,
	so Meta counts them once. Anything that is not a Graph API failure is not."""
	if isinstance(error, errors.TransportError):
		return True
	if not isinstance(error, errors.MetaError):
		return False
	code = error.code
	if code in PERMANENT_CODES or (code is not None and 200 <= code <= 299):
		return False
	if code in RETRYABLE_CODES:
		return True
	if error.http_status is not None and (error.http_status >= 500 or error.http_status == 429):
		return True
	return error.retryable


def _to_cents(value: Decimal) -> Decimal:
	return Decimal(value).quantize(CENTS, rounding=ROUND_HALF_UP)


def _is_positive(value: Decimal) -> bool:
	try:
		number = Decimal(value)
	except (InvalidOperation, TypeError, ValueError):  # not a number at all
		return False
	# NaN and infinity are Decimals too; a value that rounds to 0.00 is no purchase either.
	return number.is_finite() and _to_cents(number) > 0


def _days(age: timedelta) -> str:
	days = age.total_seconds() / 86400
	return f"{days:.1f} days"
