"""Meta's WhatsApp webhooks: verification of the subscription and the signature, and parsing.

Meta signs every POST with ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body keyed
with the app secret>``. Only the raw bytes as received can be verified, so verification happens
before any parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .identity import Identity

SIGNATURE_HEADER = "X-Hub-Signature-256"


class WebhookError(ValueError):
	"""A request that must be refused; ``status`` is the HTTP status to answer with."""

	def __init__(self, message: str, status: int = 400):
		self.status = status
		super().__init__(message)


def sign(raw_body: bytes, app_secret: str) -> str:
	"""The header value Meta would send for ``raw_body``."""
	digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
	return f"sha256={digest}"


def signature_matches(raw_body: bytes, header: str | None, app_secret: str | None) -> bool:
	if not header or not app_secret or not header.startswith("sha256="):
		return False
	return hmac.compare_digest(sign(raw_body, app_secret), header.strip())


def verify_subscription(params: dict, verify_tokens: list[str]) -> str:
	"""Answer Meta's GET handshake: the ``hub.challenge`` when the verify token is ours."""
	if params.get("hub.mode") != "subscribe":
		raise WebhookError("hub.mode must be 'subscribe'", 400)
	token = params.get("hub.verify_token") or ""
	if not token or not any(hmac.compare_digest(token, t) for t in verify_tokens if t):
		raise WebhookError("Verify token does not match any WhatsApp Account", 403)
	challenge = params.get("hub.challenge")
	if not challenge:
		raise WebhookError("hub.challenge is missing", 400)
	return str(challenge)


# -- events -----------------------------------------------------------------------------------
# Shapes as in Meta's webhook references (developers.facebook.com/documentation/business-messaging/
# whatsapp/webhooks/reference/...) and "Business-scoped user IDs": since April 2026 every user
# carries a BSUID (``user_id``); a user with a username may come without any phone number.


@dataclass
class StatusUpdate:
	"""One entry of ``statuses``. ``recipient_id`` is the phone (absent for a BSUID send to a user
	whose number may not be shared); ``recipient_user_id`` the BSUID. Failed statuses come without
	``contacts``, so their username is never known."""

	message_id: str
	status: str  # sent, delivered, read, failed
	timestamp: datetime
	recipient_id: str | None = None
	callback_data: str | None = None
	errors: list[dict] = field(default_factory=list)
	pricing_category: str | None = None
	billable: bool | None = None
	phone_number_id: str | None = None
	recipient_user_id: str | None = None
	recipient_parent_user_id: str | None = None
	username: str | None = None  # only on delivered and read

	@property
	def identity(self) -> Identity:
		return Identity(
			self.recipient_id, self.recipient_user_id, self.recipient_parent_user_id, self.username
		)


@dataclass
class InboundMessage:
	"""A message a user wrote: ``from`` (phone, may be absent) and ``from_user_id`` (BSUID) on the
	message, name and username on the matching ``contacts`` entry."""

	message_id: str
	wa_id: str | None
	timestamp: datetime
	type: str
	text: str | None = None
	button_payload: str | None = None
	button_text: str | None = None
	context_message_id: str | None = None  # the message this one replies to
	profile_name: str | None = None
	phone_number_id: str | None = None
	user_id: str | None = None
	parent_user_id: str | None = None
	username: str | None = None
	referral: AdReferral | None = None  # the first message after a tap on an ad or post

	@property
	def identity(self) -> Identity:
		return Identity(self.wa_id, self.user_id, self.parent_user_id, self.username, self.profile_name)


@dataclass
class AdReferral:
	"""Meta's ``referral`` on the message a user sends from a Click-to-WhatsApp ad or a post:
	which ad (``source_id``), the ad's text and media, and the click id (``ctwa_clid``) the
	Conversions API takes back."""

	source_id: str
	source_type: str  # ad or post
	source_url: str | None = None
	headline: str | None = None
	body: str | None = None
	media_type: str | None = None
	media_url: str | None = None
	ctwa_clid: str | None = None
	welcome_message: str | None = None


