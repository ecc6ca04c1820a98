"""A small client for the parts of Meta's WhatsApp Cloud API that the app uses: sending,
templates (list, create, edit, delete, the example media of a media header), the phone number
and its WhatsApp Business Account (WABA), webhook subscription and Cloud API registration.

Every refusal from Meta is raised as a typed :mod:`.errors` exception that says what to do next;
nothing here retries or sleeps, so the caller (a campaign run, a single confirmation) decides.
The one exception is an upload cut off on the way, which the Resumable Upload API is made to
resume from where Meta says it stopped.

Conversions from Click-to-WhatsApp ads go to the WABA's dataset through the Conversions API for
Business Messaging (:meth:`CloudAPIClient.ensure_dataset`, :meth:`CloudAPIClient.send_conversion_events`);
:mod:`.conversions` decides what is sent and whether a failure is worth another try.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from . import errors
from .conversions import MAX_EVENTS_PER_REQUEST, ConversionEvent, conversion_payload
from .template_rules import TemplateRulesError, build_create_payload, build_edit_payload, check_template
from .templates import MediaHeader, TemplateSpec, build_send_payload, build_text_payload

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
HEALTH_FIELDS = "health_status,display_phone_number,verified_name,quality_rating"
TEMPLATE_FIELDS = "id,name,language,status,category,parameter_format,components"
# The phone number's fields, by Meta's names ("Client phone numbers", WhatsAppBusinessPhoneNumber).
PHONE_NUMBER_FIELDS = (
	"id,display_phone_number,verified_name,quality_rating,code_verification_status,platform_type,"
	"status,name_status,messaging_limit_tier,throughput,health_status"
)
WABA_FIELDS = (
	"id,name,currency,timezone_id,message_template_namespace,business_verification_status,"
	"account_review_status,health_status"
)
# Asked for on its own: Meta answers it to Solution Partners and, reportedly, refuses a Tech
# Provider with error 10, which must not cost the rest of the WABA's fields.
FUNDING_FIELDS = "primary_funding_id"
# What the Resumable Upload API takes as a header example ("file_type").
UPLOAD_TYPES = ("application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4")
UPLOAD_ATTEMPTS = 3  # the first try and two resumes
# A phone number in one of these states is not (or no longer) registered for the Cloud API.
UNREGISTERED_STATUSES = frozenset({"PENDING", "DISCONNECTED", "UNVERIFIED", "DELETED"})


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


@dataclass
class CreatedTemplate:
	"""Meta's answer to a new template: ``{"id", "status", "category"}``. The status is PENDING
	unless Meta decided at once; the category is Meta's, which may differ from the one asked."""

	meta_id: str
	status: str
	category: str


@dataclass
class SubscribedApp:
	"""An app that receives the WABA's webhooks (``GET /<WABA>/subscribed_apps``)."""

	app_id: str
	name: str | None = None
	link: str | None = None
	override_callback_uri: str | None = None


@dataclass
class PhoneNumberDetails:
	"""``GET /<PHONE_NUMBER_ID>?fields=...``, by Meta's field names; ``raw`` is the whole answer."""

	phone_number_id: str
	display_phone_number: str | None = None
	verified_name: str | None = None
	quality_rating: str | None = None  # GREEN, YELLOW, RED, UNKNOWN
	code_verification_status: str | None = None  # VERIFIED, NOT_VERIFIED, EXPIRED
	platform_type: str | None = None  # CLOUD_API, ON_PREMISE, NOT_APPLICABLE (not registered)
	status: str | None = None  # CONNECTED, PENDING, DISCONNECTED, FLAGGED, RESTRICTED, ...
	name_status: str | None = None  # APPROVED, PENDING_REVIEW, DECLINED, EXPIRED, NONE
	messaging_limit_tier: str | None = None  # TIER_250, TIER_1K, TIER_10K, TIER_100K, TIER_UNLIMITED
	throughput_level: str | None = None  # STANDARD, HIGH (Meta's throughput.level)
	health_status: dict = field(default_factory=dict)
	raw: dict = field(default_factory=dict)

	@property
	def registered_for_cloud_api(self) -> bool:
		"""Whether ``POST /<PHONE>/register`` was done. Meta has no field that says so in one
		word: a registered number has ``platform_type`` CLOUD_API, an unregistered one
		NOT_APPLICABLE, and a number is PENDING until registered, CONNECTED after. Both must
		agree; DISCONNECTED, UNVERIFIED or DELETED numbers need registering (again) too."""
		return (self.platform_type or "").upper() == "CLOUD_API" and (
			self.status or ""
		).upper() not in UNREGISTERED_STATUSES


