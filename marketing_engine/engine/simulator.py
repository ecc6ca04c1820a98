"""A local stand-in for Meta's Graph API (WhatsApp Cloud API), for tests and as a sandbox.

It answers the calls the app makes, in Meta's documented request and response shapes:

- ``POST /<version>/<PHONE_NUMBER_ID>/messages``: validates the template message against the
  templates of the number's WABA (component and parameter types in any letter case, as Meta takes
  them) and answers with a ``wamid``; then delivers signed status webhooks (sent -> delivered ->
  read, or sent -> failed with a chosen error) to the number's webhook URL, echoing
  ``biz_opaque_callback_data``. A send goes to a phone number (``to``) or to a business-scoped user
  ID (``recipient``, "Business-scoped user IDs"); ``to`` wins when both are given. Free-form
  messages (``text`` and every other non-template type) are accepted only inside the user's
  24-hour customer service window with that number, opened by the user's last message (see
  :meth:`GraphAPISimulator.set_last_inbound`), else refused with 131047; their status webhooks are
  priced as free service messages;
- ``GET /<version>/<WABA_ID>/message_templates``: filtered, paged with opaque cursors and ``next``,
  with each template's ``example`` values, ``quality_score`` and, when asked, a ``summary``;
  ``POST /<version>/<PHONE_NUMBER_ID>/media``, ``GET /<version>/<PHONE_NUMBER_ID>?fields=...``;
- a per-number throughput limit (80 msg/s by default) answered with error 130429 beyond it, and
  Meta's pair rate limit (131056) for bursts to one recipient;
- error 190 for an unknown or expired access token.

A user directory gives every user a stable BSUID per WABA (country from their phone number). Every
webhook about a user carries ``contacts`` with ``user_id`` and, for a user with a username,
``username``; a username user's webhooks carry no phone number at all.

Control calls under ``/_simulator/`` (not Meta's) list what was sent, register username users, make
a user write in (a text, a button tap), change their marketing preference, phone number or BSUID,
and make Meta report on the account (template status and quality, phone quality, account updates),
each delivered as a signed webhook.

The Conversions API for Business Messaging: ``GET|POST /<version>/<WABA_ID>/dataset`` (one
dataset per WABA; a second POST answers the one it has) and ``POST /<version>/<DATASET_ID>/events``
with ``data=[...]`` (JSON, or a form field holding JSON), checked as Meta checks business messaging
events and refused whole, code 100, for one bad event; accepted events are kept once per dataset,
event name and ``event_id``, and all counted in ``events_received``. ``GET /_simulator/conversions``
lists them, ``POST /_simulator/conversions/fail`` makes the next calls fail, and
``POST /_simulator/conversions/reset`` forgets datasets and events.

Run it by hand: ``python -m marketing_engine.engine.simulator --webhook-url <url>``; it prints the
credentials to put on a WhatsApp Account.
"""

from __future__ import annotations

import argparse
import base64
import collections
import dataclasses
import hashlib
import itertools
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import phonenumbers
import requests

from .identity import is_bsuid
from .simulator_management import (
	FAILABLE_CALLS,
	SANDBOX_APP,
	ManagementMixin,
	SimApp,
	_error,
	_expired,
)
from .templates import TEXT_MAX_LENGTH, Button, TemplateSpec
from .webhook import SIGNATURE_HEADER, USER_CHANGED_NUMBER, USER_CHANGED_USER_ID, sign
from .window import service_window_open

PAIR_RATE_WINDOW = 6.0  # seconds
PAIR_RATE_BURST = 45  # messages to one user inside the window before 131056
TEMPLATE_LIMIT = 250  # message templates a WABA may have, reported in the template list summary
# Meta's rules for Conversions API events, kept here rather than imported from .conversions: the
# stand-in must refuse what Meta refuses even when the app's own checks change.
CAPI_MAX_EVENTS = 1000  # "You can send up to 1,000 events in data"
CAPI_MAX_AGE = 7 * 86400  # "If any event_time in data is greater than 7 days in the past, ... error"
# Meta refuses an event_time in the future without naming a tolerance; a minute of clock drift
# between the sender and Meta is let through, as a real server's would be.
CAPI_CLOCK_SKEW = 60
# The event names Meta takes with action_source business_messaging on WhatsApp; others, the
# pixel's "Lead" included, are refused with subcode 2804066 (Messaging Event Invalid Event Type).
CAPI_WHATSAPP_EVENTS = ("LeadSubmitted", "Purchase", "AddToCart", "InitiateCheckout", "ViewContent")
# Meta's subcode for "The parameter $['data'][0]['event_time'] is required."; the stand-in gives it
# to every malformed event, as Meta's exact subcode for each is not documented.
CAPI_PARAMETER_ERROR = 2804019
CAPI_INVALID_EVENT_TYPE = 2804066
# What Meta says for the codes a failure is usually made with (POST /_simulator/conversions/fail).
CAPI_FAILURE_MESSAGES = {
	1: "An unknown error occurred",
	2: "Service temporarily unavailable",
	4: "Application request limit reached",
	17: "User request limit reached",
	100: "Invalid parameter",
	190: "Error validating access token: Session has expired.",
	341: "Application limit reached",
}
# What a template's status becomes after a message_template_status_update event; events not
# listed (FLAGGED, LOCKED, UNLOCKED) leave the status as it was.
STATUS_AFTER_EVENT = {
	"APPROVED": "APPROVED",
	"REINSTATED": "APPROVED",
	"UNARCHIVED": "APPROVED",
	"PAUSED": "PAUSED",
	"DISABLED": "DISABLED",
	"REJECTED": "REJECTED",
	"PENDING": "PENDING",
	"IN_APPEAL": "IN_APPEAL",
	"PENDING_DELETION": "PENDING_DELETION",
	"DELETED": "DELETED",
	"ARCHIVED": "ARCHIVED",
	"LIMIT_EXCEEDED": "LIMIT_EXCEEDED",
}


@dataclass
class SimNumber:
	phone_number_id: str
	waba_id: str
	access_token: str
	app_secret: str
	display_phone_number: str
	verified_name: str = "Sandbox Studio"
	rate_per_second: int = 80
	health: str = "AVAILABLE"
	webhook_url: str | None = None
	quality_rating: str | None = None  # set by a phone quality event; else follows ``health``
	messaging_limit: str = "TIER_1K"
	# Registered for the Cloud API: CLOUD_API and CONNECTED; a number from a signup starts as
	# NOT_APPLICABLE and PENDING until ``POST /<PHONE>/register``.
	platform_type: str = "CLOUD_API"
	status: str = "CONNECTED"
	pin: str | None = None  # the two-step verification PIN set by registration


@dataclass
class Outcome:
	"""What happens to messages for one recipient: an error ``code``, either in the answer to
	the send (``sync``) or later as a ``failed`` status webhook."""

	code: int
	title: str
	sync: bool = False


@dataclass
class SentMessage:
	message_id: str
	phone_number_id: str
	to: str | None  # None for a send to a BSUID
	template: str | None  # None for a free-form message
	language: str | None
	payload: dict
	callback_data: str | None
	at: float = field(default_factory=time.time)
	recipient: str | None = None  # the BSUID of a send by ``recipient``
	user_id: str | None = None  # the BSUID of the user it went to, however it was addressed
	message_type: str = "template"  # Meta's ``type``: template, text, image, ...
	text: str | None = None  # the body of a text message


@dataclass(eq=False)  # one person, however their fields change: hashed by identity
class SimUser:
	"""A WhatsApp user. A username user does not share ``wa_id`` (which may be unknown, None):
	their webhooks carry only BSUID fields and the username."""

	wa_id: str | None
	region: str  # ISO 3166 alpha-2, the first part of the user's BSUIDs
	username: str | None = None
	profile_name: str = "Sandbox User"
	phone_shared: bool = True
	seed: str = ""  # what the user's BSUIDs are derived from; a new phone number gives a new one
	generation: int = 0  # counts the times Meta gave the user new BSUIDs without a number change


SANDBOX_PORT = 8790  # where the sandbox command runs it unless told otherwise
SANDBOX_SYSTEM = SimNumber(
	phone_number_id="100000000000001",
	waba_id="200000000000001",
	access_token="sandbox-system-token",
	app_secret="sandbox-system-secret",
	display_phone_number="+91 80000 00001",
	verified_name="Platform Notifications",
)
SANDBOX_BUSINESS = SimNumber(
	phone_number_id="100000000000002",
	waba_id="200000000000002",
	access_token="sandbox-business-token",
	app_secret="sandbox-business-secret",
	display_phone_number="+91 80000 00002",
	verified_name="Sandbox Studio",
)
OPT_OUT_BUTTON = Button(type="QUICK_REPLY", text="Stop promotions")
# Media header examples are upload handles from Meta's resumable upload API; these look like them.
_IMAGE_HANDLE = (
	"4::aW1hZ2UvanBlZw==:ARZ9festiveoffer0Yx8c1pKq2Wm3Nr4Ls5Tu6Vv7Ww8Xx9Yy:e:1767225600:1234:5678:ARa"
)
_VIDEO_HANDLE = "4::dmlkZW8vbXA0:ARbshowreel0Qw1Er2Ty3Ui4Op5As6Df7Gh8Jk9Lz:e:1767225600:1234:5678:ARb"