def ad_referral(referral) -> AdReferral | None:
	"""The ``referral`` object of a message, or None when there is none or it names no source
	(nothing to attribute to). Strings are trimmed to what the app stores."""
	if not isinstance(referral, dict) or not str(referral.get("source_id") or "").strip():
		return None

	def text(key, limit=140):
		value = str(referral.get(key) or "").strip()
		return value[:limit] or None

	welcome = referral.get("welcome_message") if isinstance(referral.get("welcome_message"), dict) else {}
	media_type = text("media_type")
	media_url = text("image_url" if media_type == "image" else "video_url", 1000) or text(
		"thumbnail_url", 1000
	)
	return AdReferral(
		source_id=text("source_id"),
		source_type=text("source_type") or "ad",
		source_url=text("source_url", 1000),
		headline=text("headline"),
		body=text("body", 1000),
		media_type=media_type,
		media_url=media_url,
		ctwa_clid=text("ctwa_clid", 1000),
		welcome_message=str(welcome.get("text") or "")[:1000] or None,
	)


@dataclass
class PreferenceUpdate:
	"""A user stopped or resumed marketing messages (``user_preferences`` field); a username user
	comes with ``user_id`` and no ``wa_id``."""

	wa_id: str | None
	category: str
	value: str  # stop or resume
	timestamp: datetime
	detail: str | None = None
	phone_number_id: str | None = None
	user_id: str | None = None
	parent_user_id: str | None = None
	username: str | None = None

	@property
	def identity(self) -> Identity:
		return Identity(self.wa_id, self.user_id, self.parent_user_id, self.username)


USER_CHANGED_NUMBER = "user_changed_number"
USER_CHANGED_USER_ID = "user_changed_user_id"
# Cloud API versions before v12 called the number change "customer_changed_number".
_IDENTITY_CHANGE_KINDS = {
	USER_CHANGED_NUMBER: USER_CHANGED_NUMBER,
	"customer_changed_number": USER_CHANGED_NUMBER,
	USER_CHANGED_USER_ID: USER_CHANGED_USER_ID,
}


@dataclass
class IdentityChange:
	"""A system message: the user changed phone number (which also gives them a new BSUID) or only
	their BSUID changed. ``system`` carries ``wa_id`` (new phone, number changes only), ``user_id``,
	``previous_user_id`` and the parent pair; ``from`` is the old phone when there is one."""

	kind: str  # user_changed_number or user_changed_user_id
	message_id: str
	timestamp: datetime
	wa_id: str | None  # the phone the user had (for a BSUID change: the one they still have)
	new_wa_id: str | None = None
	user_id: str | None = None  # the new BSUID
	previous_user_id: str | None = None
	parent_user_id: str | None = None
	previous_parent_user_id: str | None = None
	phone_number_id: str | None = None
	body: str | None = None


@dataclass
class TemplateStatusChange:
	"""``message_template_status_update``: Meta approved, paused, disabled... a template."""

	event: str  # APPROVED, PAUSED, DISABLED, REJECTED, REINSTATED, FLAGGED, PENDING_DELETION, ...
	template_id: str | None
	template_name: str | None
	language: str | None
	reason: str | None = None
	detail: str | None = None  # other_info, disable_info or rejection_info in words
	category: str | None = None
	waba_id: str | None = None
	timestamp: datetime | None = None


@dataclass
class TemplateCategoryChange:
	"""``template_category_update``: Meta moved a template to another category (``previous`` is
	set), or will in 24 hours (``correct`` is the category it will take, ``new`` still the current)."""

	template_id: str | None
	template_name: str | None
	language: str | None
	new_category: str | None
	previous_category: str | None = None
	correct_category: str | None = None
	waba_id: str | None = None
	timestamp: datetime | None = None

	@property
	def impending(self) -> bool:
		return not self.previous_category and bool(self.correct_category)


@dataclass
class TemplateQualityChange:
	"""``message_template_quality_update``; scores are GREEN, YELLOW, RED or UNKNOWN."""

	template_id: str | None
	template_name: str | None
	language: str | None
	previous_score: str | None
	new_score: str
	waba_id: str | None = None
	timestamp: datetime | None = None


@dataclass
class PhoneQualityChange:
	"""``phone_number_quality_update``: a number was flagged or its messaging limit moved.
	``current_limit`` falls back to ``max_daily_conversations_per_business``, which replaces it."""

	display_phone_number: str | None
	event: str  # FLAGGED, UNFLAGGED, DOWNGRADE, UPGRADE, ...
	current_limit: str | None = None
	old_limit: str | None = None
	max_daily_conversations_per_business: str | None = None
	waba_id: str | None = None
	timestamp: datetime | None = None


