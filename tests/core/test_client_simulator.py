"""The Cloud API client against the Graph API simulator, over real HTTP on 127.0.0.1."""

import threading
import time

import pytest

from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.simulator import GraphAPISimulator, Outcome, sandbox_templates
from marketing_engine.engine.templates import MediaHeader, TemplateSpec
from marketing_engine.engine.webhook import StatusUpdate, parse, signature_matches

from .conftest import make_number

BOOKING = {"1": "Asha", "2": "SO-0001", "3": "1 Dec 2026", "4": "₹25,000"}


def client_for(sim, number, **kw):
	return CloudAPIClient(
		number.access_token, number.phone_number_id, number.waba_id, base_url=sim.base_url, **kw
	)


def spec(name):
	return next(t for t in sandbox_templates() if t.name == name)


def statuses(receiver) -> list[StatusUpdate]:
	return [e for p in receiver.requests for e in parse(p[1]) if isinstance(e, StatusUpdate)]


def test_send_returns_wamid_and_signed_status_webhooks_follow(simulator, number, receiver):
	client = client_for(simulator, number)
	result = client.send_template(
		spec("booking_confirmation"), "+919876543210", BOOKING, callback_data="WAM-42"
	)
	assert result.message_id.startswith("wamid.") and result.wa_id == "919876543210"
	assert result.message_status == "accepted"
	assert simulator.wait_for_webhooks(5)
	for headers, raw in receiver.requests:
		assert signature_matches(raw, headers["X-Hub-Signature-256"], number.app_secret)
		assert not signature_matches(raw, headers["X-Hub-Signature-256"], "wrong")
	updates = statuses(receiver)
	assert sorted(u.status for u in updates) == ["delivered", "read", "sent"]
	assert {u.message_id for u in updates} == {result.message_id}
	assert {u.callback_data for u in updates} == {"WAM-42"}
	(sent,) = simulator.sent
	assert sent.payload["template"]["components"][0]["parameters"][1]["text"] == "SO-0001"


def test_failed_outcome_arrives_as_failed_status(simulator, number, receiver):
	simulator.outcomes["919876543211"] = Outcome(131026, "Message undeliverable")
	client_for(simulator, number).send_template(spec("booking_confirmation"), "+919876543211", BOOKING)
	assert simulator.wait_for_webhooks(5)
	failed = [u for u in statuses(receiver) if u.status == "failed"]
	assert len(failed) == 1
	error = errors.from_webhook_error(failed[0].errors[0])
	assert isinstance(error, errors.RecipientError) and error.code == 131026


def test_media_header_by_link_and_by_upload(simulator, number):
	client = client_for(simulator, number)
	values = {"name": "Asha", "offer": "20% off", "campaign": "diwali"}
	client.send_template(
		spec("festive_offer"), "+919876543210", values, MediaHeader("image", link="https://x/y.jpg")
	)
	media_id = client.upload_media(b"\x89PNG fake image", "image/png", "offer.png")
	assert media_id in simulator.media
	client.send_template(
		spec("festive_offer"), "+919876543210", values, MediaHeader("image", media_id=media_id)
	)
	with pytest.raises(errors.MetaError) as e:
		client.send_template(
			spec("festive_offer"), "+919876543210", values, MediaHeader("image", media_id="404")
		)
	assert e.value.code == 131053 and e.value.action is errors.Action.FAIL_MESSAGE
	assert len(simulator.sent) == 2


def test_expired_token_stops_the_run(simulator, number):
	simulator.expired_tokens.add(number.access_token)
	client = client_for(simulator, number)
	with pytest.raises(errors.AccessTokenError) as e:
		client.send_template(spec("booking_confirmation"), "+919876543210", BOOKING)
	assert e.value.code == 190 and e.value.action is errors.Action.STOP_RUN and e.value.http_status == 401
	with pytest.raises(errors.AccessTokenError):
		client.get_health()
	assert simulator.sent == []


def test_template_errors_stop_the_run(simulator, number):
	client = client_for(simulator, number)
	with pytest.raises(errors.TemplateError) as e:
		client.send_payload(
			{
				"messaging_product": "whatsapp",
				"to": "919876543210",
				"type": "template",
				"template": {"name": "nope", "language": {"code": "en"}},
			}
		)
	assert e.value.code == 132001
	wrong_count = TemplateSpec(name="booking_confirmation", language="en", body="Hi {{1}}")
	with pytest.raises(errors.TemplateError) as e:
		client.send_template(wrong_count, "+919876543210", {"1": "Asha"})
	assert e.value.code == 132000 and e.value.action is errors.Action.STOP_RUN
	paused = TemplateSpec(name="old_promo", language="en", body="Hi {{1}}")  # our copy thinks it is approved
	with pytest.raises(errors.TemplateError) as e:
		client.send_template(paused, "+919876543210", {"1": "Asha"})
	assert e.value.code == 132015