def sandbox_templates() -> list[TemplateSpec]:
	"""Templates every sandbox WABA has, approved: one per use the app ships with, each with the
	example values Meta keeps from its review."""
	return [
		TemplateSpec(
			name="booking_confirmation",
			language="en",
			category="UTILITY",
			body="Hi {{1}}, your booking {{2}} with us is confirmed for {{3}}. Amount: {{4}}. See you soon!",
			footer="Reply to this message to reach the studio",
			examples={"1": "Asha", "2": "SO-0001", "3": "1 Dec 2026", "4": "₹25,000"},
		),
		TemplateSpec(
			name="festive_offer",
			language="en",
			category="MARKETING",
			parameter_format="NAMED",
			header_format="IMAGE",
			body="Hi {{name}}! Our festive portrait sessions are open: {{offer}}. Book before the slots go.",
			buttons=[
				Button(
					type="URL", text="Book now", url="https://studio.example/book?utm_source={{campaign}}"
				),
				OPT_OUT_BUTTON,
			],
			examples={"name": "Asha", "offer": "20% off family portraits", "campaign": "diwali-2026"},
			header_handle=_IMAGE_HANDLE,
		),
		TemplateSpec(
			name="review_request",
			language="en",
			category="MARKETING",
			body="Hi {{1}}, thank you for choosing us for {{2}}! Would you leave us a review?",
			buttons=[OPT_OUT_BUTTON],
			examples={"1": "Asha", "2": "your wedding shoot"},
		),
		TemplateSpec(
			name="showreel_video",
			language="en",
			category="MARKETING",
			header_format="VIDEO",
			body="Hi {{1}}, here is our latest showreel.",
			buttons=[OPT_OUT_BUTTON],
			examples={"1": "Asha"},
			header_handle=_VIDEO_HANDLE,
		),
		TemplateSpec(
			name="old_promo",
			language="en",
			category="MARKETING",
			status="PAUSED",
			body="Hi {{1}}, this template was paused by Meta for low quality.",
			examples={"1": "Asha"},
		),
		TemplateSpec(
			# A tracked link as the app sends it: the button's URL in the template ends in the
			# studio site's redirect, /r/{{link}}, and each message fills in its own token.
			name="diwali_offer",
			language="en",
			category="MARKETING",
			parameter_format="NAMED",
			body="Hi {{name}}! Diwali portraits are open: {{offer}}. Tap below to pick your slot.",
			buttons=[
				Button(type="URL", text="Book now", url="https://studio.example/r/{{link}}"),
				OPT_OUT_BUTTON,
			],
			examples={"name": "Asha", "offer": "20% off family portraits", "link": "Xq3kT9vLmN2pR7sW1yZ4bA"},
		),
	]


