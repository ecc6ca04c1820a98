"""pywa, the most used WhatsApp Cloud API client on PyPI, unchanged, against the Graph API simulator.

pywa sends templates, lists them and parses webhooks with its own code; if it gets on with the
simulator, the simulator speaks Meta's shapes and not merely what our own client expects. pywa's
Graph URL is fixed to graph.facebook.com, so it is pointed at the simulator through its documented
``session`` argument: an httpx client whose transport (httpx's documented extension point) sends
every request to the simulator on 127.0.0.1. Webhooks reach pywa the way its docs describe for a
custom web server: ``webhook_update_validator`` checks the signature with the app secret, then
``webhook_update_handler`` parses and dispatches to the registered handlers.
"""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pywa import WhatsApp, errors, types, utils
from pywa.types.account_update import AccountUpdateEvent
from pywa.types.templates import (
	BodyText,
	Buttons,
	HeaderImage,
	QualityScoreType,
	TemplateLanguage,
	TemplateStatus,
	URLButton,
)

from marketing_engine.engine.simulator import GraphAPISimulator, sandbox_templates

from .conftest import WebhookReceiver, make_number

GRAPH_HOST = "graph.facebook.com"
ASHA = "919876543210"


class ToSimulator(httpx.BaseTransport):
	"""Sends pywa's requests for graph.facebook.com to the simulator, and nothing anywhere else."""

	def __init__(self, simulator_url: str):
		self.target = httpx.URL(simulator_url)
		self.inner = httpx.HTTPTransport()
		self.hosts: list[str] = []

	def handle_request(self, request: httpx.Request) -> httpx.Response:
		self.hosts.append(request.url.host)
		if request.url.host not in (GRAPH_HOST, self.target.host):
			raise httpx.ConnectError(f"{request.url.host} is not the Graph API", request=request)
		request.url = request.url.copy_with(
			scheme=self.target.scheme, host=self.target.host, port=self.target.port
		)
		return self.inner.handle_request(request)

	def close(self) -> None:
		self.inner.close()


class PywaWebhookRoute:
	"""A pywa app's webhook route on a plain web server; ``answers`` are what it told Meta."""

	def __init__(self, wa: WhatsApp):
		self.answers: list[int] = []
		route = self

		class Handler(BaseHTTPRequestHandler):
			protocol_version = "HTTP/1.1"

			def log_message(self, *args):
				pass

			def do_POST(self):
				raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
				refused = wa.webhook_update_validator(raw, self.headers.get(utils.HUB_SIG))
				text, status = refused or wa.webhook_update_handler(raw)
				route.answers.append(status)
				body = text.encode()
				self.send_response(status)
				self.send_header("Content-Length", str(len(body)))
				self.end_headers()
				self.wfile.write(body)

		self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
		threading.Thread(target=self.server.serve_forever, daemon=True).start()

	@property
	def url(self) -> str:
		return f"http://127.0.0.1:{self.server.server_address[1]}/"

	def close(self) -> None:
		self.server.shutdown()
		self.server.server_close()


class Collected:
	"""What pywa's handlers were given, by kind."""

	def __init__(self, wa: WhatsApp):
		self.lock = threading.Lock()
		self.updates: dict[str, list] = {}
		for kind, register in {
			"status": wa.on_message_status,
			"message": wa.on_message,
			"preference": wa.on_user_marketing_preferences,
			"number_change": wa.on_phone_number_change,
			"template_status": wa.on_template_status_update,
			"template_quality": wa.on_template_quality_update,
			"account": wa.on_account_update,
			"raw": wa.on_raw_update,
		}.items():
			register()(self._keep(kind))

	def _keep(self, kind: str):
		def handler(_client, update):
			with self.lock:
				self.updates.setdefault(kind, []).append(update)

		return handler

	def __getitem__(self, kind: str) -> list:
		with self.lock:
			return list(self.updates.get(kind, []))


@pytest.fixture
def setup():
	number = make_number()
	with GraphAPISimulator([number], {number.waba_id: sandbox_templates()}, status_delay=0.01) as sim:
		transport = ToSimulator(sim.base_url)
		wa = WhatsApp(
			phone_id=number.phone_number_id,
			token=number.access_token,
			waba_id=number.waba_id,
			session=httpx.Client(transport=transport),
			verify_token="verify-me",
			app_secret=number.app_secret,
		)
		collected = Collected(wa)
		route = PywaWebhookRoute(wa)
		number.webhook_url = route.url
		try:
			yield sim, number, wa, transport, collected, route
		finally:
			route.close()


