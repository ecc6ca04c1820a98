"""Embedded Signup v4 for a Tech Provider: a studio connects its own WhatsApp Business Account.

Meta's popup (``FB.login`` with the platform app's configuration) ends in two messages to the
page: the login callback carries a one-time ``code`` (valid for 30 seconds), and a ``message``
event of type ``WA_EMBEDDED_SIGNUP`` says how the flow ended and names the WABA and the phone
number (:class:`SessionInfo`). The page hands both to the server, which does the rest with
:func:`onboard`, in the order of Meta's "Onboarding business customers as a Tech Provider":

1. exchange the code for a business token (``GET /oauth/access_token``);
2. when the session info named no WABA, find it with ``GET /debug_token`` (the first
   ``target_ids`` of the ``whatsapp_business_management`` scope, newest first);
3. subscribe the platform app to the WABA's webhooks (``POST /<WABA>/subscribed_apps``);
4. read the phone number; register it for the Cloud API (``POST /<PHONE>/register``) when it is
   not yet (:attr:`.client.PhoneNumberDetails.registered_for_cloud_api` says how that is told);
5. read the WABA with its health and whatever the Graph API shows about billing.

A Tech Provider shares no credit line: the studio adds its own payment method in WhatsApp
Manager, and until it does Meta refuses paid messages (error 131042). :func:`payment_state_of`
tells from the Graph API's answers whether Meta can bill the WABA, as far as they say.

:func:`onboard` changes nothing on the app's side; when a step fails it raises
:class:`SignupError` naming the step, and the app has nothing to undo. Steps at Meta that did
succeed (the subscription) are harmless to repeat. The code is spent once exchanged, so the
error carries the business token, with which :func:`complete_onboarding` can finish (a wrong
PIN, a number not ready) without a new signup.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import requests

from . import errors
from .client import DEFAULT_API_VERSION, DEFAULT_BASE_URL, CloudAPIClient, graph_request

SIGNUP_MESSAGE_TYPE = "WA_EMBEDDED_SIGNUP"
FINISHED = "FINISH"  # the Cloud API flow: a WABA and a phone number
FINISHED_ONLY_WABA = "FINISH_ONLY_WABA"  # a WABA, no phone number yet
FINISHED_BUSINESS_APP = "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"  # coexistence with the Business app
CANCELLED = "CANCEL"
FAILED = "ERROR"
FINISH_EVENTS = (FINISHED, FINISHED_ONLY_WABA, FINISHED_BUSINESS_APP)
SIGNUP_EVENTS = (*FINISH_EVENTS, CANCELLED, FAILED)
# The steps :class:`SignupError` names.
STEPS = ("code", "waba", "subscribe", "number", "register", "account")
PIN = re.compile(r"^\d{6}$")
# Health errors that mean Meta cannot bill the WABA. 141006 is not on Meta's health status page;
# it is what real answers carry on the WABA entity until a payment method is added.
PAYMENT_HEALTH_ERRORS = frozenset({141006})
TIMEOUT = (5, 30)


class SessionInfoError(ValueError):
	"""A ``message`` event that is not Embedded Signup's, or not one the app can use."""