class GraphAPISimulator(ManagementMixin):
	"""Start with :meth:`start` (or as a context manager); ``base_url`` is what a WhatsApp
	Account points at. Signup, template management and uploads: :mod:`.simulator_management`."""

	def new_number(self, **fields) -> SimNumber:
		return SimNumber(**fields)

	@staticmethod
	def health_status(number: SimNumber, waba=None) -> dict:
		return _health(number, waba)

	def __init__(
		self,
		numbers: list[SimNumber] | None = None,
		templates: dict[str, list[TemplateSpec]] | None = None,
		*,
		host: str = "127.0.0.1",
		port: int = 0,
		latency: float = 0.0,
		status_delay: float = 0.02,
		read_receipts: bool = True,
		webhook_threads: int = 2,
		webhook_headers: dict[str, str] | None = None,
		apps: list[SimApp] | None = None,
		review_delay: float | None = None,
	):
		self.numbers = {n.phone_number_id: n for n in numbers or [SANDBOX_SYSTEM, SANDBOX_BUSINESS]}
		# Sent with every webhook besides the signature: a bench serving several sites on one port
		# tells them apart by X-Frappe-Site-Name.
		self.webhook_headers = dict(webhook_headers or {})
		wabas = {n.waba_id for n in self.numbers.values()}
		self.templates: dict[str, list[TemplateSpec]] = templates or {w: sandbox_templates() for w in wabas}
		self.template_quality: dict[tuple[str, str, str], str] = {}  # (waba, name, language) -> score
		self.account_updates: dict[str, list[dict]] = collections.defaultdict(list)  # waba -> values sent
		self.latency = latency
		self.status_delay = status_delay
		self.read_receipts = read_receipts
		self.outcomes: dict[str, Outcome] = {}  # by phone digits or BSUID
		self.expired_tokens: set[str] = set()
		self.sent: list[SentMessage] = []
		self.rate_limited = 0
		self.media: dict[str, tuple[str, int]] = {}
		self.webhook_log: list[tuple[int | str, dict]] = []
		self._started = int(time.time())
		self._lock = threading.Lock()
		# The user directory has its own lock: sends look users up while holding no other lock.
		self._users_lock = threading.RLock()
		self._users_by_phone: dict[str, SimUser] = {}
		self._users_by_username: dict[str, SimUser] = {}
		self._users_by_bsuid: dict[str, tuple[str, SimUser]] = {}  # BSUID -> (WABA, user)
		# When each user last wrote to each number: opens that number's customer service window.
		self._last_inbound: dict[tuple[str, SimUser], datetime] = {}
		self._windows: dict[str, collections.deque] = collections.defaultdict(collections.deque)
		self._pairs: dict[tuple[str, str], collections.deque] = collections.defaultdict(collections.deque)
		self._deliveries: queue.PriorityQueue = queue.PriorityQueue()
		self._sequence = itertools.count()
		self._webhook_threads = webhook_threads
		self._pending = 0
		self._idle = threading.Condition(self._lock)
		handler = type("Handler", (_Handler,), {"simulator": self})
		self.server = _Server((host, port), handler)
		self.server.daemon_threads = True
		self._threads: list[threading.Thread] = []
		self._init_management(apps, review_delay)
		self._init_conversions()

	# -- lifecycle -------------------------------------------------------------------------
	@property
	def base_url(self) -> str:
		host, port = self.server.server_address[:2]
		return f"http://{host}:{port}"

	def start(self) -> GraphAPISimulator:
		server_thread = threading.Thread(target=self.server.serve_forever, name="graph-sim", daemon=True)
		server_thread.start()
		self._threads.append(server_thread)
		for i in range(self._webhook_threads):
			t = threading.Thread(target=self._deliver_webhooks, name=f"graph-sim-webhook-{i}", daemon=True)
			t.start()
			self._threads.append(t)
		return self

	def stop(self) -> None:
		for timer in self.timers:
			timer.cancel()
		self.server.shutdown()
		self.server.server_close()
		for _ in range(self._webhook_threads):
			self._deliveries.put((0.0, next(self._sequence), None))

	def __enter__(self) -> GraphAPISimulator:
		return self.start()

	def __exit__(self, *exc) -> None:
		self.stop()

	def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
		"""Block until every scheduled webhook was delivered (or ``timeout``)."""
		deadline = time.time() + timeout
		with self._idle:
			while self._pending:
				remaining = deadline - time.time()
				if remaining <= 0:
					return False
				self._idle.wait(remaining)
		return True

	def set_webhook_url(self, url: str | None) -> None:
		for number in self.numbers.values():
			number.webhook_url = url

	# -- the user directory ----------------------------------------------------------------
	def add_username_user(
		self,
		username: str,
		region: str = "IN",
		phone: str | None = None,
		*,
		waba_id: str | None = None,
		profile_name: str | None = None,
	) -> str:
		"""Register a user who adopted a username: their webhooks carry no phone number, only BSUID
		fields and ``username``. ``phone`` is the number Meta knows but does not share (its country
		then names the BSUID instead of ``region``). Returns the BSUID ``waba_id`` (default: the
		first number's WABA) knows them by; :meth:`user_id_for` gives it for another WABA."""
		digits = phone.lstrip("+") if phone else None
		with self._users_lock:
			user = self._users_by_username.get(username)
			if user is None and digits:
				user = self._users_by_phone.get(digits)
			if user is None:
				user = SimUser(
					wa_id=digits,
					region=_region_of(digits) if digits else region.upper(),
					seed=f"phone:{digits}" if digits else f"username:{username}",
				)
				if digits:
					self._users_by_phone[digits] = user
			user.username = username
			user.phone_shared = False
			if profile_name:
				user.profile_name = profile_name
			self._users_by_username[username] = user
			return self._bsuid(waba_id or self._first_waba(), user)

	def user_id_for(self, waba_id: str, user: str) -> str:
		"""The BSUID a WABA knows a user by; ``user`` is phone digits (with or without +), a
		username or a BSUID."""
		return self._bsuid(waba_id, self._resolve_user(waba_id, user))

	def _resolve_user(self, waba_id: str, who: str) -> SimUser:
		with self._users_lock:
			if is_bsuid(who):
				known = self._users_by_bsuid.get(who)
				if known is None or known[0] != waba_id:
					raise KeyError(f"No user with the business-scoped user ID {who} in WABA {waba_id}")
				return known[1]
			if who in self._users_by_username:
				return self._users_by_username[who]
			if not who.lstrip("+").isdigit():
				raise KeyError(f"No user {who!r}: not a phone number, BSUID or registered username")
			return self._user_for_phone(who.lstrip("+"))

	def _user_for_phone(self, digits: str) -> SimUser:
		with self._users_lock:
			user = self._users_by_phone.get(digits)
			if user is None:
				user = SimUser(wa_id=digits, region=_region_of(digits), seed=f"phone:{digits}")
				self._users_by_phone[digits] = user
			return user

	def _bsuid(self, waba_id: str, user: SimUser) -> str:
		"""Stable per WABA and user: a hash of both, after the user's country."""
		digest = hashlib.sha256(f"{waba_id}|{user.seed}|{user.generation}".encode()).hexdigest()
		bsuid = f"{user.region}.{10**15 + int(digest[:15], 16) % (9 * 10**15)}"
		with self._users_lock:
			self._users_by_bsuid[bsuid] = (waba_id, user)
		return bsuid

	def _forget_bsuids(self, user: SimUser) -> None:
		"""The user's old BSUIDs reach nobody once Meta gave them new ones."""
		with self._users_lock:
			for bsuid in [b for b, (_, u) in self._users_by_bsuid.items() if u is user]:
				del self._users_by_bsuid[bsuid]

	def _contact(self, waba_id: str, user: SimUser, *, name: bool = True, username: bool = True) -> dict:
		"""One ``contacts`` entry as Meta writes it for this user."""
		contact: dict = {}
		profile = {}
		if name:
			profile["name"] = user.profile_name
		if username and user.username:
			profile["username"] = user.username
		if profile:
			contact["profile"] = profile
		if user.phone_shared and user.wa_id:
			contact["wa_id"] = user.wa_id
		contact["user_id"] = self._bsuid(waba_id, user)
		return contact

	def _first_waba(self) -> str:
		return next(iter(self.numbers.values())).waba_id

	# -- the customer service window -------------------------------------------------------
	def last_inbound_at(self, phone_number_id: str, user: str) -> datetime | None:
		"""When ``user`` (phone, username or BSUID) last wrote to the number, in UTC; None if never."""
		number = self.numbers[phone_number_id]
		person = self._resolve_user(number.waba_id, user)
		with self._lock:
			return self._last_inbound.get((phone_number_id, person))

	def set_last_inbound(self, phone_number_id: str, user: str, when: datetime | None) -> None:
		"""Pretend ``user`` last wrote to the number at ``when`` (aware, or naive UTC), or never
		(None): lets a test age or close the customer service window without waiting a day."""
		number = self.numbers[phone_number_id]
		person = self._resolve_user(number.waba_id, user)
		with self._lock:
			if when is None:
				self._last_inbound.pop((phone_number_id, person), None)
			else:
				aware = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
				self._last_inbound[(phone_number_id, person)] = aware

	def _window_open(self, phone_number_id: str, user: SimUser | None) -> bool:
		with self._lock:
			last = self._last_inbound.get((phone_number_id, user)) if user else None
		return service_window_open(last, datetime.now(timezone.utc))

	# -- things a user does ----------------------------------------------------------------
	def user_sends_text(
		self, phone_number_id: str, user: str, text: str, context_id: str | None = None
	) -> str:
		"""``user`` is the sender's phone number, username or BSUID; returns the message id."""
		message = {"type": "text", "text": {"body": text}}
		return self._inbound(phone_number_id, user, message, context_id)

	def user_taps_button(
		self, phone_number_id: str, user: str, text: str, context_id: str | None = None
	) -> str:
		message = {"type": "button", "button": {"text": text, "payload": text}}
		return self._inbound(phone_number_id, user, message, context_id)

	def user_sets_marketing_preference(self, phone_number_id: str, user: str, value: str) -> None:
		number = self.numbers[phone_number_id]
		person = self._resolve_user(number.waba_id, user)
		contact = self._contact(number.waba_id, person)
		preference = {
			**({"wa_id": contact["wa_id"]} if "wa_id" in contact else {}),
			"user_id": contact["user_id"],
			"detail": "User requested to stop marketing messages"
			if value == "stop"
			else "User requested to resume marketing messages",
			"category": "marketing_messages",
			"value": value,
			"timestamp": int(time.time()),
		}
		value_block = {
			"messaging_product": "whatsapp",
			"metadata": self._metadata(number),
			"contacts": [contact],
			"user_preferences": [preference],
		}
		self._schedule(number, "user_preferences", value_block, 0)

	def user_changes_number(self, phone_number_id: str, old_wa_id: str, new_wa_id: str) -> str:
		"""The user moves to a new number, which gives them new BSUIDs. Meta tells the business with
		a ``user_changed_number`` system message, or with ``user_changed_user_id`` when the user
		shares no phone number. Returns the system message's id."""
		number = self.numbers[phone_number_id]
		old, new = old_wa_id.lstrip("+"), new_wa_id.lstrip("+")
		with self._users_lock:
			user = self._resolve_user(number.waba_id, old)
			previous = self._bsuid(number.waba_id, user)
			self._forget_bsuids(user)
			self._users_by_phone.pop(old, None)
			user.wa_id, user.seed, user.region = new, f"phone:{new}", _region_of(new)
			self._users_by_phone[new] = user
			current = self._bsuid(number.waba_id, user)
		if not user.phone_shared:
			return self._identity_change(number, user, USER_CHANGED_USER_ID, previous, current)
		system = {
			"body": f"User {user.profile_name} changed from {old} to {new}",
			"wa_id": new,
			"type": USER_CHANGED_NUMBER,
			"user_id": current,
			"previous_user_id": previous,
		}
		return self._system_message(number, system, sender=old)

	def user_changes_user_id(self, phone_number_id: str, user: str) -> str:
		"""Meta gives the user (phone, username or BSUID) a new BSUID: a ``user_changed_user_id``
		system message, with no phone number in it. Returns the system message's id."""
		number = self.numbers[phone_number_id]
		with self._users_lock:
			person = self._resolve_user(number.waba_id, user)
			previous = self._bsuid(number.waba_id, person)
			self._forget_bsuids(person)
			person.generation += 1
			current = self._bsuid(number.waba_id, person)
		return self._identity_change(number, person, USER_CHANGED_USER_ID, previous, current)

	def _identity_change(
		self, number: SimNumber, user: SimUser, kind: str, previous: str, current: str
	) -> str:
		system = {
			"body": f"User {user.profile_name} changed their business-scoped user ID",
			"type": kind,
			"user_id": current,
			"previous_user_id": previous,
		}
		return self._system_message(number, system, sender=None)

	def _system_message(self, number: SimNumber, system: dict, sender: str | None) -> str:
		message_id = _wamid()
		message = {
			**({"from": sender} if sender else {}),
			"id": message_id,
			"timestamp": str(int(time.time())),
			"type": "system",
			"system": system,
		}
		# System messages are the one messages webhook without a contacts array.
		value = {"messaging_product": "whatsapp", "metadata": self._metadata(number), "messages": [message]}
		self._schedule(number, "messages", value, 0)
		return message_id

	def _inbound(self, phone_number_id: str, who: str, message: dict, context_id: str | None) -> str:
		number = self.numbers[phone_number_id]
		user = self._resolve_user(number.waba_id, who)
		contact = self._contact(number.waba_id, user)
		message_id = _wamid()
		received = datetime.now(timezone.utc)
		with self._lock:
			self._last_inbound[(phone_number_id, user)] = received
		message = {
			**({"from": contact["wa_id"]} if "wa_id" in contact else {}),
			"from_user_id": contact["user_id"],
			"id": message_id,
			"timestamp": str(int(received.timestamp())),
			**message,
		}
		if context_id:
			message["context"] = {
				"from": number.display_phone_number.replace(" ", "").lstrip("+"),
				"id": context_id,
			}
		value = {
			"messaging_product": "whatsapp",
			"metadata": self._metadata(number),
			"contacts": [contact],
			"messages": [message],
		}
		self._schedule(number, "messages", value, 0)
		return message_id

	# -- things Meta says about the account ------------------------------------------------
	def emit_template_status(
		self,
		waba_id: str,
		name: str,
		language: str,
		event: str,
		reason: str | None = None,
		*,
		other_info: dict | None = None,
	) -> None:
		"""A ``message_template_status_update``; the template's own status here changes with it
		(PAUSED is refused with 132015, REINSTATED makes it APPROVED again)."""
		event = event.upper()
		index, spec = self._find_template(waba_id, name, language)
		status = STATUS_AFTER_EVENT.get(event, spec.status)
		self.templates[waba_id][index] = dataclasses.replace(spec, status=status)
		value: dict = {
			"event": event,
			"message_template_id": int(self._template_id(waba_id, index, spec)),
			"message_template_name": spec.name,
			"message_template_language": spec.language,
			"reason": reason or "NONE",
			"message_template_category": spec.category,
		}
		if event == "DISABLED":
			value["disable_info"] = {"disable_date": str(int(time.time()))}
		if other_info:
			value["other_info"] = {
				"title": other_info.get("title"),
				"description": other_info.get("description"),
			}
		self._schedule_for_waba(waba_id, "message_template_status_update", value)

	def emit_template_quality(
		self, waba_id: str, name: str, language: str, new_score: str, previous_score: str | None = None
	) -> None:
		"""A ``message_template_quality_update``; the template list shows the new score."""
		index, spec = self._find_template(waba_id, name, language)
		key = (waba_id, spec.name, spec.language)
		previous = previous_score or self.template_quality.get(key, "GREEN")
		self.template_quality[key] = new_score.upper()
		value = {
			"previous_quality_score": previous.upper(),
			"new_quality_score": new_score.upper(),
			"message_template_id": int(self._template_id(waba_id, index, spec)),
			"message_template_name": spec.name,
			"message_template_language": spec.language,
		}
		self._schedule_for_waba(waba_id, "message_template_quality_update", value)

	def emit_phone_quality(
		self, phone_number_id: str, event: str, current_limit: str | None = None, old_limit: str | None = None
	) -> None:
		"""A ``phone_number_quality_update`` for one number (FLAGGED, UNFLAGGED, DOWNGRADE,
		UPGRADE, ...); the number's quality rating and messaging limit follow it."""
		number = self.numbers[phone_number_id]
		event = event.upper()
		if event == "FLAGGED":
			number.quality_rating = "RED"
		elif event == "UNFLAGGED":
			number.quality_rating = "GREEN"
		if current_limit:
			number.messaging_limit = current_limit
		value = {
			"display_phone_number": number.display_phone_number.replace(" ", "").lstrip("+"),
			"event": event,
			**({"old_limit": old_limit} if old_limit else {}),
			"current_limit": number.messaging_limit,
			"max_daily_conversations_per_business": number.messaging_limit,
		}
		self._schedule_for_waba(number.waba_id, "phone_number_quality_update", value)

	def emit_account_update(
		self,
		waba_id: str,
		event: str,
		*,
		restrictions: list[dict] | None = None,
		violation_type: str | None = None,
		ban_state: str | None = None,
		ban_date: str | None = None,
		phone_number: str | None = None,
	) -> None:
		"""An ``account_update``: ``restrictions`` are ``{"restriction_type", "expiration"}``."""
		value: dict = {"event": event.upper()}
		if phone_number:
			value["phone_number"] = phone_number.lstrip("+")
		if violation_type:
			value["violation_info"] = {"violation_type": violation_type}
		if ban_state:
			value["ban_info"] = {
				"waba_ban_state": ban_state,
				**({"waba_ban_date": ban_date} if ban_date else {}),
			}
		if restrictions:
			value["restriction_info"] = [dict(r) for r in restrictions]
		self.account_updates[waba_id].append(value)
		self._schedule_for_waba(waba_id, "account_update", value)

	def _find_template(self, waba_id: str, name: str, language: str) -> tuple[int, TemplateSpec]:
		for index, spec in enumerate(self.templates.get(waba_id, [])):
			if spec.name == name and spec.language == language:
				return index, spec
		raise KeyError(f"WABA {waba_id} has no template {name} in {language}")

	@staticmethod
	def _template_id(waba_id: str, index: int, spec: TemplateSpec) -> str:
		return spec.meta_id or f"{waba_id}{index:04d}"

	# -- Graph API -------------------------------------------------------------------------
	def handle_send(self, phone_number_id: str, token: str, body: dict) -> tuple[int, dict]:
		number = self.numbers.get(phone_number_id)
		if number is None:
			return _error(
				400, 100, f"Unsupported post request. Object with ID '{phone_number_id}' does not exist"
			)
		if token != number.access_token or token in self.expired_tokens:
			return _error(
				401,
				190,
				"Error validating access token: Session has expired.",
				error_type="OAuthException",
				subcode=463,
			)
		if number.health == "BLOCKED":
			return _error(400, 131031, "Business Account locked")
		if number.platform_type != "CLOUD_API":
			return _error(400, 133010, "Account not registered")
		if body.get("messaging_product") != "whatsapp":
			return _error(400, 100, "The parameter messaging_product is required.")
		# A phone number in `to` wins over a BSUID in `recipient` when both are given.
		to = recipient = None
		if body.get("to") not in (None, ""):
			to = str(body["to"]).lstrip("+")
			if not to.isdigit() or not 8 <= len(to) <= 15:
				return _error(
					400, 100, "Invalid parameter", details="Parameter 'to' is not a valid phone number"
				)
		elif body.get("recipient") not in (None, ""):
			recipient = str(body["recipient"])
			if not is_bsuid(recipient):
				return _error(
					400,
					100,
					"Invalid parameter",
					details="Parameter 'recipient' is not a valid business-scoped user ID",
				)
		else:
			return _error(400, 100, "Invalid parameter", details="Parameter 'to' or 'recipient' is required")
		message_type = str(body.get("type") or "text")  # Meta's default type is text
		if message_type == "template" and not isinstance(body.get("template"), dict):
			return _error(400, 100, "Invalid parameter", details="Parameter 'template' is required")
		problem = self._check_free_form(body, message_type) if message_type != "template" else None
		if problem:
			return problem
		if to:
			user: SimUser | None = self._user_for_phone(to)
		else:
			with self._users_lock:
				known = self._users_by_bsuid.get(recipient)
			user = known[1] if known and known[0] == number.waba_id else None
		if message_type != "template" and not self._window_open(phone_number_id, user):
			return _error(
				400,
				131047,
				"Re-engagement message",
				details="Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
			)
		if not self._take_slot(phone_number_id, number.rate_per_second):
			self.rate_limited += 1
			return _error(
				400, 130429, "Rate limit hit", details="Cloud API message throughput has been reached."
			)
		if not self._take_pair_slot(phone_number_id, to or recipient):
			return _error(400, 131056, "(Business Account, Consumer Account) pair rate limit hit")
		if message_type == "template":
			problem = self._check_template(number.waba_id, body["template"], to_bsuid=recipient is not None)
			if problem:
				return problem
			if not self.waba(number.waba_id).payment_method:
				# Template messages are paid; service replies inside the window stay free.
				return _error(
					400,
					131042,
					"Business eligibility payment issue",
					details="Message failed to send because there were one or more errors related to your payment method.",
				)
		user_id = self._bsuid(number.waba_id, user) if user else recipient
		outcome = self.outcomes.get(to or recipient) or self.outcomes.get(user_id)
		if outcome is None and user and user.wa_id:
			outcome = self.outcomes.get(user.wa_id)
		if outcome is None and user is None:
			# A well-formed BSUID nobody has in this WABA: accepted, then undeliverable.
			outcome = Outcome(131026, "Message undeliverable")
		if outcome and outcome.sync:
			return _error(400, outcome.code, outcome.title)
		message_id = _wamid()
		callback_data = body.get("biz_opaque_callback_data")
		template = body.get("template") if message_type == "template" else None
		with self._lock:
			self.sent.append(
				SentMessage(
					message_id,
					phone_number_id,
					to,
					template.get("name") if template else None,
					(template.get("language") or {}).get("code") if template else None,
					body,
					callback_data,
					recipient=recipient,
					user_id=user_id,
					message_type=message_type,
					text=body["text"]["body"] if message_type == "text" else None,
				)
			)
		pricing = self._pricing(number.waba_id, template)
		self._schedule_statuses(number, message_id, user, user_id, to, callback_data, outcome, pricing)
		contact = {"input": body.get("to"), "wa_id": to} if to else {"input": recipient, "user_id": recipient}
		return 200, {
			"messaging_product": "whatsapp",
			"contacts": [contact],
			"messages": [{"id": message_id, "message_status": "accepted"}],
		}

	def handle_templates(
		self, waba_id: str, token: str, query: dict, version: str = "v23.0"
	) -> tuple[int, dict]:
		"""``GET /<WABA_ID>/message_templates``: ``fields``, the ``status``, ``category``,
		``language`` and ``name`` filters, ``limit`` and ``after``/``before`` cursors, ``summary``."""
		if not self._token_for_waba(waba_id, token):
			return _error(
				401, 190, "Error validating access token: Session has expired.", error_type="OAuthException"
			)

		def first(name: str) -> str | None:
			return (query.get(name) or [None])[0]

		every = self.templates.get(waba_id, [])
		listed = []
		for index, spec in enumerate(every):
			data = spec.to_meta()
			data["id"] = self._template_id(waba_id, index, spec)
			score = self.template_quality.get((waba_id, spec.name, spec.language), "GREEN")
			data["quality_score"] = {"score": score, "date": self._started}
			listed.append(data)
		for name in ("status", "category", "language"):
			if first(name):
				wanted = {v.strip().upper() for v in first(name).split(",")}
				listed = [t for t in listed if str(t.get(name)).upper() in wanted]
		if first("name"):
			listed = [t for t in listed if first("name").lower() in t["name"].lower()]
		fields = {f.strip() for f in (first("fields") or "").split(",") if f.strip()}
		if fields:
			listed = [{k: v for k, v in t.items() if k in fields or k == "id"} for t in listed]
		try:
			limit = max(1, int(first("limit") or 25))
			start = _cursor_offset(first("after")) if first("after") else 0
			if first("before"):
				start = max(0, _cursor_offset(first("before")) - limit)
		except ValueError as e:
			return _error(400, 100, "Invalid parameter", details=f"limit or cursor: {e}")
		page = listed[start : start + limit]
		body: dict = {
			"data": page,
			"paging": {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page))}},
		}
		link = {k: v[0] for k, v in query.items() if k not in ("after", "before")}
		if start + limit < len(listed):
			body["paging"]["next"] = self._templates_url(
				version, waba_id, {**link, "after": _cursor(start + limit)}
			)
		if start > 0:
			body["paging"]["previous"] = self._templates_url(
				version, waba_id, {**link, "before": _cursor(start)}
			)
		if first("summary"):
			known = {
				"total_count": len(listed),
				"message_template_count": len(every),
				"message_template_limit": TEMPLATE_LIMIT,
				"are_translations_complete": True,
			}
			asked = {s.strip() for s in first("summary").split(",")}
			if "true" in asked:  # the Graph API's generic summary=true means the count
				asked = {"total_count"}
			body["summary"] = {k: v for k, v in known.items() if k in asked}
		return 200, body

	def _templates_url(self, version: str, waba_id: str, params: dict) -> str:
		return f"{self.base_url}/{version}/{waba_id}/message_templates?{urlencode(params)}"

	def handle_node(self, node_id: str, token: str, query: dict | None = None) -> tuple[int, dict]:
		"""``GET /<PHONE_NUMBER_ID>`` or ``GET /<WABA_ID>`` with ``fields``: the fields asked (all
		the simulator knows when none are), and ``id``."""
		asked = {f.strip() for f in ((query or {}).get("fields") or [""])[0].split(",") if f.strip()}
		number = self.numbers.get(node_id)
		if number is None:
			if self._token_for_waba(node_id, token):
				if "primary_funding_id" in asked and token in self.business_tokens:
					return _error(400, 10, "Application does not have permission for this action")
				fields = self.waba_fields(node_id, token)
				return 200, {k: v for k, v in fields.items() if not asked or k in asked or k == "id"}
			return _error(400, 100, f"Unsupported get request. Object with ID '{node_id}' does not exist")
		if token != number.access_token or token in self.expired_tokens:
			return _expired()
		failed = self._failure("number")
		if failed:
			return failed
		fields = self.phone_number_fields(number)
		return 200, {k: v for k, v in fields.items() if not asked or k in asked or k == "id"}

	def handle_media(
		self, phone_number_id: str, token: str, content_type: str, raw: bytes
	) -> tuple[int, dict]:
		number = self.numbers.get(phone_number_id)
		if number is None or token != number.access_token or token in self.expired_tokens:
			return _error(
				401, 190, "Error validating access token: Session has expired.", error_type="OAuthException"
			)
		if "multipart/form-data" not in content_type or b'name="file"' not in raw:
			return _error(400, 100, "The parameter file is required.")
		media_id = str(uuid.uuid4().int)[:16]
		self.media[media_id] = (content_type, len(raw))
		return 200, {"id": media_id}

	# -- Conversions API for Business Messaging ------------------------------------------
	def _init_conversions(self) -> None:
		self.datasets: dict[str, str] = {}  # WABA -> its dataset's id
		self._dataset_wabas: dict[str, str] = {}  # dataset id -> its WABA
		self._dataset_names: dict[str, str] = {}  # dataset id -> its name
		# Every accepted event, once: {"dataset_id", "waba_id", "received_at", "event"}.
		self.conversions: list[dict] = []
		# Every accepted events call: {"dataset_id", "events_received", "fbtrace_id"}.
		self.conversion_requests: list[dict] = []
		self._conversion_keys: set[tuple[str, str, str]] = set()  # (dataset, event_name, event_id)
		self._conversion_failures: collections.deque = collections.deque()  # (status, code, message)

	def conversion_events(self, dataset_id: str | None = None) -> list[dict]:
		"""The accepted events (of one dataset, when given), each kept once however often sent:
		``{"dataset_id", "waba_id", "received_at", "event"}``, ``event`` as it was sent."""
		with self._lock:
			return [
				{**record, "event": json.loads(json.dumps(record["event"]))}
				for record in self.conversions
				if dataset_id is None or record["dataset_id"] == dataset_id
			]

	def fail_conversions(
		self, count: int = 1, status: int = 500, code: int = 2, message: str | None = None
	) -> None:
		"""The next ``count`` events calls fail with HTTP ``status`` and Meta error ``code``."""
		text = message or CAPI_FAILURE_MESSAGES.get(code) or "An unexpected error has occurred"
		with self._lock:
			self._conversion_failures.extend([(int(status), int(code), text)] * int(count))

	def reset_conversions(self) -> None:
		"""Forget every dataset, event and pending failure, as on a new simulator."""
		with self._lock:
			self._init_conversions()

	def handle_dataset(self, waba_id: str, token: str, method: str, body: dict) -> tuple[int, dict]:
		"""``GET /<WABA_ID>/dataset``: ``{"data": [{"id", "name"}]}``, empty when the WABA has
		none. ``POST /<WABA_ID>/dataset`` (optional ``dataset_name``): ``{"id"}``, a new dataset,
		or the WABA's own when it has one (one dataset per WABA)."""
		if not self._token_for_waba(waba_id, token):
			return _expired()
		name = body.get("dataset_name")
		if name is not None and not isinstance(name, str):
			return _capi_error(400, 100, "Invalid parameter", user_msg="dataset_name must be a string")
		with self._lock:
			dataset_id = self.datasets.get(waba_id)
			if method == "GET":
				if dataset_id is None:
					return 200, {"data": []}
				return 200, {"data": [{"id": dataset_id, "name": self._dataset_names[dataset_id]}]}
			if dataset_id is None:
				dataset_id = "4" + str(uuid.uuid4().int)[:15]  # Meta's ids are numeric strings
				self.datasets[waba_id] = dataset_id
				self._dataset_wabas[dataset_id] = waba_id
				self._dataset_names[dataset_id] = name or f"WhatsApp Business Account {waba_id}"
		return 200, {"id": dataset_id}

	def handle_conversion_events(
		self, dataset_id: str, token: str, content_type: str, raw: bytes
	) -> tuple[int, dict]:
		"""``POST /<DATASET_ID>/events`` with ``data``: every event is checked, and one bad event
		refuses the whole call, as Meta does; else ``{"events_received", "messages",
		"fbtrace_id"}``, duplicates counted, kept once."""
		with self._lock:
			waba_id = self._dataset_wabas.get(dataset_id)
		if waba_id is None:
			return _capi_error(
				400,
				100,
				f"Unsupported post request. Object with ID '{dataset_id}' does not exist, cannot be "
				"loaded due to missing permissions, or does not support this operation.",
				subcode=33,
			)
		if not self._token_for_waba(waba_id, token):
			return _expired()
		with self._lock:
			failure = self._conversion_failures.popleft() if self._conversion_failures else None
		if failure:
			status, code, message = failure
			return _capi_error(status, code, message, transient=status >= 500 or code in (1, 2, 4, 17, 341))
		data, problem = _conversion_data(content_type, raw)
		if problem:
			return problem
		now = time.time()
		for index, event in enumerate(data):
			problem = _conversion_problem(index, event, dataset_id, waba_id, now)
			if problem:
				return problem
		fbtrace_id = _fbtrace_id()
		with self._lock:
			for event in data:
				event_id = event.get("event_id")
				if event_id not in (None, ""):
					# Meta deduplicates by event name and event id ("Server Event Parameters").
					key = (dataset_id, str(event["event_name"]), str(event_id))
					if key in self._conversion_keys:
						continue
					self._conversion_keys.add(key)
				self.conversions.append(
					{
						"dataset_id": dataset_id,
						"waba_id": waba_id,
						"received_at": int(now),
						"event": json.loads(json.dumps(event)),
					}
				)
			self.conversion_requests.append(
				{"dataset_id": dataset_id, "events_received": len(data), "fbtrace_id": fbtrace_id}
			)
		return 200, {"events_received": len(data), "messages": [], "fbtrace_id": fbtrace_id}

	# -- internals -------------------------------------------------------------------------
	def _token_for_waba(self, waba_id: str, token: str) -> bool:
		return token not in self.expired_tokens and any(
			n.waba_id == waba_id and n.access_token == token for n in self.numbers.values()
		)

	def _check_template(
		self, waba_id: str, template: dict, to_bsuid: bool = False
	) -> tuple[int, dict] | None:
		name = template.get("name")
		language = (template.get("language") or {}).get("code")
		spec = next(
			(t for t in self.templates.get(waba_id, []) if t.name == name and t.language == language), None
		)
		if spec is None:
			return _error(
				404,
				132001,
				"Template name does not exist in the translation",
				details=f"template name ({name}) does not exist in {language}",
			)
		if spec.status == "PAUSED":
			return _error(
				400, 132015, "Template is Paused", details=f"Template {name} is paused due to low quality"
			)
		if spec.status != "APPROVED":
			return _error(
				400, 132016, "Template is disabled", details=f"Template {name} is {spec.status.lower()}"
			)
		if to_bsuid and spec.category == "AUTHENTICATION":
			return _error(
				400,
				131062,
				"Business-scoped User ID recipients are not supported for this message.",
				details="Authentication templates need the user's phone number",
			)
		# Meta takes component, sub_type and parameter types in any letter case: its examples use
		# "body", clients such as pywa send "BODY".
		components = [c for c in template.get("components") or [] if isinstance(c, dict)]
		given = {_lower(c.get("type")): c for c in components}
		body_params = (given.get("body") or {}).get("parameters") or []
		if len(body_params) != len(spec.body_variables):
			return _error(
				400,
				132000,
				"Number of parameters does not match the expected number of params",
				details=f"body: number of localizable_params ({len(body_params)}) does not match the expected number of params ({len(spec.body_variables)})",
			)
		if spec.parameter_format == "NAMED":
			names = [p.get("parameter_name") for p in body_params]
			if names != spec.body_variables:
				return _error(
					400,
					132000,
					"Parameter name is missing or empty",
					details=f"expected {spec.body_variables}, got {names}",
				)
		for p in body_params:
			text = p.get("text") if _lower(p.get("type")) == "text" else None
			if not text or "\n" in text or "\t" in text or "     " in text:
				return _error(
					400,
					132018,
					"There was an issue with the parameters in your template.",
					details="Param text cannot be empty or have new-line/tab characters or more than 4 consecutive spaces",
				)
		if spec.has_media_header:
			header_params = (given.get("header") or {}).get("parameters") or []
			kind = spec.header_format.lower()
			first = header_params[0] if header_params and isinstance(header_params[0], dict) else {}
			media = first.get(kind) if _lower(first.get("type")) == kind else None
			if not isinstance(media, dict) or not (media.get("link") or media.get("id")):
				return _error(
					400,
					132012,
					"Parameter format does not match format in the created template",
					details=f"header: Format mismatch, expected {spec.header_format}",
				)
			if media.get("id") and media["id"] not in self.media:
				return _error(400, 131053, "Media upload error", details=f"Unknown media id {media['id']}")
		url_buttons = {str(index) for index, _ in spec.url_buttons}
		given_buttons = {
			str(c.get("index")): c
			for c in components
			if _lower(c.get("type")) == "button" and _lower(c.get("sub_type")) == "url"
		}
		if set(given_buttons) != url_buttons or any(
			not (c.get("parameters") or [{}])[0].get("text") for c in given_buttons.values()
		):
			return _error(
				400,
				132000,
				"Number of parameters does not match the expected number of params",
				details="buttons: a URL button with a variable needs its parameter",
			)
		return None

	@staticmethod
	def _check_free_form(body: dict, message_type: str) -> tuple[int, dict] | None:
		"""A free-form message names its content under its type: ``"text": {"body": ...}``,
		``"image": {...}``; a text body has at most 4096 characters, as Meta enforces."""
		content = body.get(message_type)
		if not isinstance(content, dict) or not content:
			return _error(400, 100, "Invalid parameter", details=f"Parameter '{message_type}' is required")
		if message_type != "text":
			return None
		text = content.get("body")
		if not isinstance(text, str) or not text.strip():
			return _error(400, 100, "Invalid parameter", details="Param text['body'] is required")
		if len(text) > TEXT_MAX_LENGTH:
			return _error(
				400,
				100,
				"Invalid parameter",
				details=f"Param text['body'] must be at most {TEXT_MAX_LENGTH} characters long.",
			)
		return None

	def _pricing(self, waba_id: str, template: dict | None) -> dict:
		"""The ``pricing`` of a message's status webhooks: templates are billed by their category;
		free-form messages, which only go out inside a customer service window, are free."""
		if template is None:
			return {
				"billable": False,
				"pricing_model": "PMP",
				"category": "service",
				"type": "free_customer_service",
			}
		spec = next((t for t in self.templates.get(waba_id, []) if t.name == template.get("name")), None)
		category = (spec.category if spec else "UTILITY").lower()
		return {"billable": True, "pricing_model": "PMP", "category": category, "type": "regular"}

	def _take_slot(self, phone_number_id: str, rate: int) -> bool:
		now = time.monotonic()
		with self._lock:
			window = self._windows[phone_number_id]
			while window and now - window[0] >= 1.0:
				window.popleft()
			if len(window) >= rate:
				return False
			window.append(now)
			return True

	def _take_pair_slot(self, phone_number_id: str, to: str) -> bool:
		now = time.monotonic()
		with self._lock:
			window = self._pairs[(phone_number_id, to)]
			while window and now - window[0] >= PAIR_RATE_WINDOW:
				window.popleft()
			if len(window) >= PAIR_RATE_BURST:
				return False
			window.append(now)
			return True

	def _schedule_statuses(
		self,
		number: SimNumber,
		message_id: str,
		user: SimUser | None,
		user_id: str,
		to: str | None,
		callback_data: str | None,
		outcome: Outcome | None,
		pricing: dict,
	) -> None:
		"""sent -> delivered -> read, or sent -> failed. The phone is in ``recipient_id`` and the
		contact's ``wa_id`` when the send used it or the user shares it; the BSUID always, except
		on a failed send to a phone; ``username`` on delivered and read; failed has no contacts."""
		phone = to or (user.wa_id if user and user.phone_shared else None)
		steps: list[tuple[str, dict]] = [("sent", {})]
		if outcome:
			steps.append(
				(
					"failed",
					{
						"errors": [
							{
								"code": outcome.code,
								"title": outcome.title,
								"message": outcome.title,
								"error_data": {"details": outcome.title},
							}
						]
					},
				)
			)
		else:
			steps.append(("delivered", {}))
			if self.read_receipts:
				steps.append(("read", {}))
		for i, (status, extra) in enumerate(steps, start=1):
			failed = status == "failed"
			entry: dict = {"id": message_id, "status": status, "timestamp": str(int(time.time()))}
			if phone:
				entry["recipient_id"] = phone
			if not (failed and to):
				entry["recipient_user_id"] = user_id
			entry.update(extra)
			if not failed:
				entry["pricing"] = dict(pricing)
			if callback_data:
				entry["biz_opaque_callback_data"] = callback_data
			value: dict = {"messaging_product": "whatsapp", "metadata": self._metadata(number)}
			if user and not failed:
				contact = self._contact(number.waba_id, user, name=False, username=status != "sent")
				if to:
					contact["wa_id"] = to
				value["contacts"] = [contact]
			value["statuses"] = [entry]
			self._schedule(number, "messages", value, self.status_delay * i)

	def _metadata(self, number: SimNumber) -> dict:
		return {
			"display_phone_number": number.display_phone_number.replace(" ", "").lstrip("+"),
			"phone_number_id": number.phone_number_id,
		}

	def _schedule(self, number: SimNumber, field_name: str, value: dict, delay: float) -> None:
		payload = {
			"object": "whatsapp_business_account",
			"entry": [{"id": number.waba_id, "changes": [{"value": value, "field": field_name}]}],
		}
		self._enqueue(number, payload, delay)

	def _schedule_for_waba(self, waba_id: str, field_name: str, value: dict) -> None:
		"""An account-level webhook: once to every webhook URL of the WABA's numbers, with the
		entry's ``time`` as Meta sends it for these fields."""
		numbers = [n for n in self.numbers.values() if n.waba_id == waba_id]
		if not numbers:
			raise KeyError(f"No WABA {waba_id}")
		payload = {
			"object": "whatsapp_business_account",
			"entry": [
				{"id": waba_id, "time": int(time.time()), "changes": [{"value": value, "field": field_name}]}
			],
		}
		seen: set[str] = set()
		for number in numbers:
			if number.webhook_url and number.webhook_url not in seen:
				seen.add(number.webhook_url)
				self._enqueue(number, payload, 0)

	def _enqueue(self, number: SimNumber, payload: dict, delay: float) -> None:
		if not number.webhook_url:
			return
		with self._lock:
			self._pending += 1
		self._deliveries.put((time.monotonic() + delay, next(self._sequence), (number, payload)))

	def _deliver_webhooks(self) -> None:
		session = requests.Session()
		while True:
			due, seq, item = self._deliveries.get()
			if item is None:
				return
			wait = due - time.monotonic()
			if wait > 0:
				# Not due yet: put it back and look again shortly (a newer, earlier item may come).
				self._deliveries.put((due, seq, item))
				time.sleep(min(wait, 0.01))
				continue
			number, payload = item
			raw = json.dumps(payload, separators=(",", ":")).encode()
			try:
				response = session.post(
					number.webhook_url,
					data=raw,
					headers={
						**self.webhook_headers,
						"Content-Type": "application/json",
						SIGNATURE_HEADER: sign(raw, number.app_secret),
					},
					timeout=30,
				)
				outcome: int | str = response.status_code
			except requests.RequestException as e:
				outcome = f"error: {e}"
			with self._idle:
				self.webhook_log.append((outcome, payload))
				self._pending -= 1
				self._idle.notify_all()


