"""The Graph API simulator's account management: Embedded Signup and what follows it, message
templates made through the API, and the Resumable Upload API. Mixed into
:class:`.simulator.GraphAPISimulator`; every answer is in Meta's documented shape.

- **Embedded Signup.** ``POST /_simulator/signup`` (not Meta's) plays Meta's popup: it makes a WABA
  with one phone number, not yet registered for the Cloud API, and gives the one-time ``code``
  and the IDs that the popup's session-info message gives the page. Then, as Meta:
  ``GET /oauth/access_token`` (the code, 30 seconds, once, for the app that opened the popup),
  ``GET /debug_token`` (the token's ``granular_scopes`` name the shared WABA),
  ``POST|GET /<WABA>/subscribed_apps`` (an ``override_callback_uri`` is verified with Meta's GET
  handshake before webhooks go there), ``POST /<PHONE>/register`` (a six-digit PIN, which must
  match once set), and the number's and the WABA's fields, including whether a payment method is
  attached. A WABA without one is refused paid messages with 131042.
- **Templates.** ``POST /<WABA>/message_templates`` checks the submission with Meta's rules
  (:func:`.template_rules.meta_refusal`, answered as Meta does: code 100 with a subcode and
  ``error_user_title``/``error_user_msg``), refuses a name and language the WABA already has
  (2388024) or is deleting (2388023), and answers ``{"id", "status": "PENDING", "category"}``.
  Review approves after ``review_delay`` seconds (None: only by control call), with the
  ``message_template_status_update`` webhook. ``POST /<TEMPLATE_ID>`` edits (approved, rejected or
  paused templates; an approved one once in 24 hours, ten times in 30 days, never its category),
  ``DELETE /<WABA>/message_templates`` by name or by ``hsm_id``.
- **Uploads.** ``POST /<APP_ID>/uploads`` opens a session, ``POST /upload:<id>`` with
  ``Authorization: OAuth`` and ``file_offset`` takes the bytes and answers the handle ``h``,
  ``GET /upload:<id>`` says how far an upload got.

``fail_next`` makes the next call of one kind fail with a given Meta error (a failed signup).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests

from .template_rules import meta_refusal
from .templates import TemplateSpec

CODE_LIFETIME = 30.0  # seconds: Meta's Embedded Signup code expires after 30 seconds
DELETED_NAME_HOLD = 30 * 86400  # Meta keeps the name of a deleted approved template for 30 days
EDIT_WINDOW = 86400  # an approved template is edited once in 24 hours ...
EDITS_PER_MONTH = 10  # ... and ten times in 30 days
EDITABLE_STATUSES = ("APPROVED", "REJECTED", "PAUSED")
UPLOAD_TYPES = ("application/pdf", "image/jpeg", "image/jpg", "image/png", "video/mp4")
UPLOAD_MAX = 100 * 1024 * 1024
FAILABLE_CALLS = ("oauth", "debug_token", "subscribe", "register", "number", "waba", "create_template")
_PIN = re.compile(r"^\d{6}$")


@dataclass
class SimApp:
	"""A Meta app: a Tech Provider's, whose Embedded Signup configuration opens the popup."""

	app_id: str
	app_secret: str
	config_id: str
	name: str = "Sandbox Tech Provider"


SANDBOX_APP = SimApp("1170000000000001", "sandbox-platform-app-secret", "9900000000000001")


@dataclass
class SimWaba:
	waba_id: str
	name: str
	currency: str = "INR"
	timezone_id: str = "71"  # Asia/Calcutta in Meta's list
	business_verification_status: str = "verified"
	account_review_status: str = "APPROVED"
	payment_method: bool = True
	# The Tech Provider app that onboarded it through Embedded Signup (None: the WABA's own app).
	app_id: str | None = None
	business_id: str | None = None


@dataclass
class _Upload:
	app_id: str
	file_name: str
	file_length: int
	file_type: str
	data: bytearray = field(default_factory=bytearray)
	handle: str | None = None