@dataclass
class AccountUpdate:
	"""``account_update``: violations, bans, restrictions and other changes to the WABA."""

	event: str  # ACCOUNT_VIOLATION, ACCOUNT_RESTRICTION, DISABLED_UPDATE, VERIFIED_ACCOUNT, ...
	restrictions: list[dict] = field(default_factory=list)  # restriction_type, expiration
	detail: str | None = None
	phone_number: str | None = None
	violation_type: str | None = None
	ban_state: str | None = None
	waba_id: str | None = None
	timestamp: datetime | None = None


Event = (
	StatusUpdate
	| InboundMessage
	| PreferenceUpdate
	| IdentityChange
	| TemplateStatusChange
	| TemplateQualityChange
	| TemplateCategoryChange
	| PhoneQualityChange
	| AccountUpdate
)


# -- parsing ----------------------------------------------------------------------------------
def parse(raw_body: bytes) -> list[Event]:
	"""Every event in one webhook delivery, in the order Meta listed them. Fields this module does
	not know are skipped; a known one that is malformed refuses the whole delivery."""
	try:
		payload = json.loads(raw_body)
	except (UnicodeDecodeError, json.JSONDecodeError) as e:
		raise WebhookError(f"Body is not JSON: {e}")
	if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
		raise WebhookError("Not a whatsapp_business_account webhook")
	entries = payload.get("entry")
	if not isinstance(entries, list):
		raise WebhookError("Webhook has no entry list")
	events: list[Event] = []
	try:
		for entry in entries:
			for change in entry.get("changes") or []:
				events.extend(_parse_change(change, entry))
	except (AttributeError, KeyError, TypeError, ValueError, OverflowError, OSError) as e:
		raise WebhookError(f"Malformed webhook payload: {e!r}")
	return events


@dataclass
class _Entry:
	"""What an entry says about all its changes: the WABA and, for account fields, the time."""

	waba_id: str | None
	time: datetime | None


def _parse_change(change: dict, entry: dict) -> list[Event]:
	parser = _PARSERS.get(change.get("field"))
	if parser is None:
		return []
	value = change.get("value") or {}
	if not isinstance(value, dict):
		raise TypeError(f"value of {change.get('field')!r} is not an object")
	waba_id = entry.get("id")
	context = _Entry(
		str(waba_id) if waba_id is not None else None,
		_time(entry["time"]) if entry.get("time") is not None else None,
	)
	return parser(value, context)


def _parse_messages(value: dict, context: _Entry) -> list[Event]:
	phone_number_id = (value.get("metadata") or {}).get("phone_number_id")
	contacts = _Contacts(value.get("contacts"))
	events: list[Event] = []
	for status in value.get("statuses") or []:
		recipient_id = status.get("recipient_id")
		recipient_user_id = status.get("recipient_user_id")
		contact = contacts.find(recipient_id, recipient_user_id)
		pricing = status.get("pricing") or {}
		events.append(
			StatusUpdate(
				message_id=status["id"],
				status=status["status"],
				timestamp=_time(status["timestamp"]),
				recipient_id=recipient_id or contact.get("wa_id"),
				callback_data=status.get("biz_opaque_callback_data"),
				errors=list(status.get("errors") or []),
				pricing_category=pricing.get("category"),
				billable=pricing.get("billable"),
				phone_number_id=phone_number_id,
				recipient_user_id=recipient_user_id or contact.get("user_id"),
				recipient_parent_user_id=status.get("recipient_parent_user_id")
				or contact.get("parent_user_id"),
				username=_profile(contact).get("username"),
			)
		)
	for message in value.get("messages") or []:
		system = message.get("system") if message.get("type") == "system" else None
		if isinstance(system, dict) and system.get("type") in _IDENTITY_CHANGE_KINDS:
			events.append(_identity_change(message, system, phone_number_id))
		else:
			events.append(_inbound_message(message, contacts, phone_number_id))
	return events


