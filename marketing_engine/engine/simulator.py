"""A local stand-in for Meta's Graph API (WhatsApp Cloud API), for tests and as a sandbox.

It answers the calls the app makes, in Meta's documented request and response shapes:

- ``POST /<version>/<PHONE_NUMBER_ID>/messages``: validates the template message against the
  templates of the number's WABA and answers with a ``wamid``; then delivers signed status
  webhooks (sent -> delivered -> read, or sent -> failed with a chosen error) to the number's
  webhook URL, echoing ``biz_opaque_callback_data``;
- ``GET /<version>/<WABA_ID>/message_templates`` (paged), ``POST /<version>/<PHONE_NUMBER_ID>/media``,
  ``GET /<version>/<PHONE_NUMBER_ID>?fields=health_status,...``;
- a per-number throughput limit (80 msg/s by default) answered with error 130429 beyond it, and
  Meta's pair rate limit (131056) for bursts to one recipient;
- error 190 for an unknown or expired access token.

Control calls under ``/_simulator/`` (not Meta's) list what was sent and make a user write in
(a text, a button tap) or change their marketing preference, each delivered as a signed webhook.

Run it by hand: ``python -m marketing_engine.engine.simulator --webhook-url <url>``; it prints the
credentials to put on a WhatsApp Account.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import requests

from .templates import Button, TemplateSpec
from .webhook import SIGNATURE_HEADER, sign

PAIR_RATE_WINDOW = 6.0  # seconds
PAIR_RATE_BURST = 45  # messages to one user inside the window before 131056


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
	to: str
	template: str
	language: str
	payload: dict
	callback_data: str | None
	at: float = field(default_factory=time.time)


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


def sandbox_templates() -> list[TemplateSpec]:
	"""Templates every sandbox WABA has, approved: one per use the app ships with."""
	return [
		TemplateSpec(
			name="booking_confirmation",
			language="en",
			category="UTILITY",
			body="Hi {{1}}, your booking {{2}} with us is confirmed for {{3}}. Amount: {{4}}. See you soon!",
			footer="Reply to this message to reach the studio",
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
		),
		TemplateSpec(
			name="review_request",
			language="en",
			category="MARKETING",
			body="Hi {{1}}, thank you for choosing us for {{2}}! Would you leave us a review?",
			buttons=[OPT_OUT_BUTTON],
		),
		TemplateSpec(
			name="showreel_video",
			language="en",
			category="MARKETING",
			header_format="VIDEO",
			body="Hi {{1}}, here is our latest showreel.",
			buttons=[OPT_OUT_BUTTON],
		),
		TemplateSpec(
			name="old_promo",
			language="en",
			category="MARKETING",
			status="PAUSED",
			body="Hi {{1}}, this template was paused by Meta for low quality.",
		),
	]


class GraphAPISimulator:
	"""Start with :meth:`start` (or as a context manager); ``base_url`` is what a WhatsApp
	Account points at."""

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
	):
		self.numbers = {n.phone_number_id: n for n in numbers or [SANDBOX_SYSTEM, SANDBOX_BUSINESS]}
		wabas = {n.waba_id for n in self.numbers.values()}
		self.templates: dict[str, list[TemplateSpec]] = templates or {w: sandbox_templates() for w in wabas}
		self.latency = latency
		self.status_delay = status_delay
		self.read_receipts = read_receipts
		self.outcomes: dict[str, Outcome] = {}
		self.expired_tokens: set[str] = set()
		self.sent: list[SentMessage] = []
		self.rate_limited = 0
		self.media: dict[str, tuple[str, int]] = {}
		self.webhook_log: list[tuple[int | str, dict]] = []
		self._lock = threading.Lock()
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

	# -- things a user does ----------------------------------------------------------------
	def user_sends_text(
		self, phone_number_id: str, wa_id: str, text: str, context_id: str | None = None
	) -> str:
		message = {"type": "text", "text": {"body": text}}
		return self._inbound(phone_number_id, wa_id, message, context_id)

	def user_taps_button(
		self, phone_number_id: str, wa_id: str, text: str, context_id: str | None = None
	) -> str:
		message = {"type": "button", "button": {"text": text, "payload": text}}
		return self._inbound(phone_number_id, wa_id, message, context_id)

	def user_sets_marketing_preference(self, phone_number_id: str, wa_id: str, value: str) -> None:
		number = self.numbers[phone_number_id]
		preference = {
			"wa_id": wa_id.lstrip("+"),
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
			"contacts": [{"wa_id": wa_id.lstrip("+"), "profile": {"name": "Sandbox User"}}],
			"user_preferences": [preference],
		}
		self._schedule(number, "user_preferences", value_block, 0)

	def _inbound(self, phone_number_id: str, wa_id: str, message: dict, context_id: str | None) -> str:
		number = self.numbers[phone_number_id]
		message_id = _wamid()
		message = {"from": wa_id.lstrip("+"), "id": message_id, "timestamp": str(int(time.time())), **message}
		if context_id:
			message["context"] = {
				"from": number.display_phone_number.replace(" ", "").lstrip("+"),
				"id": context_id,
			}
		value = {
			"messaging_product": "whatsapp",
			"metadata": self._metadata(number),
			"contacts": [{"profile": {"name": "Sandbox User"}, "wa_id": wa_id.lstrip("+")}],
			"messages": [message],
		}
		self._schedule(number, "messages", value, 0)
		return message_id

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
		if body.get("messaging_product") != "whatsapp":
			return _error(400, 100, "The parameter messaging_product is required.")
		to = str(body.get("to") or "").lstrip("+")
		if not to.isdigit() or not 8 <= len(to) <= 15:
			return _error(400, 100, "Invalid parameter", details="Parameter 'to' is not a valid phone number")
		if body.get("type") != "template" or not isinstance(body.get("template"), dict):
			# Free-form messages are only allowed inside the 24 hour customer service window.
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
		if not self._take_pair_slot(phone_number_id, to):
			return _error(400, 131056, "(Business Account, Consumer Account) pair rate limit hit")
		problem = self._check_template(number.waba_id, body["template"])
		if problem:
			return problem
		outcome = self.outcomes.get(to)
		if outcome and outcome.sync:
			return _error(400, outcome.code, outcome.title)
		message_id = _wamid()
		callback_data = body.get("biz_opaque_callback_data")
		with self._lock:
			self.sent.append(
				SentMessage(
					message_id,
					phone_number_id,
					to,
					body["template"].get("name"),
					(body["template"].get("language") or {}).get("code"),
					body,
					callback_data,
				)
			)
		self._schedule_statuses(number, message_id, to, callback_data, outcome, body["template"].get("name"))
		return 200, {
			"messaging_product": "whatsapp",
			"contacts": [{"input": body.get("to"), "wa_id": to}],
			"messages": [{"id": message_id, "message_status": "accepted"}],
		}

	def handle_templates(self, waba_id: str, token: str, query: dict) -> tuple[int, dict]:
		if not self._token_for_waba(waba_id, token):
			return _error(
				401, 190, "Error validating access token: Session has expired.", error_type="OAuthException"
			)
		templates = [t.to_meta() for t in self.templates.get(waba_id, [])]
		for i, t in enumerate(templates):
			t["id"] = t["id"] or f"{waba_id}{i:04d}"
		limit = int((query.get("limit") or ["25"])[0])
		start = int((query.get("after") or ["0"])[0])
		page = templates[start : start + limit]
		body: dict = {
			"data": page,
			"paging": {"cursors": {"before": str(start), "after": str(start + len(page))}},
		}
		if start + limit < len(templates):
			body["paging"]["next"] = (
				f"{self.base_url}/v23.0/{waba_id}/message_templates?after={start + limit}&limit={limit}"
			)
		return 200, body

	def handle_node(self, node_id: str, token: str) -> tuple[int, dict]:
		number = self.numbers.get(node_id)
		if number is None:
			if self._token_for_waba(node_id, token):
				waba_numbers = [n for n in self.numbers.values() if n.waba_id == node_id]
				return 200, {"id": node_id, "health_status": _health(waba_numbers[0])}
			return _error(400, 100, f"Unsupported get request. Object with ID '{node_id}' does not exist")
		if token != number.access_token or token in self.expired_tokens:
			return _error(
				401, 190, "Error validating access token: Session has expired.", error_type="OAuthException"
			)
		return 200, {
			"id": node_id,
			"display_phone_number": number.display_phone_number,
			"verified_name": number.verified_name,
			"quality_rating": "GREEN" if number.health == "AVAILABLE" else "YELLOW",
			"health_status": _health(number),
		}

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

	# -- internals -------------------------------------------------------------------------
	def _token_for_waba(self, waba_id: str, token: str) -> bool:
		return token not in self.expired_tokens and any(
			n.waba_id == waba_id and n.access_token == token for n in self.numbers.values()
		)

	def _check_template(self, waba_id: str, template: dict) -> tuple[int, dict] | None:
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
		given = {c.get("type"): c for c in template.get("components") or []}
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
			text = p.get("text") if p.get("type") == "text" else None
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
			media = (
				header_params[0].get(kind) if header_params and header_params[0].get("type") == kind else None
			)
			if not isinstance(media, dict) or not (media.get("link") or media.get("id")):
				return _error(
					400,
					132012,
					"Parameter format does not match format in the created template",
					details=f"header: Format mismatch, expected {spec.header_format}",
				)
			if media.get("id") and media["id"] not in self.media:
				return _error(400, 131053, "Media upload error", details=f"Unknown media id {media['id']}")
		buttons = [c for c in template.get("components") or [] if c.get("type") == "button"]
		if len(buttons) != len(spec.url_buttons):
			return _error(
				400,
				132000,
				"Number of parameters does not match the expected number of params",
				details="buttons: a URL button with a variable needs its parameter",
			)
		return None

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

	def _schedule_statuses(self, number, message_id, to, callback_data, outcome, template_name) -> None:
		spec = next((t for t in self.templates.get(number.waba_id, []) if t.name == template_name), None)
		category = (spec.category if spec else "UTILITY").lower()
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
			entry = {
				"id": message_id,
				"status": status,
				"timestamp": str(int(time.time())),
				"recipient_id": to,
				**extra,
			}
			if status != "failed":
				entry["pricing"] = {
					"billable": True,
					"pricing_model": "PMP",
					"category": category,
					"type": "regular",
				}
			if callback_data:
				entry["biz_opaque_callback_data"] = callback_data
			value = {"messaging_product": "whatsapp", "metadata": self._metadata(number), "statuses": [entry]}
			self._schedule(number, "messages", value, self.status_delay * i)

	def _metadata(self, number: SimNumber) -> dict:
		return {
			"display_phone_number": number.display_phone_number.replace(" ", "").lstrip("+"),
			"phone_number_id": number.phone_number_id,
		}

	def _schedule(self, number: SimNumber, field_name: str, value: dict, delay: float) -> None:
		if not number.webhook_url:
			return
		payload = {
			"object": "whatsapp_business_account",
			"entry": [{"id": number.waba_id, "changes": [{"value": value, "field": field_name}]}],
		}
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

	def _dispatch(self, method: str) -> None:
		sim = self.simulator
		url = urlparse(self.path)
		parts = [p for p in url.path.split("/") if p]
		length = int(self.headers.get("Content-Length") or 0)
		raw = self.rfile.read(length) if length else b""
		token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
		if sim.latency:
			time.sleep(sim.latency)
		if parts and parts[0] == "_simulator":
			return self._control(method, parts[1:], raw)
		if len(parts) < 2 or not parts[0].startswith("v"):
			return self._reply(*_error(400, 100, "Unknown path"))
		node, rest = parts[1], parts[2:]
		if method == "POST" and rest == ["messages"]:
			try:
				body = json.loads(raw or b"{}")
			except json.JSONDecodeError:
				return self._reply(*_error(400, 100, "Invalid JSON body"))
			return self._reply(*sim.handle_send(node, token, body))
		if method == "POST" and rest == ["media"]:
			return self._reply(*sim.handle_media(node, token, self.headers.get("Content-Type") or "", raw))
		if method == "GET" and rest == ["message_templates"]:
			return self._reply(*sim.handle_templates(node, token, parse_qs(url.query)))
		if method == "GET" and not rest:
			return self._reply(*sim.handle_node(node, token))
		return self._reply(*_error(400, 100, f"Unsupported {method.lower()} request"))

	def _control(self, method: str, parts: list[str], raw: bytes) -> None:
		sim = self.simulator
		body = json.loads(raw or b"{}") if method == "POST" else {}
		if method == "GET" and parts == ["stats"]:
			with sim._lock:
				return self._reply(200, {"sent": len(sim.sent), "rate_limited": sim.rate_limited})
		if method == "GET" and parts == ["messages"]:
			with sim._lock:
				sent = [m.__dict__ for m in sim.sent]
			return self._reply(200, {"data": sent, "rate_limited": sim.rate_limited})
		if method == "POST" and parts == ["inbound"]:
			number = body.get("phone_number_id") or next(iter(sim.numbers))
			if body.get("button"):
				message_id = sim.user_taps_button(
					number, body["from"], body["button"], body.get("context_id")
				)
			else:
				message_id = sim.user_sends_text(
					number, body["from"], body.get("text") or "", body.get("context_id")
				)
			return self._reply(200, {"id": message_id})
		if method == "POST" and parts == ["preferences"]:
			number = body.get("phone_number_id") or next(iter(sim.numbers))
			sim.user_sets_marketing_preference(number, body["wa_id"], body.get("value") or "stop")
			return self._reply(200, {"success": True})
		if method == "POST" and parts == ["outcomes"]:
			sim.outcomes[str(body["wa_id"]).lstrip("+")] = Outcome(
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


def _health(number: SimNumber) -> dict:
	entity_errors = []
	if number.health != "AVAILABLE":
		entity_errors = [
			{
				"error_code": 141006,
				"error_description": "There is an error with the payment method.",
				"possible_solution": "Update the payment method in WhatsApp Manager.",
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
			{"entity_type": "WABA", "id": number.waba_id, "can_send_message": "AVAILABLE"},
		],
	}


def _wamid() -> str:
	return "wamid.SIM" + uuid.uuid4().hex.upper()


def main(argv: list[str] | None = None) -> None:
	parser = argparse.ArgumentParser(description="Run the WhatsApp Graph API simulator (sandbox)")
	parser.add_argument("--host", default="127.0.0.1")
	parser.add_argument("--port", type=int, default=8790)
	parser.add_argument("--webhook-url", help="where to deliver status and inbound webhooks")
	parser.add_argument("--rate", type=int, default=80, help="messages per second per number")
	parser.add_argument("--latency", type=float, default=0.0, help="seconds each API call takes")
	args = parser.parse_args(argv)
	numbers = [SANDBOX_SYSTEM, SANDBOX_BUSINESS]
	for number in numbers:
		number.rate_per_second = args.rate
		number.webhook_url = args.webhook_url
	sim = GraphAPISimulator(numbers, host=args.host, port=args.port, latency=args.latency).start()
	print(f"Graph API simulator on {sim.base_url} (webhooks to {args.webhook_url or 'nowhere'})")
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