def test_pywa_sends_positional_and_named_templates(setup):
	sim, _, wa, transport, _, _ = setup
	booking = wa.send_template(
		to=ASHA,
		name="booking_confirmation",
		language=TemplateLanguage.ENGLISH,
		params=[BodyText.params("Asha", "SO-0001", "1 Dec 2026", "₹25,000")],
		tracker="WAM-1",
	)
	offer = wa.send_template(
		to=ASHA,
		name="festive_offer",
		language=TemplateLanguage.ENGLISH,
		params=[
			HeaderImage.params(image="https://studio.example/diwali.jpg"),
			BodyText.params(name="Asha", offer="20% off family portraits"),
			URLButton.params(url_variable="diwali-2026", index=0),
		],
	)
	assert booking.id.startswith("wamid.") and booking.to == ASHA and booking.input == ASHA
	assert booking.status == types.SentTemplateStatus.ACCEPTED
	first, second = sim.sent
	assert (first.message_id, first.to, first.callback_data) == (booking.id, ASHA, "WAM-1")
	assert second.message_id == offer.id
	header, body, button = second.payload["template"]["components"]
	assert header["parameters"][0]["image"] == {"link": "https://studio.example/diwali.jpg"}
	assert [(p["parameter_name"], p["text"]) for p in body["parameters"]] == [
		("name", "Asha"),
		("offer", "20% off family portraits"),
	]
	assert (button["sub_type"], button["parameters"][0]["text"]) == ("URL", "diwali-2026")
	# pywa addressed Meta; every request reached the simulator instead.
	assert set(transport.hosts) == {GRAPH_HOST}


def test_pywa_sends_to_a_username_user_by_bsuid(setup):
	sim, _, wa, _, _, _ = setup
	bsuid = sim.add_username_user("ravi.k")
	sent = wa.send_template(
		to=bsuid,
		name="review_request",
		language=TemplateLanguage.ENGLISH,
		params=[BodyText.params("Ravi", "your wedding shoot")],
	)
	(ledger,) = sim.sent
	assert (ledger.to, ledger.recipient, ledger.message_id) == (None, bsuid, sent.id)
	assert ledger.payload["recipient"] == bsuid and "to" not in ledger.payload
	assert sent.to == bsuid  # pywa read the user_id Meta answers with


def test_pywa_gets_metas_errors(setup):
	sim, _, wa, _, _, _ = setup
	with pytest.raises(errors.WhatsAppError) as e:
		wa.send_template(
			to=ASHA,
			name="booking_confirmation",
			language=TemplateLanguage.ENGLISH,
			params=[BodyText.params("A")],
		)
	assert e.value.code == 132000
	with pytest.raises(errors.WhatsAppError) as e:
		wa.send_template(
			to=ASHA, name="old_promo", language=TemplateLanguage.ENGLISH, params=[BodyText.params("A")]
		)
	assert e.value.code == 132015
	assert sim.sent == []


def test_pywa_lists_templates_with_examples_and_pages(setup):
	_, _, wa, _, _, _ = setup
	page = wa.get_templates(pagination=types.Pagination(limit=2))
	assert page.total_count == 6 and page.message_template_count == 6
	assert page.has_next and not page.has_previous
	assert page.after and not page.after.isdigit()
	booking, offer = page
	assert (booking.name, booking.status, booking.id) == (
		"booking_confirmation",
		TemplateStatus.APPROVED,
		"2220000",
	)
	(body, _footer) = booking.components
	assert body.example == ("Asha", "SO-0001", "1 Dec 2026", "₹25,000")
	header, named_body, buttons = offer.components
	assert isinstance(header, HeaderImage) and header.example.startswith("4::")
	assert named_body.example == {"name": "Asha", "offer": "20% off family portraits"}
	assert isinstance(buttons, Buttons)
	assert buttons.buttons[0].example == "https://studio.example/book?utm_source=diwali-2026"
	assert offer.quality_score.score == QualityScoreType.GREEN
	# TemplatesResult.next() fails in pywa 4.5.0 (its subclass takes no item_factory), so the
	# next pages are asked for with the cursor, pywa's other documented way.
	rest = wa.get_templates(pagination=types.Pagination(after=page.after, limit=2))
	assert [t.name for t in rest] == ["review_request", "showreel_video"]
	assert rest.has_previous and rest.has_next
	last = wa.get_templates(pagination=types.Pagination(after=rest.after, limit=2))
	assert [t.name for t in last] == ["old_promo", "diwali_offer"] and not last.has_next
	assert last[0].status == TemplateStatus.PAUSED


