"""A small client for the parts of Meta's WhatsApp Cloud API that the app uses.

Every refusal from Meta is raised as a typed :mod:`.errors` exception that says what to do next;
nothing here retries or sleeps, so the caller (a campaign run, a single confirmation) decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from . import errors
from .templates import MediaHeader, TemplateSpec, build_send_payload, build_text_payload

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
HEALTH_FIELDS = "health_status,display_phone_number,verified_name,quality_rating"
TEMPLATE_FIELDS = "id,name,language,status,category,parameter_format,components"


@dataclass
class SendResult:
	"""Meta's answer to a send: ``contacts[0]`` has ``wa_id`` for a phone send and ``user_id``
	(the BSUID) for a send to a BSUID."""

	message_id: str
	wa_id: str | None
	message_status: str | None  # "accepted", "held_for_quality_assessment", ...
	user_id: str | None = None


@dataclass
class Health:
	can_send_message: str  # AVAILABLE, LIMITED, BLOCKED
	display_phone_number: str | None = None
	verified_name: str | None = None
	quality_rating: str | None = None
	problems: list[str] = field(default_factory=list)

	@property
	def can_send(self) -> bool:
		return self.can_send_message in ("AVAILABLE", "LIMITED")


class CloudAPIClient:
	def __init__(
		self,
		access_token: str,
		phone_number_id: str,
		waba_id: str | None = None,
		*,
		base_url: str | None = None,
		api_version: str | None = None,
		timeout: tuple[float, float] = (5, 30),
		session: requests.Session | None = None,
	):
		if not access_token:
			raise errors.AccessTokenError(190, "No access token is set for this WhatsApp account")
		self.phone_number_id = phone_number_id
		self.waba_id = waba_id
		self.root = f"{(base_url or DEFAULT_BASE_URL).rstrip('/')}/{api_version or DEFAULT_API_VERSION}"
		self.timeout = timeout
		self.session = session or requests.Session()
		self.session.headers["Authorization"] = f"Bearer {access_token}"

	def send_template(
		self,
		spec: TemplateSpec,
		to: str,
		values: dict[str, object],
		header: MediaHeader | None = None,
		callback_data: str | None = None,
	) -> SendResult:
		"""Send one template message to a phone number or a BSUID. ``callback_data`` comes back on
		every status webhook for it, which is how a send whose answer was lost is matched up later."""
		return self.send_payload(build_send_payload(spec, to, values, header, callback_data))

	def send_text(
		self, to: str, text: str, *, callback_data: str | None = None, reply_to: str | None = None
	) -> SendResult:
		"""Send a free-form text to a phone number or a BSUID, answering the message ``reply_to``
		(a wamid) when given. Meta takes it only inside the user's 24-hour customer service window
		(:mod:`.window`) and refuses it otherwise with 131047, raised as a RecipientError."""
		return self.send_payload(build_text_payload(to, text, callback_data=callback_data, reply_to=reply_to))

	def send_payload(self, payload: dict) -> SendResult:
		body = self._request("POST", f"{self.phone_number_id}/messages", json=payload)
		try:
			message = body["messages"][0]
		except (KeyError, IndexError, TypeError):
			raise errors.TransientError(
				None, "Meta accepted the request but returned no message id", repr(body)[:300]
			)
		contact = (body.get("contacts") or [{}])[0]
		return SendResult(
			message["id"], contact.get("wa_id"), message.get("message_status"), contact.get("user_id")
		)

	def list_templates(self) -> list[TemplateSpec]:
		if not self.waba_id:
			raise errors.AccountError(None, "The WABA ID is needed to list templates")
		templates: list[TemplateSpec] = []
		params: dict | None = {"fields": TEMPLATE_FIELDS, "limit": 100}
		path = f"{self.waba_id}/message_templates"
		while True:
			body = self._request("GET", path, params=params)
			templates.extend(TemplateSpec.from_meta(t) for t in body.get("data") or [])
			after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
			if not (body.get("paging") or {}).get("next") or not after:
				return templates
			params = {"fields": TEMPLATE_FIELDS, "limit": 100, "after": after}

	def upload_media(self, content: bytes, mime_type: str, filename: str) -> str:
		body = self._request(
			"POST",
			f"{self.phone_number_id}/media",
			data={"messaging_product": "whatsapp", "type": mime_type},
			files={"file": (filename, content, mime_type)},
		)
		return body["id"]

	def get_health(self) -> Health:
		body = self._request("GET", self.phone_number_id, params={"fields": HEALTH_FIELDS})
		health = body.get("health_status") or {}
		problems = []
		for entity in health.get("entities") or []:
			for error in entity.get("errors") or []:
				problems.append(
					f"{entity.get('entity_type')}: {error.get('error_description')} "
					f"({error.get('possible_solution') or 'see WhatsApp Manager'})"
				)
		return Health(
			can_send_message=(health.get("can_send_message") or "UNKNOWN").upper(),
			display_phone_number=body.get("display_phone_number"),
			verified_name=body.get("verified_name"),
			quality_rating=body.get("quality_rating"),
			problems=problems,
		)

	def _request(self, method: str, path: str, **kwargs) -> dict:
		url = f"{self.root}/{path}"
		try:
			response = self.session.request(method, url, timeout=self.timeout, **kwargs)
		except (
			requests.ConnectTimeout,
			requests.exceptions.InvalidURL,
			requests.exceptions.MissingSchema,
		) as e:
			raise errors.TransportError(f"Could not reach {self.root}: {e}", maybe_sent=False)
		except requests.ConnectionError as e:
			# Refused before the request went out vs. cut off after it may have been read.
			refused = "NewConnectionError" in repr(e) or "Name or service not known" in repr(e)
			raise errors.TransportError(f"Connection to {self.root} failed: {e}", maybe_sent=not refused)
		except requests.Timeout as e:
			raise errors.TransportError(f"No answer from {self.root} in time: {e}", maybe_sent=True)
		try:
			body = response.json()
		except ValueError:
			body = response.text
		if not response.ok or (isinstance(body, dict) and "error" in body):
			raise errors.from_response(response.status_code, body)
		if not isinstance(body, dict):
			raise errors.TransientError(
				None, "The Graph API answered with something other than JSON", str(body)[:300]
			)
		return body