@dataclass(frozen=True)
class SessionInfo:
	"""The ``message`` event Meta's popup posts to the page (``event.data``, parsed).

	Finished flows name ``waba_id`` and, except FINISH_ONLY_WABA, ``phone_number_id``. CANCEL
	names the ``current_step`` the studio left at. An error (``event`` ERROR, and CANCEL with an
	``error_message``, as Meta's error page shows it) carries Meta's ``error_message``, its
	``error_id`` (``error_code`` on Meta's error page), ``session_id`` and ``timestamp``."""

	event: str
	waba_id: str | None = None
	phone_number_id: str | None = None
	business_id: str | None = None
	waba_ids: tuple[str, ...] = ()
	current_step: str | None = None
	error_message: str | None = None
	error_id: str | None = None
	session_id: str | None = None
	timestamp: str | None = None
	data: dict = field(default_factory=dict, compare=False)

	@property
	def finished(self) -> bool:
		return self.event in FINISH_EVENTS

	@property
	def failed(self) -> bool:
		return self.event == FAILED or bool(self.error_message)

	@property
	def cancelled(self) -> bool:
		return self.event == CANCELLED and not self.error_message

	@property
	def registers_number(self) -> bool:
		"""Whether the server registers the number: not for a number that stays on the WhatsApp
		Business app (coexistence), nor when the flow gave no number."""
		return self.event == FINISHED and bool(self.phone_number_id)

	@classmethod
	def from_message(cls, data: dict | str) -> SessionInfo:
		"""Read the event's data, an object or the JSON string ``event.data`` holds; refuses
		anything else with :class:`SessionInfoError`."""
		if isinstance(data, (str, bytes)):
			try:
				data = json.loads(data)
			except ValueError:
				raise SessionInfoError("The page's message is not JSON: it did not come from Meta's signup")
		if not isinstance(data, dict):
			raise SessionInfoError("The page's message is not an object: it did not come from Meta's signup")
		if data.get("type") != SIGNUP_MESSAGE_TYPE:
			raise SessionInfoError(
				f"The message is of type {data.get('type')!r}, not {SIGNUP_MESSAGE_TYPE}: not Meta's signup"
			)
		event = str(data.get("event") or "").upper()
		if event not in SIGNUP_EVENTS:
			raise SessionInfoError(
				f"Meta's signup ended with {event or 'no event'}, which the app does not handle "
				f"(it handles {', '.join(SIGNUP_EVENTS)})"
			)
		details = data.get("data") or {}
		if not isinstance(details, dict):
			raise SessionInfoError("Meta's signup message has no data object")
		info = cls(
			event=event,
			waba_id=_text(details.get("waba_id")),
			phone_number_id=_text(details.get("phone_number_id")),
			business_id=_text(details.get("business_id")),
			waba_ids=tuple(str(w) for w in details.get("waba_ids") or []),
			current_step=_text(details.get("current_step")),
			error_message=_text(details.get("error_message")),
			error_id=_text(details.get("error_id") or details.get("error_code")),
			session_id=_text(details.get("session_id")),
			timestamp=_text(details.get("timestamp")),
			data=details,
		)
		if event in FINISH_EVENTS and not info.waba_id:
			raise SessionInfoError(
				f"Meta's signup finished ({event}) without naming the WhatsApp Business Account"
			)
		if event in (FINISHED, FINISHED_BUSINESS_APP) and not info.phone_number_id:
			raise SessionInfoError(f"Meta's signup finished ({event}) without naming the phone number")
		if event == FAILED and not info.error_message:
			raise SessionInfoError("Meta's signup reported an error without saying which")
		return info


@dataclass
class MetaApp:
	"""The platform's Meta app (the Tech Provider's): its ID and secret, and the Graph API."""

	app_id: str
	app_secret: str
	base_url: str = DEFAULT_BASE_URL
	api_version: str = DEFAULT_API_VERSION

	@property
	def root(self) -> str:
		return f"{self.base_url.rstrip('/')}/{self.api_version}"

	@property
	def access_token(self) -> str:
		"""The app access token, ``app_id|app_secret``, which ``debug_token`` takes."""
		return f"{self.app_id}|{self.app_secret}"


@dataclass(frozen=True)
class PaymentState:
	"""Whether Meta can bill the WABA for paid messages: True, False, or None when the Graph API
	does not say; ``reason`` says why in a sentence for the studio."""

	can_bill: bool | None
	reason: str


@dataclass
class Onboarded:
	"""Everything the app stores about a connected WABA and number."""

	access_token: str  # the business token: secret, store it encrypted
	waba_id: str
	phone_number_id: str
	display_phone_number: str | None
	verified_name: str | None
	quality_rating: str | None
	messaging_limit: str | None  # Meta's messaging_limit_tier, such as TIER_1K
	currency: str | None
	registered_now: bool  # the number was registered for the Cloud API by this signup
	payment: PaymentState
	waba_name: str | None = None
	timezone_id: str | None = None
	business_verification_status: str | None = None
	account_review_status: str | None = None
	name_status: str | None = None
	code_verification_status: str | None = None
	throughput_level: str | None = None
	health_status: dict = field(default_factory=dict)


class SignupError(Exception):
	"""A signup step Meta refused or could not do. ``step`` is one of :data:`STEPS`; ``message``
	is Meta's reason in its words for people when it gave them. ``access_token`` is the business
	token when the code was already exchanged (the code itself cannot be used again), so
	:func:`complete_onboarding` can finish; it never appears in the error's text."""

	def __init__(
		self,
		step: str,
		message: str,
		*,
		meta_error: errors.MetaError | None = None,
		access_token: str | None = None,
		waba_id: str | None = None,
	):
		self.step = step
		self.message = message
		self.meta_error = meta_error
		self.access_token = access_token
		self.waba_id = waba_id
		super().__init__(f"{step}: {message}")