class _Server(ThreadingHTTPServer):
	# socketserver's default backlog of 5 refuses connections under a campaign's load; Meta's
	# front end does not, and a refused connection would look like a lost send to the client.
	request_queue_size = 1024


class _Handler(BaseHTTPRequestHandler):
	simulator: GraphAPISimulator
	protocol_version = "HTTP/1.1"

	def log_message(self, format, *args):  # quiet: tests and benchmarks read their own output
		pass

	def do_GET(self):
		self._dispatch("GET")

	def do_POST(self):
		self._dispatch("POST")

	def do_DELETE(self):
		self._dispatch("DELETE")

	def _dispatch(self, method: str) -> None:
		sim = self.simulator
		url = urlparse(self.path)
		parts = [p for p in url.path.split("/") if p]
		length = int(self.headers.get("Content-Length") or 0)
		raw = self.rfile.read(length) if length else b""
		# Bearer for the Graph API, OAuth for the Resumable Upload API, or ?access_token=.
		authorization = self.headers.get("Authorization") or ""
		token = authorization.removeprefix("Bearer ").removeprefix("OAuth ").strip()
		query = parse_qs(url.query)
		if not token and query.get("access_token") and parts[1:2] != ["debug_token"]:
			token = query["access_token"][0]
		if sim.latency:
			time.sleep(sim.latency)
		if parts and parts[0] == "_simulator":
			try:
				return self._control(method, parts[1:], raw)
			except (KeyError, ValueError, TypeError) as e:
				return self._reply(400, {"error": f"{type(e).__name__}: {e}"})
		if len(parts) < 2 or not parts[0].startswith("v"):
			return self._reply(*_error(400, 100, "Unknown path"))
		version, node, rest = parts[0], parts[1], parts[2:]
		if method == "GET" and node == "oauth" and rest == ["access_token"]:
			return self._reply(*sim.handle_oauth(query))
		if method == "GET" and node == "debug_token" and not rest:
			return self._reply(*sim.handle_debug_token(query))
		if node.startswith("upload:") and not rest:
			if method == "POST":
				return self._reply(*sim.handle_upload(node, token, self.headers.get("file_offset"), raw))
			return self._reply(*sim.handle_upload_status(node, token))
		if method in ("POST", "DELETE") and rest in (
			["subscribed_apps"],
			["register"],
			["message_templates"],
			["uploads"],
			[],
		):
			if method == "DELETE":
				if rest == ["message_templates"]:
					return self._reply(*sim.handle_delete_template(node, token, query))
				return self._reply(*_error(400, 100, "Unsupported delete request"))
			if rest == ["uploads"]:
				return self._reply(*sim.handle_open_upload(node, token, query))
			try:
				body = json.loads(raw or b"{}")
			except json.JSONDecodeError:
				return self._reply(*_error(400, 100, "Invalid JSON body"))
			if not isinstance(body, dict):
				return self._reply(*_error(400, 100, "Invalid JSON body"))
			if rest == ["subscribed_apps"]:
				return self._reply(*sim.handle_subscribe(node, token, body))
			if rest == ["register"]:
				return self._reply(*sim.handle_register(node, token, body))
			if rest == ["message_templates"]:
				return self._reply(*sim.handle_create_template(node, token, body))
			return self._reply(*sim.handle_edit_template(node, token, body))
		if method in ("GET", "POST") and rest == ["dataset"]:
			try:
				body = json.loads(raw or b"{}") if method == "POST" else {}
			except json.JSONDecodeError:
				return self._reply(*_error(400, 100, "Invalid JSON body"))
			if not isinstance(body, dict):
				return self._reply(*_error(400, 100, "Invalid JSON body"))
			return self._reply(*sim.handle_dataset(node, token, method, body))
		if method == "POST" and rest == ["events"]:
			content_type = self.headers.get("Content-Type") or ""
			return self._reply(*sim.handle_conversion_events(node, token, content_type, raw))
		if method == "GET" and rest == ["subscribed_apps"]:
			return self._reply(*sim.handle_subscribed_apps(node, token))
		if method == "POST" and rest == ["messages"]:
			try:
				body = json.loads(raw or b"{}")
			except json.JSONDecodeError:
				return self._reply(*_error(400, 100, "Invalid JSON body"))
			return self._reply(*sim.handle_send(node, token, body))
		if method == "POST" and rest == ["media"]:
			return self._reply(*sim.handle_media(node, token, self.headers.get("Content-Type") or "", raw))
		if method == "GET" and rest == ["message_templates"]:
			return self._reply(*sim.handle_templates(node, token, query, version))
		if method == "GET" and not rest:
			return self._reply(*sim.handle_node(node, token, query))
		return self._reply(*_error(400, 100, f"Unsupported {method.lower()} request"))

	def _control(self, method: str, parts: list[str], raw: bytes) -> None:
		sim = self.simulator
		body = json.loads(raw or b"{}") if method == "POST" else {}
		if method == "POST" and parts == ["signup"]:
			# Meta's popup, finished: what its session-info message and login callback give the page.
			return self._reply(
				200,
				sim.stand_in_signup(
					body["business_name"],
					body["display_phone_number"],
					body.get("verified_name"),
					payment_method=bool(body.get("payment_method", True)),
					app_id=body.get("app_id"),
				),
			)
		number = body.get("phone_number_id") or next(iter(sim.numbers))
		waba_id = body.get("waba_id") or sim.numbers[number].waba_id
		if method == "GET" and parts == ["stats"]:
			with sim._lock:
				return self._reply(200, {"sent": len(sim.sent), "rate_limited": sim.rate_limited})
		if method == "GET" and parts == ["messages"]:
			with sim._lock:
				sent = [m.__dict__ for m in sim.sent]
			return self._reply(200, {"data": sent, "rate_limited": sim.rate_limited})
		if method == "GET" and parts == ["conversions"]:
			with sim._lock:
				requests_made = [dict(r) for r in sim.conversion_requests]
				datasets = dict(sim.datasets)
			return self._reply(
				200, {"data": sim.conversion_events(), "requests": requests_made, "datasets": datasets}
			)
		if method != "POST":
			return self._reply(404, {"error": "unknown simulator control"})
		if parts == ["conversions", "fail"]:
			sim.fail_conversions(
				int(body.get("count") or 1),
				int(body.get("status") or 500),
				int(body.get("code") or 2),
				body.get("message"),
			)
			return self._reply(200, {"success": True})
		if parts == ["conversions", "reset"]:
			sim.reset_conversions()
			return self._reply(200, {"success": True})
		if parts == ["users"]:
			user_id = sim.add_username_user(
				body["username"],
				body.get("region") or "IN",
				body.get("phone"),
				waba_id=waba_id,
				profile_name=body.get("profile_name"),
			)
			return self._reply(200, {"user_id": user_id, "username": body["username"], "waba_id": waba_id})
		if parts == ["inbound"]:
			sender = body.get("from") or body["user_id"]
			if body.get("button"):
				message_id = sim.user_taps_button(number, sender, body["button"], body.get("context_id"))
			else:
				message_id = sim.user_sends_text(
					number, sender, body.get("text") or "", body.get("context_id")
				)
			return self._reply(200, {"id": message_id})
		if parts == ["preferences"]:
			user = body.get("wa_id") or body["user_id"]
			sim.user_sets_marketing_preference(number, user, body.get("value") or "stop")
			return self._reply(200, {"success": True})
		if parts == ["identity_change"]:
			if (body.get("kind") or USER_CHANGED_NUMBER) == USER_CHANGED_NUMBER:
				message_id = sim.user_changes_number(number, body["wa_id"], body["new_wa_id"])
			else:
				message_id = sim.user_changes_user_id(number, body.get("user_id") or body["wa_id"])
			return self._reply(200, {"id": message_id})
		if parts == ["template_status"]:
			sim.emit_template_status(
				waba_id,
				body["name"],
				body.get("language") or "en",
				body["event"],
				body.get("reason"),
				other_info=body.get("other_info"),
			)
			return self._reply(200, {"success": True})
		if parts == ["template_review"]:
			sim.review_template(
				waba_id,
				body["name"],
				body.get("language") or "en",
				body.get("event") or "APPROVED",
				body.get("reason"),
			)
			return self._reply(200, {"success": True})
		if parts == ["template_category"]:
			sim.emit_template_category(
				waba_id, body["name"], body.get("language") or "en", body["new_category"]
			)
			return self._reply(200, {"success": True})
		if parts == ["payment"]:
			sim.waba(waba_id).payment_method = bool(body.get("payment_method"))
			return self._reply(200, {"success": True})
		if parts == ["fail"]:
			call = body["call"]
			if call not in FAILABLE_CALLS:
				raise ValueError(f"call must be one of {', '.join(FAILABLE_CALLS)}")
			sim.fail_next[call] = (
				int(body.get("http_status") or 400),
				int(body.get("code") or 100),
				body.get("message") or "Invalid parameter",
				body.get("user_msg"),
			)
			return self._reply(200, {"success": True})
		if parts == ["template_quality"]:
			sim.emit_template_quality(
				waba_id,
				body["name"],
				body.get("language") or "en",
				body["new_score"],
				body.get("previous_score"),
			)
			return self._reply(200, {"success": True})
		if parts == ["phone_quality"]:
			sim.emit_phone_quality(number, body["event"], body.get("current_limit"), body.get("old_limit"))
			return self._reply(200, {"success": True})
		if parts == ["account_update"]:
			sim.emit_account_update(
				waba_id,
				body["event"],
				restrictions=body.get("restrictions"),
				violation_type=body.get("violation_type"),
				ban_state=body.get("ban_state"),
				ban_date=body.get("ban_date"),
				phone_number=body.get("phone_number"),
			)
			return self._reply(200, {"success": True})
		if parts == ["outcomes"]:
			who = str(body.get("wa_id") or body["user_id"]).lstrip("+")
			sim.outcomes[who] = Outcome(
				int(body["code"]), body.get("title") or "Failed", bool(body.get("sync"))
			)
			return self._reply(200, {"success": True})
		return self._reply(404, {"error": "unknown simulator control"})

	def _reply(self, status: int, body: dict) -> None:
		raw = json.dumps(body).encode()
		self.send_response(status)
		self.send_header("Content-Type", "application/json")
		self.send_header("Content-Length", str(len(raw)))
		self.end_headers()
		try:
			self.wfile.write(raw)
		except (BrokenPipeError, ConnectionResetError):
			pass  # the client gave up waiting (a timeout test); Meta would not notice either