@dataclass
class WabaDetails:
	"""``GET /<WABA_ID>?fields=...``. ``raw`` is Meta's answer; when the payment method could be
	read, ``raw`` has ``primary_funding_id`` (None when Meta names none: no payment method is
	attached), else the key is missing (Meta did not say). :func:`.signup.payment_state_of` reads
	``health_status`` and ``raw``."""

	waba_id: str
	name: str | None = None
	currency: str | None = None
	timezone_id: str | None = None
	message_template_namespace: str | None = None
	business_verification_status: str | None = None  # verified, unverified, pending, ...
	account_review_status: str | None = None  # PENDING, APPROVED, REJECTED
	health_status: dict = field(default_factory=dict)
	primary_funding_id: str | None = None
	funding_known: bool = False  # whether Meta answered the primary_funding_id question
	raw: dict = field(default_factory=dict)


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
		self._access_token = access_token

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

	# -- templates ------------------------------------------------------------------------
	def create_template(self, spec: TemplateSpec) -> CreatedTemplate:
		"""Submit ``spec`` for Meta's review (``POST /<WABA>/message_templates``). Meta's rules are
		checked first: a template Meta would refuse raises :class:`.TemplateRulesError` and is not
		sent. Meta's own refusal raises :class:`.errors.TemplateRejectedError` with its reason."""
		waba = self._need_waba("create templates")
		self._check_rules(spec)
		body = self._request(
			"POST",
			f"{waba}/message_templates",
			json=build_create_payload(spec),
			errors_from=errors.from_template_response,
		)
		if not body.get("id"):
			raise errors.TransientError(None, "Meta took the template but returned no id", repr(body)[:300])
		return CreatedTemplate(
			meta_id=str(body["id"]),
			status=str(body.get("status") or "PENDING").upper(),
			category=str(body.get("category") or spec.category).upper(),
		)

	def edit_template(self, meta_id: str, spec: TemplateSpec) -> bool:
		"""Replace the components (and, where Meta allows, the category) of the template Meta
		knows as ``meta_id``; it goes back to review. Meta edits only approved, rejected and paused
		templates, an approved one once a day and ten times a month."""
		self._check_rules(spec)
		body = self._request(
			"POST", str(meta_id), json=build_edit_payload(spec), errors_from=errors.from_template_response
		)
		return bool(body.get("success"))

	def delete_template(self, name: str, meta_id: str | None = None) -> bool:
		"""``DELETE /<WABA>/message_templates``: by name alone every language of ``name`` goes;
		with ``meta_id`` (Meta's ``hsm_id``) only that one. Meta keeps the name of a deleted
		approved template for 30 days."""
		waba = self._need_waba("delete templates")
		params = {"name": name, **({"hsm_id": str(meta_id)} if meta_id else {})}
		body = self._request(
			"DELETE", f"{waba}/message_templates", params=params, errors_from=errors.from_template_response
		)
		return bool(body.get("success"))

	def upload_example(self, app_id: str, content: bytes, mime_type: str, filename: str) -> str:
		"""Upload a media header's example with Meta's Resumable Upload API and return the handle
		for ``example.header_handle``: ``POST /<APP_ID>/uploads`` opens a session
		(``{"id": "upload:..."}``, used verbatim, ``?sig=`` included), ``POST /<upload-id>`` with
		``Authorization: OAuth <token>`` and ``file_offset`` sends the bytes (``{"h": ...}``). When
		the connection breaks on the way, ``GET /<upload-id>`` says how far Meta got
		(``file_offset``) and the rest is sent from there."""
		if mime_type not in UPLOAD_TYPES:
			raise errors.TemplateRejectedError(
				None,
				"Unsupported example file",
				f"Meta takes a header example as {', '.join(UPLOAD_TYPES)}, not {mime_type}",
			)
		if not content:
			raise errors.TemplateRejectedError(None, "Empty example file", "The example file has no content")
		opened = self._request(
			"POST",
			f"{app_id}/uploads",
			params={"file_name": filename, "file_length": len(content), "file_type": mime_type},
			errors_from=errors.from_template_response,
		)
		upload_id = opened.get("id")
		if not upload_id:
			raise errors.TransientError(None, "Meta opened no upload session", repr(opened)[:300])
		# Meta: "You must include the access token in the header", as OAuth, not Bearer.
		auth = {"Authorization": f"OAuth {self._access_token}"}
		offset = 0
		for attempt in range(1, UPLOAD_ATTEMPTS + 1):
			try:
				body = self._request(
					"POST",
					upload_id,
					data=content[offset:],
					headers={**auth, "file_offset": str(offset)},
					errors_from=errors.from_template_response,
				)
			except errors.TransportError:
				if attempt == UPLOAD_ATTEMPTS:
					raise
				status = self._request(
					"GET", upload_id, headers=auth, errors_from=errors.from_template_response
				)
				offset = int(status.get("file_offset") or 0)
				continue
			if body.get("h"):
				return str(body["h"])
			offset = int(body.get("file_offset") or offset)
		raise errors.TransientError(None, "Meta kept no handle for the uploaded example", upload_id)

	# -- the phone number and its WABA -------------------------------------------------
	def subscribe_app(
		self, override_callback_uri: str | None = None, verify_token: str | None = None
	) -> bool:
		"""``POST /<WABA>/subscribed_apps``: the token's app receives the WABA's webhooks, at
		``override_callback_uri`` (which Meta verifies with ``verify_token``) when given, else at
		the app's callback URL."""
		waba = self._need_waba("subscribe to its webhooks")
		body = None
		if override_callback_uri:
			body = {"override_callback_uri": override_callback_uri, "verify_token": verify_token or ""}
		return bool(self._request("POST", f"{waba}/subscribed_apps", json=body).get("success"))

	def subscribed_apps(self) -> list[SubscribedApp]:
		waba = self._need_waba("list its subscribed apps")
		apps = []
		for entry in self._request("GET", f"{waba}/subscribed_apps").get("data") or []:
			app = entry.get("whatsapp_business_api_data") or {}
			apps.append(
				SubscribedApp(
					app_id=str(app.get("id") or ""),
					name=app.get("name"),
					link=app.get("link"),
					override_callback_uri=entry.get("override_callback_uri"),
				)
			)
		return apps

	def register_number(self, pin: str, data_localization_region: str | None = None) -> bool:
		"""``POST /<PHONE>/register``: the number starts working on the Cloud API; ``pin`` (six
		digits) becomes its two-step verification PIN, or must be that PIN when one is set."""
		body: dict = {"messaging_product": "whatsapp", "pin": str(pin)}
		if data_localization_region:
			body["data_localization_region"] = data_localization_region
		return bool(self._request("POST", f"{self.phone_number_id}/register", json=body).get("success"))

	def get_number(self) -> PhoneNumberDetails:
		body = self._request("GET", self.phone_number_id, params={"fields": PHONE_NUMBER_FIELDS})
		return PhoneNumberDetails(
			phone_number_id=str(body.get("id") or self.phone_number_id),
			display_phone_number=body.get("display_phone_number"),
			verified_name=body.get("verified_name"),
			quality_rating=body.get("quality_rating"),
			code_verification_status=body.get("code_verification_status"),
			platform_type=body.get("platform_type"),
			status=body.get("status"),
			name_status=body.get("name_status"),
			messaging_limit_tier=body.get("messaging_limit_tier"),
			throughput_level=(body.get("throughput") or {}).get("level"),
			health_status=body.get("health_status") or {},
			raw=body,
		)

	def get_waba(self) -> WabaDetails:
		"""The WABA's name, currency, time zone, verification, review, health and, if Meta
		answers it, its payment method (``primary_funding_id``)."""
		waba = self._need_waba("read it")
		body = dict(self._request("GET", waba, params={"fields": WABA_FIELDS}))
		funding_known = False
		try:
			funding = self._request("GET", waba, params={"fields": FUNDING_FIELDS})
		except (errors.AccountError, errors.RecipientError):
			pass  # refused (a Tech Provider: error 10) or unknown on this node: Meta did not say
		else:
			funding_known = True
			body["primary_funding_id"] = funding.get("primary_funding_id") or None
		return WabaDetails(
			waba_id=str(body.get("id") or waba),
			name=body.get("name"),
			currency=body.get("currency"),
			timezone_id=None if body.get("timezone_id") is None else str(body["timezone_id"]),
			message_template_namespace=body.get("message_template_namespace"),
			business_verification_status=body.get("business_verification_status"),
			account_review_status=body.get("account_review_status"),
			health_status=body.get("health_status") or {},
			primary_funding_id=body.get("primary_funding_id"),
			funding_known=funding_known,
			raw=body,
		)

	# -- Conversions API for Business Messaging ----------------------------------------
	def ensure_dataset(self, dataset_name: str | None = None) -> str:
		"""The id of the WABA's Conversions API dataset, made when it has none: ``GET
		/<WABA>/dataset``, then ``POST /<WABA>/dataset`` (``{"id"}``). A WABA has one dataset;
		Meta answers a second POST with the one it has, so two workers racing here agree."""
		waba = self._need_waba("report conversions")
		found = _dataset_id(self._request("GET", f"{waba}/dataset"))
		if found:
			return found
		body = {"dataset_name": dataset_name} if dataset_name else None
		made = _dataset_id(self._request("POST", f"{waba}/dataset", json=body))
		if not made:
			raise errors.TransientError(None, "Meta made the dataset but returned no id", waba)
		return made

	def send_conversion_events(self, dataset_id: str, events: list[ConversionEvent]) -> int:
		"""Send ``events`` to the dataset (``POST /<DATASET_ID>/events`` with ``data``), at most
		1,000 a call as Meta takes them, and return how many Meta received (duplicates
		included). Meta refuses a whole call for one bad event, so filter with
		:func:`.conversions.why_not_sendable` first. When a later call fails, the earlier ones
		were received: sending all of them again is safe, Meta deduplicates by ``event_id``."""
		received = 0
		for start in range(0, len(events), MAX_EVENTS_PER_REQUEST):
			chunk = events[start : start + MAX_EVENTS_PER_REQUEST]
			body = self._request(
				"POST", f"{dataset_id}/events", json={"data": [conversion_payload(e) for e in chunk]}
			)
			try:
				received += int(body["events_received"])
			except (KeyError, TypeError, ValueError):
				raise errors.TransientError(
					None, "Meta answered the events without events_received", repr(body)[:300]
				)
		return received

	# -- internals ---------------------------------------------------------------------
	def _need_waba(self, purpose: str) -> str:
		if not self.waba_id:
			raise errors.AccountError(None, f"The WABA ID is needed to {purpose}")
		return self.waba_id

	@staticmethod
	def _check_rules(spec: TemplateSpec) -> None:
		problems = check_template(spec)
		if problems:
			raise TemplateRulesError(problems)

	def _request(
		self,
		method: str,
		path: str,
		*,
		errors_from: Callable[[int, object], errors.MetaError] = errors.from_response,
		**kwargs,
	) -> dict:
		return graph_request(
			self.session,
			method,
			f"{self.root}/{path}",
			timeout=self.timeout,
			errors_from=errors_from,
			**kwargs,
		)