def exchange_code(app: MetaApp, code: str, session: requests.Session | None = None) -> str:
	"""The business token for Embedded Signup's one-time ``code``
	(``GET /oauth/access_token?client_id&client_secret&code``). Meta documents the answer only as
	"<BUSINESS_TOKEN>"; the Graph API answers ``{"access_token", "token_type"}``."""
	if not (code or "").strip():
		raise SignupError("code", "Meta's signup gave no code: run the signup again")
	try:
		body = graph_request(
			session or requests.Session(),
			"GET",
			f"{app.root}/oauth/access_token",
			timeout=TIMEOUT,
			params={"client_id": app.app_id, "client_secret": app.app_secret, "code": code.strip()},
		)
	except errors.MetaError as e:
		raise SignupError("code", _reason(e), meta_error=e)
	token = body.get("access_token")
	if not token:
		raise SignupError("code", "Meta exchanged the code but returned no access token")
	return str(token)


def shared_wabas(app: MetaApp, business_token: str, session: requests.Session | None = None) -> list[str]:
	"""The WABAs the studio shared with the app, newest first: the ``target_ids`` of the
	``whatsapp_business_management`` scope in ``GET /debug_token`` (asked with the app token)."""
	try:
		body = graph_request(
			session or requests.Session(),
			"GET",
			f"{app.root}/debug_token",
			timeout=TIMEOUT,
			params={"input_token": business_token, "access_token": app.access_token},
		)
	except errors.MetaError as e:
		raise SignupError("waba", _reason(e), meta_error=e, access_token=business_token)
	data = body.get("data") or {}
	if not data.get("is_valid"):
		why = (data.get("error") or {}).get("message") or "Meta says the business token is not valid"
		raise SignupError("waba", why, access_token=business_token)
	if data.get("app_id") and str(data["app_id"]) != str(app.app_id):
		raise SignupError(
			"waba", "The business token belongs to another Meta app", access_token=business_token
		)
	for scope in data.get("granular_scopes") or []:
		if scope.get("scope") == "whatsapp_business_management":
			return [str(t) for t in scope.get("target_ids") or []]
	return []


def onboard(
	app: MetaApp,
	code: str,
	waba_id: str | None,
	phone_number_id: str | None,
	pin: str,
	session: requests.Session | None = None,
	*,
	callback_url: str | None = None,
	verify_token: str | None = None,
) -> Onboarded:
	"""Everything after Meta's popup, server side, in Meta's order; returns what the app
	stores. ``pin`` (six digits) becomes the number's two-step verification PIN when it is
	registered now. ``callback_url`` and ``verify_token`` point the WABA's webhooks at this site
	(Meta's per-WABA ``override_callback_uri``) instead of the app's callback URL."""
	# Checked before the code is spent: a bad PIN must not cost the studio its signup.
	if not PIN.match(str(pin or "")):
		raise SignupError("register", "The two-step verification PIN must be six digits")
	token = exchange_code(app, code, session)
	return complete_onboarding(
		app,
		token,
		waba_id,
		phone_number_id,
		pin,
		session,
		callback_url=callback_url,
		verify_token=verify_token,
	)