class ManagementMixin:
	"""The calls above; needs the simulator's ``numbers``, ``templates``, ``_lock``,
	``new_number``, ``health_status``, ``_schedule_for_waba``, ``emit_template_status``,
	``_find_template``, ``_template_id`` and ``_token_for_waba``."""

	def _init_management(self, apps: list[SimApp] | None, review_delay: float | None) -> None:
		self.apps = {a.app_id: a for a in apps or [SANDBOX_APP]}
		self.review_delay = review_delay
		self.wabas: dict[str, SimWaba] = {}
		self.codes: dict[str, tuple[str, str, float]] = {}  # code -> (app id, business token, issued)
		self.business_tokens: dict[str, tuple[str, str]] = {}  # token -> (app id, WABA)
		self.subscriptions: dict[str, dict[str, str | None]] = {}  # WABA -> {app id: override uri}
		self.uploads: dict[str, _Upload] = {}
		self.handles: set[str] = set()
		self.deleted_names: dict[tuple[str, str, str], float] = {}  # (WABA, name, language) -> when
		self.edits: dict[str, list[float]] = {}  # template id -> when each edit of it was taken
		self.fail_next: dict[
			str, tuple[int, int, str, str | None]
		] = {}  # call -> status, code, msg, user msg
		self.timers: list[threading.Timer] = []

	# -- the sandbox's stand-in for Meta's popup --------------------------------------------
	def stand_in_signup(
		self,
		business_name: str,
		display_phone_number: str,
		verified_name: str | None = None,
		*,
		payment_method: bool = True,
		app_id: str | None = None,
	) -> dict:
		"""What Meta's popup does for a business that finishes it: a new WABA and number shared
		with the app; returns the page's view (``code``, ``waba_id``, ``phone_number_id``)."""
		app = self.apps[app_id or next(iter(self.apps))]
		waba_id = "2" + "".join(secrets.choice("0123456789") for _ in range(14))
		phone_number_id = "1" + "".join(secrets.choice("0123456789") for _ in range(14))
		token = "EAAG" + secrets.token_hex(24)
		code = "AQ" + secrets.token_urlsafe(32)
		with self._lock:
			self.wabas[waba_id] = SimWaba(
				waba_id,
				business_name,
				payment_method=payment_method,
				app_id=app.app_id,
				business_id="3" + waba_id[1:],
			)
			self.numbers[phone_number_id] = self.new_number(
				phone_number_id=phone_number_id,
				waba_id=waba_id,
				access_token=token,
				# Meta signs a Tech Provider's webhooks with the Tech Provider app's secret.
				app_secret=app.app_secret,
				display_phone_number=display_phone_number,
				verified_name=verified_name or business_name,
				platform_type="NOT_APPLICABLE",
				status="PENDING",
			)
			self.templates[waba_id] = []
			self.business_tokens[token] = (app.app_id, waba_id)
			self.codes[code] = (app.app_id, token, time.monotonic())
		return {
			"code": code,
			"waba_id": waba_id,
			"phone_number_id": phone_number_id,
			"business_id": self.wabas[waba_id].business_id,
		}

	def waba(self, waba_id: str) -> SimWaba:
		"""The WABA's own record; a sandbox WABA that has none gets one, with a payment method."""
		with self._lock:
			if waba_id not in self.wabas:
				number = next((n for n in self.numbers.values() if n.waba_id == waba_id), None)
				if number is None:
					raise KeyError(f"No WABA {waba_id}")
				self.wabas[waba_id] = SimWaba(waba_id, number.verified_name)
			return self.wabas[waba_id]

	def _failure(self, call: str) -> tuple[int, dict] | None:
		failure = self.fail_next.pop(call, None)
		if failure is None:
			return None
		status, code, message, user_msg = failure
		status_code, body = _error(status, code, message)
		if user_msg:
			body["error"]["error_user_title"] = message
			body["error"]["error_user_msg"] = user_msg
		return status_code, body

	# -- signup's server calls ----------------------------------------------------------------
	def handle_oauth(self, query: dict) -> tuple[int, dict]:
		failed = self._failure("oauth")
		if failed:
			return failed
		app = self.apps.get(_first(query, "client_id") or "")
		if app is None:
			return _error(400, 101, "Error validating application. Invalid application ID.")
		if not secrets.compare_digest(_first(query, "client_secret") or "", app.app_secret):
			return _error(400, 1, "Error validating client secret.")
		code = _first(query, "code") or ""
		with self._lock:
			issued = self.codes.pop(code, None)
		if issued is None:
			return _error(400, 100, "This authorization code has been used.", subcode=36009)
		code_app, token, at = issued
		if code_app != app.app_id:
			return _error(400, 100, "Invalid verification code format.", subcode=36008)
		if time.monotonic() - at > CODE_LIFETIME:
			return _error(400, 100, "This authorization code has expired.", subcode=36007)
		return 200, {"access_token": token, "token_type": "bearer"}

	def handle_debug_token(self, query: dict) -> tuple[int, dict]:
		failed = self._failure("debug_token")
		if failed:
			return failed
		app_token = _first(query, "access_token") or ""
		app_id, _, secret = app_token.partition("|")
		app = self.apps.get(app_id)
		if app is None or not secrets.compare_digest(secret, app.app_secret):
			return _error(400, 190, "Invalid OAuth access token - Cannot parse access token")
		token = _first(query, "input_token") or ""
		granted = self.business_tokens.get(token)
		if granted is None or token in self.expired_tokens:
			return 200, {
				"data": {
					"is_valid": False,
					"error": {"code": 190, "message": "The access token could not be decrypted"},
					"scopes": [],
				}
			}
		token_app, waba_id = granted
		targets = [waba_id]
		return 200, {
			"data": {
				"app_id": token_app,
				"type": "SYSTEM_USER",
				"application": self.apps[token_app].name,
				"data_access_expires_at": 0,
				"expires_at": 0,
				"is_valid": True,
				"issued_at": int(time.time()),
				"scopes": ["whatsapp_business_management", "whatsapp_business_messaging", "public_profile"],
				"granular_scopes": [
					{"scope": "whatsapp_business_management", "target_ids": targets},
					{"scope": "whatsapp_business_messaging", "target_ids": targets},
				],
				"user_id": hashlib.sha1(token.encode()).hexdigest()[:15],
			}
		}

	def _app_of(self, token: str) -> str:
		"""The app a token belongs to: a signup's business token is the Tech Provider's; the
		sandbox numbers' own tokens belong to the sandbox app."""
		granted = self.business_tokens.get(token)
		return granted[0] if granted else next(iter(self.apps))

	def handle_subscribe(self, waba_id: str, token: str, body: dict) -> tuple[int, dict]:
		if not self._token_for_waba(waba_id, token):
			return _expired()
		failed = self._failure("subscribe")
		if failed:
			return failed
		override = body.get("override_callback_uri")
		if override:
			if not str(override).startswith(("https://", "http://")):
				return _error(400, 100, "Invalid parameter", details="override_callback_uri must be a URL")
			problem = _verify_callback(str(override), str(body.get("verify_token") or ""))
			if problem:
				return _error(400, 2200, f"Callback verification failed with the following errors: {problem}")
		with self._lock:
			self.subscriptions.setdefault(waba_id, {})[self._app_of(token)] = override or None
			if override:
				for number in self.numbers.values():
					if number.waba_id == waba_id:
						number.webhook_url = str(override)
		return 200, {"success": True}

	def handle_subscribed_apps(self, waba_id: str, token: str) -> tuple[int, dict]:
		if not self._token_for_waba(waba_id, token):
			return _expired()
		data = []
		for app_id, override in (self.subscriptions.get(waba_id) or {}).items():
			app = self.apps.get(app_id)
			entry: dict = {
				"whatsapp_business_api_data": {
					"id": app_id,
					"name": app.name if app else app_id,
					"link": f"https://www.facebook.com/games/?app_id={app_id}",
				}
			}
			if override:
				entry["override_callback_uri"] = override
			data.append(entry)
		return 200, {"data": data}

	def handle_register(self, phone_number_id: str, token: str, body: dict) -> tuple[int, dict]:
		number = self.numbers.get(phone_number_id)
		if number is None:
			return _error(
				400, 100, f"Unsupported post request. Object with ID '{phone_number_id}' does not exist"
			)
		if token != number.access_token or token in self.expired_tokens:
			return _expired()
		failed = self._failure("register")
		if failed:
			return failed
		if body.get("messaging_product") != "whatsapp":
			return _error(400, 100, "The parameter messaging_product is required.")
		pin = str(body.get("pin") or "")
		if not _PIN.match(pin):
			return _error(400, 100, "Invalid parameter", details="pin must be a 6-digit number")
		if number.pin and number.pin != pin:
			return _error(400, 133005, "Two step verification PIN Mismatch")
		with self._lock:
			number.pin = pin
			number.platform_type = "CLOUD_API"
			number.status = "CONNECTED"
		return 200, {"success": True}

	def phone_number_fields(self, number) -> dict:
		return {
			"id": number.phone_number_id,
			"display_phone_number": number.display_phone_number,
			"verified_name": number.verified_name,
			"quality_rating": number.quality_rating
			or ("GREEN" if number.health == "AVAILABLE" else "YELLOW"),
			"code_verification_status": "VERIFIED",
			"platform_type": number.platform_type,
			"status": number.status,
			"name_status": "APPROVED",
			"messaging_limit_tier": number.messaging_limit,
			"throughput": {"level": "STANDARD"},
			"health_status": self.health_status(number, self.waba(number.waba_id)),
		}

	def waba_fields(self, waba_id: str, token: str) -> dict:
		waba = self.waba(waba_id)
		numbers = [n for n in self.numbers.values() if n.waba_id == waba_id]
		fields: dict = {
			"id": waba_id,
			"name": waba.name,
			"currency": waba.currency,
			"timezone_id": waba.timezone_id,
			"message_template_namespace": hashlib.md5(waba_id.encode()).hexdigest()[:8]
			+ "_"
			+ hashlib.md5(waba_id.encode()).hexdigest()[8:12],
			"business_verification_status": waba.business_verification_status,
			"account_review_status": waba.account_review_status,
			"health_status": self.health_status(numbers[0], waba),
		}
		# Meta shows the payment method to the WABA's own app (and Solution Partners); a Tech
		# Provider's business token is refused the field (see client.FUNDING_FIELDS).
		if token not in self.business_tokens and waba.payment_method:
			fields["primary_funding_id"] = str(int(hashlib.sha1(waba_id.encode()).hexdigest(), 16))[:15]
		return fields

	# -- templates ----------------------------------------------------------------------------
	def handle_create_template(self, waba_id: str, token: str, body: dict) -> tuple[int, dict]:
		if not self._token_for_waba(waba_id, token):
			return _expired()
		failed = self._failure("create_template")
		if failed:
			return failed
		for key in ("name", "language", "category", "components"):
			if not body.get(key):
				return _error(400, 100, f"The parameter {key} is required.")
		spec = _spec_from_submission(body)
		problem = self._template_problem(spec)
		if problem:
			return problem
		key = (waba_id, spec.name, spec.language)
		with self._lock:
			if any(
				t.name == spec.name and t.language == spec.language for t in self.templates.get(waba_id, [])
			):
				return _refused(
					2388024,
					"Content in This Language Already Exists",
					f"There is already {spec.language} content for this template. Create a new "
					"template and try again.",
				)
			deleted_at = self.deleted_names.get(key)
			if deleted_at and time.time() - deleted_at < DELETED_NAME_HOLD:
				return _refused(
					2388023,
					"Message Template Language Is Being Deleted",
					f"{spec.language} content for {spec.name} is being deleted; a new template with "
					"this name can be made after 30 days, or choose another name.",
				)
			spec = dataclasses.replace(
				spec, status="PENDING", meta_id=str(10**14 + secrets.randbelow(9 * 10**14))
			)
			self.templates.setdefault(waba_id, []).append(spec)
		self._schedule_review(waba_id, spec)
		return 200, {"id": spec.meta_id, "status": "PENDING", "category": spec.category}

	def handle_edit_template(self, template_id: str, token: str, body: dict) -> tuple[int, dict]:
		found = self._template_by_id(template_id)
		if found is None:
			return _error(
				400, 100, f"Unsupported post request. Object with ID '{template_id}' does not exist"
			)
		waba_id, index, spec = found
		if not self._token_for_waba(waba_id, token):
			return _expired()
		if spec.status not in EDITABLE_STATUSES:
			return _refused(
				2388025,
				"Template Can't Be Edited",
				f"A template that is {spec.status.lower()} cannot be edited; wait for its review.",
			)
		category = str(body.get("category") or spec.category).upper()
		if spec.status == "APPROVED" and category != spec.category:
			return _refused(
				2388026,
				"Category Can't Be Changed",
				"The category of an approved template cannot be changed.",
			)
		now = time.time()
		if spec.status == "APPROVED":
			taken = [t for t in self.edits.get(template_id, []) if now - t < 30 * 86400]
			if any(now - t < EDIT_WINDOW for t in taken) or len(taken) >= EDITS_PER_MONTH:
				return _refused(
					2388027,
					"Edit Limit Reached",
					"An approved template can be edited once in 24 hours and up to 10 times in 30 days.",
				)
		edited = _spec_from_submission(
			{
				"name": spec.name,
				"language": spec.language,
				"category": category,
				"parameter_format": body.get("parameter_format") or spec.parameter_format,
				"components": body.get("components") or spec.to_meta()["components"],
			}
		)
		problem = self._template_problem(edited)
		if problem:
			return problem
		with self._lock:
			if spec.status == "APPROVED":
				self.edits.setdefault(template_id, []).append(now)
			edited = dataclasses.replace(edited, status="PENDING", meta_id=spec.meta_id)
			self.templates[waba_id][index] = edited
		self._schedule_review(waba_id, edited)
		return 200, {"success": True}

	def handle_delete_template(self, waba_id: str, token: str, query: dict) -> tuple[int, dict]:
		if not self._token_for_waba(waba_id, token):
			return _expired()
		name = _first(query, "name")
		hsm_id = _first(query, "hsm_id")
		if not name:
			return _error(400, 100, "The parameter name is required.")
		with self._lock:
			every = self.templates.get(waba_id, [])
			going = [
				(i, t)
				for i, t in enumerate(every)
				if t.name == name and (not hsm_id or self._template_id(waba_id, i, t) == hsm_id)
			]
			if not going:
				return _refused(2593002, "Message Template Not Found", f"No template {name} to delete.")
			for _, spec in going:
				self.deleted_names[(waba_id, spec.name, spec.language)] = time.time()
			kept = {i for i, _ in going}
			self.templates[waba_id] = [t for i, t in enumerate(every) if i not in kept]
		return 200, {"success": True}

	def review_template(
		self, waba_id: str, name: str, language: str, event: str, reason: str | None = None
	) -> None:
		"""Meta's review of a template: APPROVED or REJECTED (with Meta's reason), as a webhook."""
		self.emit_template_status(waba_id, name, language, event, reason)

	def emit_template_category(self, waba_id: str, name: str, language: str, new_category: str) -> None:
		"""A ``template_category_update``: Meta moved an approved template to another category."""
		index, spec = self._find_template(waba_id, name, language)
		new_category = new_category.upper()
		with self._lock:
			self.templates[waba_id][index] = dataclasses.replace(spec, category=new_category)
		value = {
			"message_template_id": int(self._template_id(waba_id, index, spec)),
			"message_template_name": spec.name,
			"message_template_language": spec.language,
			"previous_category": spec.category,
			"new_category": new_category,
		}
		self._schedule_for_waba(waba_id, "template_category_update", value)

	def _schedule_review(self, waba_id: str, spec: TemplateSpec) -> None:
		if self.review_delay is None:
			return

		def approve():
			try:
				current = self._find_template(waba_id, spec.name, spec.language)[1]
			except KeyError:
				return  # deleted meanwhile
			if current.status == "PENDING":
				self.emit_template_status(waba_id, spec.name, spec.language, "APPROVED")

		timer = threading.Timer(self.review_delay, approve)
		timer.daemon = True
		timer.start()
		self.timers.append(timer)

	def _template_by_id(self, template_id: str) -> tuple[str, int, TemplateSpec] | None:
		for waba_id, every in self.templates.items():
			for index, spec in enumerate(every):
				if self._template_id(waba_id, index, spec) == template_id:
					return waba_id, index, spec
		return None

	def _template_problem(self, spec: TemplateSpec) -> tuple[int, dict] | None:
		if spec.category == "AUTHENTICATION":
			return None  # Meta writes those itself; the builder does not make them
		header_handle = spec.header_handle
		if header_handle and header_handle not in self.handles and not header_handle.startswith("4::"):
			return _refused(
				2388047, "Message header format is incorrect", "The header example is not an uploaded file."
			)
		refusal = meta_refusal(spec, has_header_example=bool(header_handle))
		if refusal is None:
			return None
		return _refused(refusal.subcode, refusal.title, refusal.problem.message)

	# -- the Resumable Upload API -------------------------------------------------------------
	def handle_open_upload(self, app_id: str, token: str, query: dict) -> tuple[int, dict]:
		if app_id not in self.apps:
			return _error(400, 100, f"Unsupported post request. Object with ID '{app_id}' does not exist")
		if not self._known_token(token):
			return _expired()
		file_type = _first(query, "file_type") or ""
		try:
			length = int(_first(query, "file_length") or 0)
		except ValueError:
			length = 0
		if file_type not in UPLOAD_TYPES:
			return _error(
				400, 100, "Invalid parameter", details=f"file_type must be one of {', '.join(UPLOAD_TYPES)}"
			)
		if not 0 < length <= UPLOAD_MAX:
			return _error(400, 100, "Invalid parameter", details="file_length must be a positive size")
		session = base64.urlsafe_b64encode(secrets.token_bytes(12)).decode().rstrip("=")
		upload_id = f"upload:{session}"
		with self._lock:
			self.uploads[upload_id] = _Upload(app_id, _first(query, "file_name") or "file", length, file_type)
		return 200, {"id": f"{upload_id}?{urlencode({'sig': secrets.token_urlsafe(12)})}"}

	def handle_upload(
		self, upload_id: str, token: str, offset_header: str | None, raw: bytes
	) -> tuple[int, dict]:
		if not self._known_token(token):
			return _expired()
		upload = self.uploads.get(upload_id)
		if upload is None:
			return _error(400, 100, "Invalid upload session", details=f"No upload session {upload_id}")
		try:
			offset = int(offset_header or 0)
		except ValueError:
			return _error(400, 100, "Invalid parameter", details="file_offset must be a number")
		with self._lock:
			if offset != len(upload.data):
				return _error(
					400, 100, "Invalid parameter", details=f"file_offset must be {len(upload.data)}"
				)
			upload.data.extend(raw)
			if len(upload.data) > upload.file_length:
				return _error(400, 100, "Invalid parameter", details="More bytes than file_length")
			if len(upload.data) < upload.file_length:
				return 200, {"id": upload_id, "file_offset": len(upload.data)}
			upload.handle = (
				"4::" + base64.b64encode(upload.file_type.encode()).decode() + ":" + secrets.token_urlsafe(48)
			)
			self.handles.add(upload.handle)
		return 200, {"h": upload.handle}

	def handle_upload_status(self, upload_id: str, token: str) -> tuple[int, dict]:
		if not self._known_token(token):
			return _expired()
		upload = self.uploads.get(upload_id)
		if upload is None:
			return _error(400, 100, "Invalid upload session", details=f"No upload session {upload_id}")
		return 200, {"id": upload_id, "file_offset": len(upload.data)}

	def _known_token(self, token: str) -> bool:
		return token not in self.expired_tokens and (
			token in self.business_tokens or any(n.access_token == token for n in self.numbers.values())
		)