def _inbound_message(message: dict, contacts: _Contacts, phone_number_id: str | None) -> InboundMessage:
	sender_phone = message.get("from")
	sender_user_id = message.get("from_user_id")
	contact = contacts.find(sender_phone, sender_user_id)
	wa_id = sender_phone or contact.get("wa_id")
	user_id = sender_user_id or contact.get("user_id")
	if not (wa_id or user_id):
		raise KeyError(f"message {message.get('id')!r} has neither 'from' nor 'from_user_id'")
	button = message.get("button") or {}
	interactive_reply = (message.get("interactive") or {}).get("button_reply") or {}
	return InboundMessage(
		message_id=message["id"],
		wa_id=wa_id,
		timestamp=_time(message["timestamp"]),
		type=message.get("type") or "unknown",
		text=(message.get("text") or {}).get("body") or button.get("text") or interactive_reply.get("title"),
		button_payload=button.get("payload") or interactive_reply.get("id"),
		button_text=button.get("text") or interactive_reply.get("title"),
		context_message_id=(message.get("context") or {}).get("id"),
		profile_name=_profile(contact).get("name"),
		phone_number_id=phone_number_id,
		user_id=user_id,
		parent_user_id=message.get("from_parent_user_id") or contact.get("parent_user_id"),
		username=_profile(contact).get("username"),
		referral=ad_referral(message.get("referral")),
	)


def _identity_change(message: dict, system: dict, phone_number_id: str | None) -> IdentityChange:
	kind = _IDENTITY_CHANGE_KINDS[system["type"]]
	number_changed = kind == USER_CHANGED_NUMBER
	# Before v12 the old number was in system.customer and the new one in system.new_wa_id.
	old_phone = message.get("from") or system.get("customer")
	new_phone = system.get("wa_id") or system.get("new_wa_id")
	return IdentityChange(
		kind=kind,
		message_id=message["id"],
		timestamp=_time(message["timestamp"]),
		wa_id=old_phone if number_changed else (old_phone or new_phone),
		new_wa_id=new_phone if number_changed else None,
		user_id=system.get("user_id"),
		previous_user_id=system.get("previous_user_id"),
		parent_user_id=system.get("parent_user_id"),
		previous_parent_user_id=system.get("previous_parent_user_id"),
		phone_number_id=phone_number_id,
		body=system.get("body"),
	)


def _parse_user_preferences(value: dict, context: _Entry) -> list[Event]:
	phone_number_id = (value.get("metadata") or {}).get("phone_number_id")
	contacts = _Contacts(value.get("contacts"))
	events: list[Event] = []
	for preference in value.get("user_preferences") or []:
		contact = contacts.find(preference.get("wa_id"), preference.get("user_id"))
		wa_id = preference.get("wa_id") or contact.get("wa_id")
		user_id = preference.get("user_id") or contact.get("user_id")
		if not (wa_id or user_id):
			raise KeyError("a user preference has neither 'wa_id' nor 'user_id'")
		events.append(
			PreferenceUpdate(
				wa_id=wa_id,
				category=preference.get("category") or "",
				value=preference.get("value") or "",
				timestamp=_time(preference["timestamp"]),
				detail=preference.get("detail"),
				phone_number_id=phone_number_id,
				user_id=user_id,
				parent_user_id=preference.get("parent_user_id") or contact.get("parent_user_id"),
				username=_profile(contact).get("username"),
			)
		)
	return events


def _parse_template_status(value: dict, context: _Entry) -> list[Event]:
	details = []
	other = value.get("other_info") or {}
	if other:
		details.append(": ".join(str(other[k]) for k in ("title", "description") if other.get(k)))
	if (value.get("disable_info") or {}).get("disable_date"):
		details.append(f"Disabled on {value['disable_info']['disable_date']}")
	rejection = value.get("rejection_info") or {}
	if rejection:
		details.append(": ".join(str(v) for v in rejection.values() if v))
	return [
		TemplateStatusChange(
			event=str(value["event"]).upper(),
			template_id=_text(value.get("message_template_id")),
			template_name=value.get("message_template_name"),
			language=value.get("message_template_language"),
			reason=value.get("reason"),
			detail="; ".join(d for d in details if d) or None,
			category=value.get("message_template_category"),
			waba_id=context.waba_id,
			timestamp=context.time,
		)
	]