def graph_request(
	session: requests.Session,
	method: str,
	url: str,
	*,
	timeout: tuple[float, float] | float,
	errors_from: Callable[[int, object], errors.MetaError] = errors.from_response,
	**kwargs,
) -> dict:
	"""One Graph API call: its JSON object, or the typed error for what went wrong. Error texts
	leave out the URL's query, which may carry a secret (``client_secret``, ``input_token``)."""
	root = _without_query(url)
	try:
		response = session.request(method, url, timeout=timeout, **kwargs)
	except (
		requests.ConnectTimeout,
		requests.exceptions.InvalidURL,
		requests.exceptions.MissingSchema,
	) as e:
		raise errors.TransportError(f"Could not reach {root}: {_without_query(str(e))}", maybe_sent=False)
	except requests.ConnectionError as e:
		# Refused before the request went out vs. cut off after it may have been read.
		refused = "NewConnectionError" in repr(e) or "Name or service not known" in repr(e)
		raise errors.TransportError(
			f"Connection to {root} failed: {_without_query(str(e))}", maybe_sent=not refused
		)
	except requests.Timeout as e:
		raise errors.TransportError(
			f"No answer from {root} in time: {_without_query(str(e))}", maybe_sent=True
		)
	try:
		body = response.json()
	except ValueError:
		body = response.text
	if not response.ok or (isinstance(body, dict) and "error" in body):
		raise errors_from(response.status_code, body)
	if not isinstance(body, dict):
		raise errors.TransientError(
			None, "The Graph API answered with something other than JSON", str(body)[:300]
		)
	return body


def _dataset_id(body: dict) -> str | None:
	"""The dataset id in Meta's answer: ``{"id"}`` from a POST; a read of the edge answers
	``{"data": [{"id", "name"}]}`` (empty when the WABA has none). Meta's reference documents
	only the POST's shape, so both are read."""
	if body.get("id"):
		return str(body["id"])
	for entry in body.get("data") or []:
		if isinstance(entry, dict) and entry.get("id"):
			return str(entry["id"])
	return None


def _without_query(text: str) -> str:
	return re.sub(r"\?[^\s'\")]*", "", text)