def _spec_from_submission(body: dict) -> TemplateSpec:
	"""A submitted template read like a listed one; Meta takes the parameter format in any case."""
	data = {
		**body,
		"status": "PENDING",
		"parameter_format": str(body.get("parameter_format") or "POSITIONAL").upper(),
	}
	data["category"] = str(body.get("category") or "").upper()
	return TemplateSpec.from_meta(data)


def _refused(subcode: int | None, title: str, message: str) -> tuple[int, dict]:
	"""Meta's answer to a template it will not take: code 100, the subcode, words for people."""
	status, body = _error(400, 100, "Invalid parameter", subcode=subcode)
	body["error"]["error_user_title"] = title
	body["error"]["error_user_msg"] = message
	return status, body


def _verify_callback(url: str, verify_token: str) -> str | None:
	"""Meta's GET handshake with a callback URL: None when it echoes the challenge."""
	challenge = str(secrets.randbelow(10**9))
	separator = "&" if "?" in url else "?"
	query = urlencode({"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token})
	try:
		response = requests.get(f"{url}{separator}{query}", timeout=10)
	except requests.RequestException as e:
		return f"URL couldn't be validated: {e}"
	if response.status_code != 200 or response.text.strip() != challenge:
		return f'The URL couldn\'t be validated. Response does not match challenge, expected value="{challenge}", received="{response.text[:60]}" (HTTP {response.status_code})'
	return None


def _error(
	http_status: int,
	code: int,
	message: str,
	*,
	details: str | None = None,
	error_type: str = "OAuthException",
	subcode: int | None = None,
) -> tuple[int, dict]:
	error: dict = {
		"message": f"(#{code}) {message}",
		"type": error_type,
		"code": code,
		"error_data": {"messaging_product": "whatsapp", "details": details or message},
		"fbtrace_id": uuid.uuid4().hex[:22],
	}
	if subcode:
		error["error_subcode"] = subcode
	return http_status, {"error": error}


def _expired() -> tuple[int, dict]:
	return _error(
		401, 190, "Error validating access token: Session has expired.", error_type="OAuthException"
	)


def _first(query: dict, name: str) -> str | None:
	return (query.get(name) or [None])[0]