def _parse_template_category(value: dict, context: _Entry) -> list[Event]:
	def category(key: str) -> str | None:
		return str(value[key]).upper() if value.get(key) else None

	return [
		TemplateCategoryChange(
			template_id=_text(value.get("message_template_id")),
			template_name=value.get("message_template_name"),
			language=value.get("message_template_language"),
			new_category=category("new_category"),
			previous_category=category("previous_category"),
			correct_category=category("correct_category"),
			waba_id=context.waba_id,
			timestamp=context.time,
		)
	]


def _parse_template_quality(value: dict, context: _Entry) -> list[Event]:
	return [
		TemplateQualityChange(
			template_id=_text(value.get("message_template_id")),
			template_name=value.get("message_template_name"),
			language=value.get("message_template_language"),
			previous_score=value.get("previous_quality_score"),
			new_score=str(value["new_quality_score"]).upper(),
			waba_id=context.waba_id,
			timestamp=context.time,
		)
	]


def _parse_phone_quality(value: dict, context: _Entry) -> list[Event]:
	return [
		PhoneQualityChange(
			display_phone_number=_text(value.get("display_phone_number")),
			event=str(value["event"]).upper(),
			current_limit=value.get("current_limit") or value.get("max_daily_conversations_per_business"),
			old_limit=value.get("old_limit"),
			max_daily_conversations_per_business=value.get("max_daily_conversations_per_business"),
			waba_id=context.waba_id,
			timestamp=context.time,
		)
	]


def _parse_account_update(value: dict, context: _Entry) -> list[Event]:
	restrictions = [dict(r) for r in value.get("restriction_info") or []]
	violation_type = (value.get("violation_info") or {}).get("violation_type")
	ban = value.get("ban_info") or {}
	details = []
	if violation_type:
		details.append(f"Violation: {violation_type}")
	if ban.get("waba_ban_state"):
		since = f" on {ban['waba_ban_date']}" if ban.get("waba_ban_date") else ""
		details.append(f"Ban state: {ban['waba_ban_state']}{since}")
	for restriction in restrictions:
		until = f" until {restriction['expiration']}" if restriction.get("expiration") else ""
		details.append(f"Restricted: {restriction.get('restriction_type')}{until}")
	return [
		AccountUpdate(
			event=str(value["event"]).upper(),
			restrictions=restrictions,
			detail="; ".join(details) or None,
			phone_number=_text(value.get("phone_number")),
			violation_type=violation_type,
			ban_state=ban.get("waba_ban_state"),
			waba_id=context.waba_id,
			timestamp=context.time,
		)
	]


_PARSERS = {
	"messages": _parse_messages,
	"user_preferences": _parse_user_preferences,
	"message_template_status_update": _parse_template_status,
	"message_template_quality_update": _parse_template_quality,
	"template_category_update": _parse_template_category,
	"phone_number_quality_update": _parse_phone_quality,
	"account_update": _parse_account_update,
}


class _Contacts:
	"""The ``contacts`` of one change, matched to a message, status or preference by phone or BSUID."""

	def __init__(self, contacts: list | None):
		if contacts is not None and not isinstance(contacts, list):
			raise TypeError("contacts is not a list")
		self.contacts = [c for c in contacts or [] if isinstance(c, dict)]

	def find(self, wa_id: str | None, user_id: str | None) -> dict:
		for contact in self.contacts:
			if (user_id and contact.get("user_id") == user_id) or (wa_id and contact.get("wa_id") == wa_id):
				return contact
		# A lone contact that names nobody else is the one: a BSUID-only status or message may
		# leave nothing to match on but the contact itself.
		if len(self.contacts) == 1:
			only = self.contacts[0]
			contradicts = (wa_id and only.get("wa_id") not in (None, wa_id)) or (
				user_id and only.get("user_id") not in (None, user_id)
			)
			if not contradicts:
				return only
		return {}


def _profile(contact: dict) -> dict:
	return contact.get("profile") or {}


def _text(value) -> str | None:
	"""Meta sends some ids as JSON numbers (message_template_id); they are kept as text."""
	return None if value is None else str(value)


def _time(value) -> datetime:
	return datetime.fromtimestamp(int(value), tz=timezone.utc)