def complete_onboarding(
	app: MetaApp,
	access_token: str,
	waba_id: str | None,
	phone_number_id: str | None,
	pin: str,
	session: requests.Session | None = None,
	*,
	callback_url: str | None = None,
	verify_token: str | None = None,
) -> Onboarded:
	"""Steps 2 to 5 of :func:`onboard` with a business token already in hand."""
	if not PIN.match(str(pin or "")):
		raise SignupError(
			"register", "The two-step verification PIN must be six digits", access_token=access_token
		)
	if not waba_id:
		wabas = shared_wabas(app, access_token, session)
		if not wabas:
			raise SignupError(
				"waba",
				"The studio shared no WhatsApp Business Account with the app: run the signup again "
				"and choose or create one",
				access_token=access_token,
			)
		waba_id = wabas[0]

	def failed(step: str, error: errors.MetaError) -> SignupError:
		return SignupError(step, _reason(error), meta_error=error, access_token=access_token, waba_id=waba_id)

	client = CloudAPIClient(
		access_token,
		phone_number_id or "",
		waba_id,
		base_url=app.base_url,
		api_version=app.api_version,
		timeout=TIMEOUT,
		session=session,
	)
	try:
		client.subscribe_app(callback_url, verify_token)
	except errors.MetaError as e:
		raise failed("subscribe", e)
	if not phone_number_id:
		raise SignupError(
			"number",
			"The signup connected the WhatsApp Business Account but no phone number: add one in "
			"WhatsApp Manager, then run the signup again",
			access_token=access_token,
			waba_id=waba_id,
		)
	try:
		number = client.get_number()
	except errors.MetaError as e:
		raise failed("number", e)
	registered_now = False
	if not number.registered_for_cloud_api:
		try:
			client.register_number(pin)
		except errors.MetaError as e:
			raise failed("register", e)
		registered_now = True
		try:
			number = client.get_number()  # registered: its status and platform are new
		except errors.MetaError as e:
			raise failed("number", e)
	try:
		waba = client.get_waba()
	except errors.MetaError as e:
		raise failed("account", e)
	return Onboarded(
		access_token=access_token,
		waba_id=waba.waba_id or waba_id,
		phone_number_id=number.phone_number_id,
		display_phone_number=number.display_phone_number,
		verified_name=number.verified_name,
		quality_rating=number.quality_rating,
		messaging_limit=number.messaging_limit_tier,
		currency=waba.currency,
		registered_now=registered_now,
		payment=payment_state_of(waba.health_status, waba.raw),
		waba_name=waba.name,
		timezone_id=waba.timezone_id,
		business_verification_status=waba.business_verification_status,
		account_review_status=waba.account_review_status,
		name_status=number.name_status,
		code_verification_status=number.code_verification_status,
		throughput_level=number.throughput_level,
		health_status=waba.health_status,
	)


def payment_state_of(health_status: dict, waba_fields: dict) -> PaymentState:
	"""Whether Meta can bill the WABA, from its ``health_status`` and the fields read from it.

	- A health error about payment (141006 on the WABA: "There is an error with the payment
	  method") means no: Meta blocks business-initiated messages until it is fixed.
	- Else ``primary_funding_id`` decides when it was read ("If primary_funding_id is absent,
	  the Messaging Account has no payment method attached and cannot send paid messages"): a
	  present key with no value means none is attached (see :class:`.client.WabaDetails`).
	- Else it is unknown (None): Meta shows the payment method to Solution Partners, not to a
	  Tech Provider, and a WABA without one has not always shown the health error yet; the first
	  paid send tells (Meta refuses it with 131042)."""
	for entity in (health_status or {}).get("entities") or []:
		for error in entity.get("errors") or []:
			description = str(error.get("error_description") or "")
			if _as_int(error.get("error_code")) in PAYMENT_HEALTH_ERRORS or "payment" in description.lower():
				solution = str(error.get("possible_solution") or "Add a payment method in WhatsApp Manager.")
				return PaymentState(
					False,
					f"Meta reports a payment problem on the WhatsApp Business Account: "
					f"{_sentence(description or 'the payment method is missing')} {_sentence(solution)}",
				)
	fields = waba_fields or {}
	if "primary_funding_id" in fields:
		if fields["primary_funding_id"]:
			return PaymentState(True, "A payment method is attached to the WhatsApp Business Account.")
		return PaymentState(
			False,
			"No payment method is attached to the WhatsApp Business Account: add one in WhatsApp "
			"Manager (Overview, Add payment method).",
		)
	if not health_status:
		return PaymentState(None, "Meta's health status of the WhatsApp Business Account was not read.")
	return PaymentState(
		None,
		"Meta reports no payment problem but does not show this app the payment method; if "
		"Meta refuses a message for payment (error 131042), add one in WhatsApp Manager.",
	)


def _reason(error: errors.MetaError) -> str:
	"""Meta's reason for people when it gave one, else its technical one."""
	return error.user_msg or error.describe()


def _sentence(text: str) -> str:
	text = text.strip()
	return text if not text or text.endswith((".", "!", "?")) else text + "."


def _text(value) -> str | None:
	return None if value in (None, "") else str(value)


def _as_int(value) -> int | None:
	try:
		return int(value)
	except (TypeError, ValueError):
		return None