def _health(number: SimNumber, waba=None) -> dict:
	"""Meta's ``health_status``: the number's entity, then the WABA's, which shows a missing
	payment method (error 141006; marketing and utility templates are refused until it is fixed)."""
	entity_errors = []
	if number.health != "AVAILABLE":
		entity_errors = [
			{
				"error_code": 141006,
				"error_description": "There is an error with the payment method.",
				"possible_solution": "Update the payment method in WhatsApp Manager.",
			}
		]
	waba_entity: dict = {"entity_type": "WABA", "id": number.waba_id, "can_send_message": "AVAILABLE"}
	if waba is not None and not waba.payment_method:
		waba_entity["can_send_message"] = "LIMITED"
		waba_entity["errors"] = [
			{
				"error_code": 141006,
				"error_description": "There is no valid payment method attached to the WhatsApp Business Account.",
				"possible_solution": "Add a payment method in WhatsApp Manager.",
			}
		]
	return {
		"can_send_message": number.health,
		"entities": [
			{
				"entity_type": "PHONE_NUMBER",
				"id": number.phone_number_id,
				"can_send_message": number.health,
				**({"errors": entity_errors} if entity_errors else {}),
			},
			waba_entity,
		],
	}


def _fbtrace_id() -> str:
	return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()[:22]


