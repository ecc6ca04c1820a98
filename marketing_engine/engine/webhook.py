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


@dataclass
class StatusUpdate:
	message_id: str
	status: str  # sent, delivered, read, failed
	timestamp: datetime
	recipient_id: str | None = None
	callback_data: str | None = None
	errors: list[dict] = field(default_factory=list)
	pricing_category: str | None = None
	billable: bool | None = None
	phone_number_id: str | None = None


@dataclass
class InboundMessage:
	message_id: str
	wa_id: str
	timestamp: datetime
	type: str
	text: str | None = None
	button_payload: str | None = None
	button_text: str | None = None
	context_message_id: str | None = None  # the message this one replies to
	profile_name: str | None = None
	phone_number_id: str | None = None


@dataclass
class PreferenceUpdate:
	wa_id: str
	category: str
	value: str  # stop or resume
	timestamp: datetime
	detail: str | None = None
	phone_number_id: str | None = None


Event = StatusUpdate | InboundMessage | PreferenceUpdate


def parse(raw_body: bytes) -> list[Event]:
	"""Every event in one webhook delivery, in the order Meta listed them."""
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
				events.extend(_parse_change(change))
	except (AttributeError, KeyError, TypeError, ValueError) as e:
		raise WebhookError(f"Malformed webhook payload: {e!r}")
	return events


def _parse_change(change: dict) -> list[Event]:
	value = change.get("value") or {}
	phone_number_id = (value.get("metadata") or {}).get("phone_number_id")
	kind = change.get("field")
	events: list[Event] = []
	if kind == "messages":
		for status in value.get("statuses") or []:
			events.append(
				StatusUpdate(
					message_id=status["id"],
					status=status["status"],
					timestamp=_time(status["timestamp"]),
					recipient_id=status.get("recipient_id"),
					callback_data=status.get("biz_opaque_callback_data"),
					errors=list(status.get("errors") or []),
					pricing_category=(status.get("pricing") or {}).get("category"),
					billable=(status.get("pricing") or {}).get("billable"),
					phone_number_id=phone_number_id,
				)
			)
		names = {c.get("wa_id"): (c.get("profile") or {}).get("name") for c in value.get("contacts") or []}
		for message in value.get("messages") or []:
			kind_of_message = message.get("type") or "unknown"
			button = message.get("button") or {}
			interactive_reply = (message.get("interactive") or {}).get("button_reply") or {}
			events.append(
				InboundMessage(
					message_id=message["id"],
					wa_id=message["from"],
					timestamp=_time(message["timestamp"]),
					type=kind_of_message,
					text=(message.get("text") or {}).get("body")
					or button.get("text")
					or interactive_reply.get("title"),
					button_payload=button.get("payload") or interactive_reply.get("id"),
					button_text=button.get("text") or interactive_reply.get("title"),
					context_message_id=(message.get("context") or {}).get("id"),
					profile_name=names.get(message["from"]),
					phone_number_id=phone_number_id,
				)
			)
	elif kind == "user_preferences":
		for preference in value.get("user_preferences") or []:
			events.append(
				PreferenceUpdate(
					wa_id=preference["wa_id"],
					category=preference.get("category") or "",
					value=preference.get("value") or "",
					timestamp=_time(preference["timestamp"]),
					detail=preference.get("detail"),
					phone_number_id=phone_number_id,
				)
			)
	return events


def _time(value) -> datetime:
	return datetime.fromtimestamp(int(value), tz=timezone.utc)