def test_pywa_parses_the_simulators_signed_webhooks(setup):
	sim, number, wa, _, collected, route = setup
	ravi = sim.add_username_user("ravi.k", profile_name="Ravi")
	asha = sim.user_id_for(number.waba_id, ASHA)
	to_asha = wa.send_template(
		to=ASHA,
		name="booking_confirmation",
		language=TemplateLanguage.ENGLISH,
		params=[BodyText.params("Asha", "SO-0001", "1 Dec 2026", "₹25,000")],
		tracker="WAM-1",
	)
	assert sim.wait_for_webhooks(5)
	to_ravi = wa.send_template(
		to=ravi,
		name="review_request",
		language=TemplateLanguage.ENGLISH,
		params=[BodyText.params("Ravi", "your wedding shoot")],
	)
	sim.user_sends_text(number.phone_number_id, ASHA, "Yes please", to_asha.id)
	sim.user_sends_text(number.phone_number_id, ravi, "STOP")
	sim.user_sets_marketing_preference(number.phone_number_id, ravi, "stop")
	assert sim.wait_for_webhooks(5)
	assert route.answers and set(route.answers) == {200}

	by_message = {}
	for status in collected["status"]:
		by_message.setdefault(status.id, {})[status.status] = status
	assert set(by_message) == {to_asha.id, to_ravi.id}
	asha_statuses, ravi_statuses = by_message[to_asha.id], by_message[to_ravi.id]
	assert set(asha_statuses) == set(ravi_statuses) == {"sent", "delivered", "read"}
	for status in asha_statuses.values():
		assert (status.from_user.wa_id, status.from_user.bsuid, status.tracker) == (ASHA, asha, "WAM-1")
	for status in ravi_statuses.values():
		assert (status.from_user.wa_id, status.from_user.bsuid) == (None, ravi)
	assert ravi_statuses["read"].from_user.username == "ravi.k"
	assert ravi_statuses["sent"].from_user.username is None  # Meta names it on delivered and read

	messages = {m.text: m for m in collected["message"]}
	assert set(messages) == {"Yes please", "STOP"}
	reply, stop = messages["Yes please"], messages["STOP"]
	assert (reply.from_user.wa_id, reply.from_user.bsuid, reply.reply_to_message.id) == (
		ASHA,
		asha,
		to_asha.id,
	)
	assert (stop.from_user.wa_id, stop.from_user.bsuid, stop.from_user.username, stop.from_user.name) == (
		None,
		ravi,
		"ravi.k",
		"Ravi",
	)
	assert stop.metadata.phone_number_id == number.phone_number_id

	(preference,) = collected["preference"]
	assert preference.value == types.MarketingPreference.STOP and not preference
	assert (preference.from_user.wa_id, preference.from_user.bsuid, preference.from_user.username) == (
		None,
		ravi,
		"ravi.k",
	)
	assert len(collected["raw"]) == len(route.answers)


def test_pywa_checks_the_signature_with_the_app_secret(setup):
	sim, number, wa, _, collected, _ = setup
	receiver = WebhookReceiver()
	try:
		number.webhook_url = receiver.url
		sim.user_sends_text(number.phone_number_id, ASHA, "Hi")
		assert sim.wait_for_webhooks(5)
		((headers, raw),) = receiver.requests
	finally:
		receiver.server.shutdown()
		receiver.server.server_close()
	signature = headers["X-Hub-Signature-256"]
	assert wa.webhook_update_validator(raw, signature) is None
	assert wa.webhook_update_validator(raw + b" ", signature) == ("Forbidden", 403)
	assert wa.webhook_update_validator(raw, None) == ("Unauthorized", 401)
	impostor = WhatsApp(
		phone_id=number.phone_number_id,
		token=number.access_token,
		session=httpx.Client(transport=ToSimulator(sim.base_url)),
		verify_token="verify-me",
		app_secret="someone-elses-secret",
	)
	route = PywaWebhookRoute(impostor)
	impostor_saw = Collected(impostor)
	try:
		number.webhook_url = route.url
		sim.user_sends_text(number.phone_number_id, ASHA, "Hi again")
		assert sim.wait_for_webhooks(5)
	finally:
		route.close()
	assert route.answers == [403]
	assert impostor_saw["message"] == [] and impostor_saw["raw"] == []
	assert collected["message"] == []  # the test's own route was not in use