def _capi_error(
	http_status: int,
	code: int,
	message: str,
	*,
	subcode: int | None = None,
	user_title: str | None = None,
	user_msg: str | None = None,
	transient: bool = False,
) -> tuple[int, dict]:
	"""A refusal in the Conversions API's shape: ``message`` ("Invalid parameter"), ``type``,
	``code``, ``error_subcode``, ``is_transient``, ``error_user_title``/``error_user_msg`` (what
	was wrong, naming the event as ``$['data'][0]['event_time']``) and ``fbtrace_id``."""
	error: dict = {"message": message, "type": "OAuthException", "code": code, "is_transient": transient}
	if subcode:
		error["error_subcode"] = subcode
	if user_msg:
		error["error_user_title"] = user_title or "Server-side API parameter error"
		error["error_user_msg"] = user_msg
	error["fbtrace_id"] = _fbtrace_id()
	return http_status, {"error": error}


def _parameter_error(user_msg: str, subcode: int = CAPI_PARAMETER_ERROR) -> tuple[int, dict]:
	return _capi_error(400, 100, "Invalid parameter", subcode=subcode, user_msg=user_msg)


def _conversion_data(content_type: str, raw: bytes) -> tuple[list, tuple[int, dict] | None]:
	"""The events of a call: ``data`` in a JSON body, or a form field holding JSON (Meta's curl
	examples send ``-F 'data=[...]'``). A multipart form is not read: the app never sends one."""
	if "application/x-www-form-urlencoded" in content_type:
		data = (parse_qs(raw.decode(errors="replace")).get("data") or [None])[0]
	else:
		try:
			body = json.loads(raw or b"{}")
		except (json.JSONDecodeError, UnicodeDecodeError):
			return [], _parameter_error("The request body is not valid JSON.")
		data = body.get("data") if isinstance(body, dict) else None
	if isinstance(data, str):
		try:
			data = json.loads(data)
		except json.JSONDecodeError:
			return [], _parameter_error("The parameter data must be a JSON array of events.")
	if data is None:
		return [], _parameter_error("The parameter data is required.")
	if not isinstance(data, list) or not data:
		return [], _parameter_error("The parameter data must be a non-empty array of events.")
	if len(data) > CAPI_MAX_EVENTS:
		return [], _parameter_error(
			f"The parameter data has {len(data)} events; up to {CAPI_MAX_EVENTS:,} can be sent in one request."
		)
	return data, None