def test_per_user_marketing_limit_is_retried_a_day_later(simulator, number):
	simulator.outcomes["919876543212"] = Outcome(
		131049, "This message was not delivered to maintain healthy ecosystem engagement.", sync=True
	)
	with pytest.raises(errors.PerUserMarketingLimitError) as e:
		client_for(simulator, number).send_template(
			spec("review_request"), "+919876543212", {"1": "A", "2": "wedding"}
		)
	assert e.value.retry_after == 86400


def test_throughput_beyond_the_number_rate_gets_130429():
	number = make_number(rate_per_second=20)
	with GraphAPISimulator([number], {number.waba_id: sandbox_templates()}) as sim:
		client = client_for(sim, number)
		outcomes = {"sent": 0, "limited": 0}
		lock = threading.Lock()

		def burst(n):
			c = client_for(sim, number)
			for i in range(n):
				try:
					c.send_template(spec("booking_confirmation"), f"+9198765{i:05d}", BOOKING)
					key = "sent"
				except errors.RateLimitError as e:
					assert e.code == 130429 and e.retryable
					key = "limited"
				with lock:
					outcomes[key] += 1

		started = time.monotonic()
		threads = [threading.Thread(target=burst, args=(15,)) for _ in range(3)]
		for t in threads:
			t.start()
		for t in threads:
			t.join()
		if time.monotonic() - started < 1.0:  # the whole burst fell inside one second
			assert outcomes["sent"] == 20 and outcomes["limited"] == 25
		assert outcomes["limited"] > 0
		assert sim.rate_limited == outcomes["limited"]
		assert len(sim.sent) == outcomes["sent"]
		client.get_health()  # reads are not throttled


def test_pair_rate_limit_for_one_recipient(simulator, number):
	client = client_for(simulator, number)
	with pytest.raises(errors.RateLimitError) as e:
		for _ in range(60):
			client.send_template(spec("booking_confirmation"), "+919876543219", BOOKING)
	assert e.value.code == 131056


def test_list_templates_follows_pages():
	number = make_number()
	many = [TemplateSpec(name=f"t{i:03d}", language="en", body="Hi {{1}}") for i in range(230)]
	with GraphAPISimulator([number], {number.waba_id: many}) as sim:
		templates = client_for(sim, number).list_templates()
	assert [t.name for t in templates] == [t.name for t in many]


def test_list_templates_reads_categories_and_headers(simulator, number):
	templates = {t.name: t for t in client_for(simulator, number).list_templates()}
	assert templates["festive_offer"].category == "MARKETING"
	assert templates["festive_offer"].header_format == "IMAGE"
	assert templates["old_promo"].status == "PAUSED"
	assert templates["booking_confirmation"].body_variables == ["1", "2", "3", "4"]


def test_health(simulator, number):
	health = client_for(simulator, number).get_health()
	assert health.can_send and health.can_send_message == "AVAILABLE" and health.problems == []
	number.health = "BLOCKED"
	health = client_for(simulator, number).get_health()
	assert not health.can_send and "payment method" in health.problems[0]
	with pytest.raises(errors.AccountError):
		client_for(simulator, number).send_template(spec("booking_confirmation"), "+919876543210", BOOKING)


def test_unreachable_api_is_a_transport_error_that_was_not_sent():
	client = CloudAPIClient("t", "111", base_url="http://127.0.0.1:9")
	with pytest.raises(errors.TransportError) as e:
		client.send_template(spec("booking_confirmation"), "+919876543210", BOOKING)
	assert e.value.maybe_sent is False and e.value.retryable


def test_timeout_after_sending_may_have_been_sent():
	number = make_number()
	with GraphAPISimulator([number], {number.waba_id: sandbox_templates()}, latency=0.5) as sim:
		client = client_for(sim, number, timeout=(1, 0.1))
		with pytest.raises(errors.TransportError) as e:
			client.send_template(spec("booking_confirmation"), "+919876543210", BOOKING)
		assert e.value.maybe_sent is True
		time.sleep(0.6)
		assert len(sim.sent) == 1  # it did go out: only the callback data can reconcile it


def test_missing_token_is_refused_before_any_request():
	with pytest.raises(errors.AccessTokenError):
		CloudAPIClient("", "111")


def test_control_endpoints_drive_inbound_webhooks(simulator, number, receiver):
	import requests

	r = requests.post(
		f"{simulator.base_url}/_simulator/inbound",
		json={"phone_number_id": "111", "from": "919876543210", "text": "STOP"},
	)
	assert r.ok
	requests.post(
		f"{simulator.base_url}/_simulator/preferences",
		json={"phone_number_id": "111", "wa_id": "919876543210", "value": "stop"},
	)
	assert simulator.wait_for_webhooks(5)
	kinds = sorted(type(e).__name__ for p in receiver.requests for e in parse(p[1]))
	assert kinds == ["InboundMessage", "PreferenceUpdate"]