def test_pywa_reads_identity_and_account_webhooks(setup):
	sim, number, _, _, collected, route = setup
	old = sim.user_id_for(number.waba_id, ASHA)
	sim.user_changes_number(number.phone_number_id, ASHA, "919800000001")
	ravi = sim.add_username_user("ravi.k")
	sim.user_changes_user_id(number.phone_number_id, ravi)
	sim.emit_template_status(
		number.waba_id,
		"review_request",
		"en",
		"PAUSED",
		other_info={"title": "FIRST_PAUSE", "description": "Paused for 3 hours: low quality"},
	)
	sim.emit_template_quality(number.waba_id, "festive_offer", "en", "YELLOW")
	sim.emit_account_update(number.waba_id, "ACCOUNT_VIOLATION", violation_type="SCAM")
	assert sim.wait_for_webhooks(5)
	assert set(route.answers) == {200}

	(number_change,) = collected["number_change"]
	assert (number_change.old_wa_id, number_change.new_wa_id) == (ASHA, "919800000001")
	assert number_change.new_user_id == sim.user_id_for(number.waba_id, "919800000001") != old
	# pywa 4.5 builds its typed update only for number changes (it needs "from"); a BSUID change,
	# which Meta sends without any phone number, reaches the app as the raw update.
	(user_id_change,) = [
		r["entry"][0]["changes"][0]["value"]["messages"][0]["system"]
		for r in collected["raw"]
		if r.get("entry")[0]["changes"][0]["value"].get("messages", [{}])[0].get("type") == "system"
		and r["entry"][0]["changes"][0]["value"]["messages"][0]["system"]["type"] == "user_changed_user_id"
	]
	assert user_id_change["previous_user_id"] == ravi
	assert user_id_change["user_id"] == sim.user_id_for(number.waba_id, "ravi.k") != ravi

	(paused,) = collected["template_status"]
	assert (paused.new_status, paused.template_name, paused.template_id) == (
		TemplateStatus.PAUSED,
		"review_request",
		"2220002",
	)
	assert (paused.other_info.title, paused.other_info.description) == (
		"FIRST_PAUSE",
		"Paused for 3 hours: low quality",
	)
	(quality,) = collected["template_quality"]
	assert (quality.template_name, quality.previous_quality_score, quality.new_quality_score) == (
		"festive_offer",
		QualityScoreType.GREEN,
		QualityScoreType.YELLOW,
	)
	(account,) = collected["account"]
	assert account.event == AccountUpdateEvent.ACCOUNT_VIOLATION
	assert account.violation_info.type == "SCAM"


def test_pywa_creates_lists_and_deletes_a_template(setup):
	"""pywa's own template calls, unchanged: the simulator takes its submission in Meta's shape,
	lists it PENDING, approves it on review and deletes it by name."""
	from pywa.types.templates import FooterText, ParamFormat, QuickReplyButton, Template, TemplateCategory

	sim, number, wa, transport, collected, _ = setup
	created = wa.create_template(
		Template(
			name="monsoon_portraits",
			language=TemplateLanguage.ENGLISH,
			category=TemplateCategory.MARKETING,
			parameter_format=ParamFormat.NAMED,
			components=[
				BodyText(
					"Hi {{name}}, our monsoon portrait week is open for {{who}}. Reply to book.",
					name="Asha",
					who="families",
				),
				FooterText(text="Reply to reach the studio"),
				Buttons(buttons=[QuickReplyButton(text="Stop promotions")]),
			],
		)
	)
	assert created.status == TemplateStatus.PENDING and created.id
	listed = {t.name: t for t in wa.get_templates()}
	assert listed["monsoon_portraits"].status == TemplateStatus.PENDING
	assert listed["monsoon_portraits"].id == created.id

	sim.review_template(number.waba_id, "monsoon_portraits", "en", "APPROVED")
	assert sim.wait_for_webhooks(5)
	(update,) = collected["template_status"]
	assert (update.template_name, update.new_status) == ("monsoon_portraits", TemplateStatus.APPROVED)

	with pytest.raises(errors.WhatsAppError) as duplicate:
		wa.create_template(
			Template(
				name="monsoon_portraits",
				language=TemplateLanguage.ENGLISH,
				category=TemplateCategory.MARKETING,
				components=[
					BodyText("Hi {{1}}, the monsoon week is open for families. Reply to book.", "Asha")
				],
			)
		)
	assert duplicate.value.subcode == 2388024

	assert wa.delete_template("monsoon_portraits").success
	assert "monsoon_portraits" not in {t.name for t in wa.get_templates()}
	assert set(transport.hosts) == {GRAPH_HOST}