def _conversion_problem(
	index: int, event: object, dataset_id: str, waba_id: str, now: float
) -> tuple[int, dict] | None:
	"""Meta's refusal of one business messaging event sent to the dataset of ``waba_id``."""
	where = f"$['data'][{index}]"
	if not isinstance(event, dict):
		return _parameter_error(f"The parameter {where} must be an event object.")
	name = event.get("event_name")
	if name in (None, ""):
		return _parameter_error(f"The parameter {where}['event_name'] is required.")
	if name not in CAPI_WHATSAPP_EVENTS:
		return _parameter_error(
			f"{where}['event_name'] {name!r} is not an event for business messaging on WhatsApp; "
			f"use one of {', '.join(CAPI_WHATSAPP_EVENTS)}.",
			subcode=CAPI_INVALID_EVENT_TYPE,
		)
	event_time = event.get("event_time")
	if event_time in (None, ""):
		return _parameter_error(f"The parameter {where}['event_time'] is required.")
	try:
		if isinstance(event_time, bool):
			raise ValueError
		seconds = int(event_time)
	except (TypeError, ValueError):
		return _parameter_error(
			f"The parameter {where}['event_time'] must be a Unix timestamp in seconds, not {event_time!r}."
		)
	if now - seconds > CAPI_MAX_AGE:
		return _parameter_error(
			f"{where}['event_time'] {seconds} is more than 7 days in the past: events must be sent "
			"within 7 days of when they happened."
		)
	if seconds - now > CAPI_CLOCK_SKEW:
		return _parameter_error(f"{where}['event_time'] {seconds} is in the future.")
	if event.get("action_source") != "business_messaging":
		return _parameter_error(
			f"{where}['action_source'] must be 'business_messaging' for a business messaging event, "
			f"not {event.get('action_source')!r}."
		)
	if event.get("messaging_channel") != "whatsapp":
		return _parameter_error(
			f"{where}['messaging_channel'] must be 'whatsapp' for an event from a WhatsApp "
			f"conversation, not {event.get('messaging_channel')!r}."
		)
	event_id = event.get("event_id")
	if event_id is not None and (isinstance(event_id, bool) or not isinstance(event_id, (str, int))):
		return _parameter_error(f"The parameter {where}['event_id'] must be a string.")
	user_data = event.get("user_data")
	if not isinstance(user_data, dict):
		return _parameter_error(f"The parameter {where}['user_data'] is required.")
	event_waba = user_data.get("whatsapp_business_account_id")
	if event_waba in (None, ""):
		return _parameter_error(
			f"The parameter {where}['user_data']['whatsapp_business_account_id'] is required."
		)
	if str(event_waba) != waba_id:
		return _parameter_error(
			f"{where}['user_data']['whatsapp_business_account_id'] {event_waba} is not the WhatsApp "
			f"Business Account of dataset {dataset_id}."
		)
	if not user_data.get("ctwa_clid"):
		return _parameter_error(f"The parameter {where}['user_data']['ctwa_clid'] is required.")
	if name == "Purchase":
		custom_data = event.get("custom_data")
		if not isinstance(custom_data, dict):
			return _parameter_error(f"The parameter {where}['custom_data'] is required for a Purchase.")
		value = custom_data.get("value")
		if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
			return _parameter_error(
				f"{where}['custom_data']['value'] must be a positive number for a Purchase, not {value!r}."
			)
		currency = custom_data.get("currency")
		if not (
			isinstance(currency, str) and len(currency) == 3 and currency.isascii() and currency.isalpha()
		):
			return _parameter_error(
				f"{where}['custom_data']['currency'] must be a 3-letter ISO 4217 code for a Purchase, "
				f"not {currency!r}."
			)
	return None


def _wamid() -> str:
	return "wamid.SIM" + uuid.uuid4().hex.upper()


def _lower(value) -> str:
	return str(value or "").lower()


def _region_of(digits: str) -> str:
	"""The ISO country of a phone number in Meta's digits-only form; XX when there is none."""
	try:
		region = phonenumbers.region_code_for_country_code(phonenumbers.parse("+" + digits).country_code)
	except phonenumbers.NumberParseException:
		return "XX"
	return region if len(region) == 2 and region.isalpha() else "XX"


def _cursor(offset: int) -> str:
	"""Graph API cursors are opaque strings; these encode an offset into the list."""
	return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _cursor_offset(cursor: str) -> int:
	if cursor.isdigit():
		return int(cursor)
	decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
	if not decoded.startswith("offset:"):
		raise ValueError(f"Not a cursor: {cursor}")
	return int(decoded.removeprefix("offset:"))


def main(argv: list[str] | None = None) -> None:
	parser = argparse.ArgumentParser(description="Run the WhatsApp Graph API simulator (sandbox)")
	parser.add_argument("--host", default="127.0.0.1")
	parser.add_argument("--port", type=int, default=SANDBOX_PORT)
	parser.add_argument("--webhook-url", help="where to deliver status and inbound webhooks")
	parser.add_argument("--rate", type=int, default=80, help="messages per second per number")
	parser.add_argument("--latency", type=float, default=0.0, help="seconds each API call takes")
	parser.add_argument(
		"--review-delay",
		type=float,
		default=None,
		help="approve templates submitted through the API this many seconds later (default: only by control call)",
	)
	parser.add_argument(
		"--webhook-header",
		action="append",
		default=[],
		metavar="NAME:VALUE",
		help="a header to send with every webhook (e.g. X-Frappe-Site-Name:mysite.localhost)",
	)
	args = parser.parse_args(argv)
	headers = dict(h.split(":", 1) for h in args.webhook_header)
	numbers = [SANDBOX_SYSTEM, SANDBOX_BUSINESS]
	for number in numbers:
		number.rate_per_second = args.rate
		number.webhook_url = args.webhook_url
	sim = GraphAPISimulator(
		numbers,
		host=args.host,
		port=args.port,
		latency=args.latency,
		webhook_headers=headers,
		review_delay=args.review_delay,
	).start()
	print(f"Graph API simulator on {sim.base_url} (webhooks to {args.webhook_url or 'nowhere'})")
	print(
		f"  Tech Provider app for Connect WhatsApp: App ID {SANDBOX_APP.app_id}, app secret "
		f"{SANDBOX_APP.app_secret}, configuration ID {SANDBOX_APP.config_id}"
	)
	for n in numbers:
		print(
			f"  {n.verified_name}: phone number ID {n.phone_number_id}, WABA ID {n.waba_id}, "
			f"access token {n.access_token}, app secret {n.app_secret}"
		)
	try:
		while True:
			time.sleep(3600)
	except KeyboardInterrupt:
		sim.stop()


if __name__ == "__main__":
	main()
