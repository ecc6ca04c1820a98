"""The Cloud API client against the Graph API simulator, over real HTTP on 127.0.0.1."""

import threading
import time

import pytest

from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.identity import bsuid_region, is_bsuid
from marketing_engine.engine.simulator import GraphAPISimulator, Outcome, sandbox_templates
from marketing_engine.engine.templates import MediaHeader, TemplateSpec, build_send_payload
from marketing_engine.engine.webhook import (
	AccountUpdate,
	IdentityChange,
	InboundMessage,
	PhoneQualityChange,
	PreferenceUpdate,
	StatusUpdate,
	TemplateQualityChange,
	TemplateStatusChange,
	parse,
	signature_matches,
)

from .conftest import WebhookReceiver, make_number

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


# -- business-scoped user IDs -----------------------------------------------------------------
def events(receiver, kind=None) -> list:
	parsed = [e for _, raw in receiver.requests for e in parse(raw)]
	return [e for e in parsed if kind is None or isinstance(e, kind)]


def raw_values(receiver) -> list[dict]:
	return [
		change["value"] for p in receiver.payloads() for entry in p["entry"] for change in entry["changes"]
	]


def test_every_phone_gets_a_stable_bsuid_per_waba():
	first = make_number()
	other = make_number(phone_number_id="112", waba_id="223", access_token="t2", app_secret="s2")
	with GraphAPISimulator([first, other]) as sim:
		indian = sim.user_id_for("222", "+919876543210")
		assert is_bsuid(indian) and bsuid_region(indian) == "IN"
		assert sim.user_id_for("222", "919876543210") == indian  # same user, with or without +
		assert sim.user_id_for("223", "919876543210") != indian  # another business, another ID
		assert bsuid_region(sim.user_id_for("222", "14155550123")) == "US"
		assert sim.user_id_for("222", "919876543211") != indian
	with GraphAPISimulator([make_number()]) as again:
		assert again.user_id_for("222", "919876543210") == indian  # derived, not random


def test_phone_sends_report_the_bsuid_in_statuses(simulator, number, receiver):
	client = client_for(simulator, number)
	result = client.send_template(spec("booking_confirmation"), "+919876543210", BOOKING, callback_data="cb")
	assert (result.wa_id, result.user_id) == ("919876543210", None)  # Meta names the input it got
	assert simulator.wait_for_webhooks(5)
	bsuid = simulator.user_id_for(number.waba_id, "919876543210")
	updates = statuses(receiver)
	assert sorted(u.status for u in updates) == ["delivered", "read", "sent"]
	assert {(u.recipient_id, u.recipient_user_id, u.username) for u in updates} == {
		("919876543210", bsuid, None)
	}
	for value in raw_values(receiver):
		assert value["contacts"] == [{"wa_id": "919876543210", "user_id": bsuid}]
	(sent,) = simulator.sent
	assert (sent.to, sent.recipient, sent.user_id) == ("919876543210", None, bsuid)


def test_a_username_user_is_reached_by_bsuid_and_never_shows_a_phone(simulator, number, receiver):
	bsuid = simulator.add_username_user("ravi.k", region="IN", phone="+919812345678", profile_name="Ravi")
	assert bsuid_region(bsuid) == "IN"
	result = client_for(simulator, number).send_template(
		spec("review_request"), bsuid, {"1": "Ravi", "2": "a shoot"}
	)
	assert (result.wa_id, result.user_id) == (None, bsuid)
	simulator.user_sends_text(number.phone_number_id, bsuid, "STOP")
	simulator.user_sets_marketing_preference(number.phone_number_id, "ravi.k", "stop")
	assert simulator.wait_for_webhooks(5)
	(sent,) = simulator.sent
	assert (sent.to, sent.recipient, sent.user_id) == (None, bsuid, bsuid)
	assert "to" not in sent.payload and sent.payload["recipient"] == bsuid
	# The number is known to Meta but shared nowhere: not in statuses, messages or preferences.
	assert all("919812345678" not in raw.decode() for _, raw in receiver.requests)
	updates = {u.status: u for u in statuses(receiver)}
	assert set(updates) == {"sent", "delivered", "read"}
	assert {u.recipient_user_id for u in updates.values()} == {bsuid}
	assert {u.recipient_id for u in updates.values()} == {None}
	assert (updates["sent"].username, updates["delivered"].username, updates["read"].username) == (
		None,
		"ravi.k",
		"ravi.k",
	)
	(stop,) = events(receiver, InboundMessage)
	assert (stop.text, stop.wa_id, stop.user_id, stop.username, stop.profile_name) == (
		"STOP",
		None,
		bsuid,
		"ravi.k",
		"Ravi",
	)
	(preference,) = events(receiver, PreferenceUpdate)
	assert (preference.value, preference.wa_id, preference.user_id, preference.username) == (
		"stop",
		None,
		bsuid,
		"ravi.k",
	)


def test_failed_sends_follow_meta_contacts_rules(simulator, number, receiver):
	simulator.outcomes["919876543211"] = Outcome(131026, "Message undeliverable")
	client = client_for(simulator, number)
	client.send_template(spec("booking_confirmation"), "+919876543211", BOOKING)
	unknown = "IN.1234567890123456"  # well formed, but nobody in this WABA
	result = client.send_template(spec("booking_confirmation"), unknown, BOOKING)
	assert result.user_id == unknown
	assert simulator.wait_for_webhooks(5)
	failed = {u.recipient_id or u.recipient_user_id: u for u in statuses(receiver) if u.status == "failed"}
	assert set(failed) == {"919876543211", unknown}
	# A failed send to a phone names only the phone; one to a BSUID only the BSUID.
	assert failed["919876543211"].recipient_user_id is None
	assert failed[unknown].recipient_id is None and failed[unknown].errors[0]["code"] == 131026
	failed_values = [v for v in raw_values(receiver) if v["statuses"][0]["status"] == "failed"]
	assert len(failed_values) == 2 and all("contacts" not in v for v in failed_values)


def test_bad_recipients_are_refused(simulator, number):
	client = client_for(simulator, number)
	base = {
		"messaging_product": "whatsapp",
		"type": "template",
		"template": {"name": "x", "language": {"code": "en"}},
	}
	with pytest.raises(errors.MetaError) as e:
		client.send_payload({**base, "recipient": "919876543210"})
	assert e.value.code == 100 and "recipient" in str(e.value)
	with pytest.raises(errors.MetaError) as e:
		client.send_payload(base)
	assert e.value.code == 100
	assert simulator.sent == []


def test_to_wins_over_recipient(simulator, number):
	payload = build_send_payload(spec("booking_confirmation"), "+919876543210", BOOKING)
	result = client_for(simulator, number).send_payload({**payload, "recipient": "IN.1234567890123456"})
	assert result.wa_id == "919876543210" and result.user_id is None
	(sent,) = simulator.sent
	assert sent.to == "919876543210" and sent.user_id == simulator.user_id_for(number.waba_id, "919876543210")


def test_bsuid_sends_of_authentication_templates_get_131062():
	number = make_number()
	otp = TemplateSpec(name="otp", language="en", category="AUTHENTICATION", body="{{1}} is your code")
	with GraphAPISimulator([number], {number.waba_id: [otp]}) as sim:
		bsuid = sim.user_id_for(number.waba_id, "919876543210")
		payload = {
			"messaging_product": "whatsapp",
			"recipient": bsuid,
			"type": "template",
			"template": {
				"name": "otp",
				"language": {"code": "en"},
				"components": [{"type": "body", "parameters": [{"type": "text", "text": "123456"}]}],
			},
		}
		with pytest.raises(errors.MetaError) as e:
			client_for(sim, number).send_payload(payload)
		assert e.value.code == 131062
		assert (
			client_for(sim, number).send_payload({**payload, "recipient": None, "to": "919876543210"}).wa_id
		)


def test_number_change_gives_a_new_bsuid(simulator, number, receiver):
	old = simulator.user_id_for(number.waba_id, "919876543210")
	simulator.user_changes_number(number.phone_number_id, "+919876543210", "+919800000001")
	assert simulator.wait_for_webhooks(5)
	(change,) = events(receiver, IdentityChange)
	assert change.kind == "user_changed_number"
	assert (change.wa_id, change.new_wa_id, change.previous_user_id) == ("919876543210", "919800000001", old)
	assert change.user_id == simulator.user_id_for(number.waba_id, "919800000001") != old
	(value,) = raw_values(receiver)
	assert "contacts" not in value  # system messages come without contacts
	# The old BSUID reaches nobody any more.
	client_for(simulator, number).send_template(spec("booking_confirmation"), old, BOOKING)
	assert simulator.wait_for_webhooks(5)
	assert sorted(u.status for u in statuses(receiver)) == ["failed", "sent"]


def test_bsuid_change_and_a_username_users_number_change(simulator, number, receiver):
	old = simulator.user_id_for(number.waba_id, "919876543210")
	simulator.user_changes_user_id(number.phone_number_id, old)
	hidden = simulator.add_username_user("asha.k", phone="919811111111")
	simulator.user_changes_number(number.phone_number_id, "919811111111", "919822222222")
	assert simulator.wait_for_webhooks(5)
	changes = {e.previous_user_id: e for e in events(receiver, IdentityChange)}
	assert len(changes) == 2
	first, second = changes[old], changes[hidden]
	assert (first.kind, first.wa_id, first.previous_user_id) == ("user_changed_user_id", None, old)
	assert first.user_id == simulator.user_id_for(number.waba_id, "919876543210") != old
	# A user who shares no number is told about as a BSUID change, with no number in it.
	assert (second.kind, second.wa_id, second.new_wa_id, second.previous_user_id) == (
		"user_changed_user_id",
		None,
		None,
		hidden,
	)
	assert all("919822222222" not in raw.decode() for _, raw in receiver.requests)


# -- account health ---------------------------------------------------------------------------
def test_template_status_events_change_what_the_simulator_accepts(simulator, number, receiver):
	client = client_for(simulator, number)
	simulator.emit_template_status(
		number.waba_id,
		"review_request",
		"en",
		"PAUSED",
		other_info={"title": "FIRST_PAUSE", "description": "Paused for 3 hours: low quality"},
	)
	with pytest.raises(errors.TemplateError) as e:
		client.send_template(spec("review_request"), "+919876543210", {"1": "A", "2": "b"})
	assert e.value.code == 132015
	listed = {t.name: t for t in client.list_templates()}
	assert listed["review_request"].status == "PAUSED"
	simulator.emit_template_status(number.waba_id, "review_request", "en", "REINSTATED")
	simulator.emit_template_status(number.waba_id, "old_promo", "en", "DISABLED")
	assert client.send_template(spec("review_request"), "+919876543210", {"1": "A", "2": "b"}).message_id
	assert simulator.wait_for_webhooks(5)
	# Two delivery threads may swap webhooks; Meta does not promise an order either.
	changes = {(e.template_name, e.event): e for e in events(receiver, TemplateStatusChange)}
	assert len(changes) == 3
	paused = changes[("review_request", "PAUSED")]
	reinstated = changes[("review_request", "REINSTATED")]
	disabled = changes[("old_promo", "DISABLED")]
	assert (paused.event, paused.template_name, paused.reason, paused.waba_id) == (
		"PAUSED",
		"review_request",
		"NONE",
		number.waba_id,
	)
	assert paused.detail == "FIRST_PAUSE: Paused for 3 hours: low quality"
	assert paused.template_id == listed["review_request"].meta_id and paused.timestamp is not None
	assert reinstated.event == "REINSTATED" and disabled.detail.startswith("Disabled on ")
	statuses_now = {t.name: t.status for t in client.list_templates()}
	assert (statuses_now["review_request"], statuses_now["old_promo"]) == ("APPROVED", "DISABLED")


def test_template_quality_phone_quality_and_account_update(simulator, number, receiver):
	simulator.emit_template_quality(number.waba_id, "festive_offer", "en", "RED")
	simulator.emit_phone_quality(
		number.phone_number_id, "FLAGGED", current_limit="TIER_250", old_limit="TIER_1K"
	)
	simulator.emit_account_update(
		number.waba_id,
		"ACCOUNT_RESTRICTION",
		restrictions=[{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": "2026-12-01"}],
	)
	assert simulator.wait_for_webhooks(5)
	(quality,) = events(receiver, TemplateQualityChange)
	assert (quality.template_name, quality.previous_score, quality.new_score) == (
		"festive_offer",
		"GREEN",
		"RED",
	)
	(phone,) = events(receiver, PhoneQualityChange)
	assert (phone.event, phone.current_limit, phone.old_limit, phone.display_phone_number) == (
		"FLAGGED",
		"TIER_250",
		"TIER_1K",
		"918000000009",
	)
	(account,) = events(receiver, AccountUpdate)
	assert account.restrictions[0]["restriction_type"] == "RESTRICTED_BIZ_INITIATED_MESSAGING"
	assert account.waba_id == number.waba_id
	_, body = simulator.handle_templates(number.waba_id, number.access_token, {"name": ["festive"]})
	assert body["data"][0]["quality_score"]["score"] == "RED"
	assert client_for(simulator, number).get_health().quality_rating == "RED"


def test_account_webhooks_reach_each_webhook_url_of_the_waba_once(receiver):
	other = WebhookReceiver()
	try:
		numbers = [
			make_number(webhook_url=receiver.url),
			make_number(phone_number_id="112", webhook_url=receiver.url),  # same WABA, same URL
			make_number(phone_number_id="113", webhook_url=other.url),  # same WABA, another URL
			make_number(phone_number_id="114", waba_id="999", webhook_url=other.url),  # another WABA
		]
		with GraphAPISimulator(numbers) as sim:
			sim.emit_account_update("222", "VERIFIED_ACCOUNT")
			assert sim.wait_for_webhooks(5)
		assert len(receiver.requests) == 1 and len(other.requests) == 1
		for headers, raw in [*receiver.requests, *other.requests]:
			assert signature_matches(raw, headers["X-Hub-Signature-256"], "test-secret")
			(update,) = parse(raw)
			assert update.waba_id == "222" and update.event == "VERIFIED_ACCOUNT"
	finally:
		other.server.shutdown()
		other.server.server_close()


# -- what Meta accepts and returns ------------------------------------------------------------
def test_component_types_in_any_letter_case(simulator, number):
	values = {"name": "Asha", "offer": "20% off", "campaign": "diwali"}
	payload = build_send_payload(
		spec("festive_offer"), "+919876543210", values, MediaHeader("image", link="https://x/y.jpg")
	)
	header, body, button = payload["template"]["components"]
	shouted = {
		**payload,
		"template": {
			**payload["template"],
			"components": [
				{
					**header,
					"type": "HEADER",
					"parameters": [{"type": "IMAGE", "image": {"link": "https://x/y.jpg"}}],
				},
				{**body, "type": "Body", "parameters": [{**p, "type": "TEXT"} for p in body["parameters"]]},
				{**button, "type": "BUTTON", "sub_type": "URL", "index": 0},
			],
		},
	}
	client = client_for(simulator, number)
	assert client.send_payload(shouted).message_id
	without_body = {
		**shouted,
		"template": {**shouted["template"], "components": shouted["template"]["components"][::2]},
	}
	with pytest.raises(errors.TemplateError) as e:
		client.send_payload(without_body)
	assert e.value.code == 132000
	without_button = {
		**shouted,
		"template": {**shouted["template"], "components": shouted["template"]["components"][:2]},
	}
	with pytest.raises(errors.TemplateError):
		client.send_payload(without_button)
	assert len(simulator.sent) == 1


def test_template_list_pages_with_cursors_and_a_summary():
	import requests

	number = make_number()
	with GraphAPISimulator([number], {number.waba_id: sandbox_templates()}) as sim:
		url = f"{sim.base_url}/v23.0/{number.waba_id}/message_templates"
		auth = {"Authorization": f"Bearer {number.access_token}"}
		first = requests.get(url, params={"limit": 2, "summary": "total_count"}, headers=auth).json()
		assert [t["name"] for t in first["data"]] == ["booking_confirmation", "festive_offer"]
		assert first["summary"] == {"total_count": 6}
		cursors = first["paging"]["cursors"]
		assert not cursors["after"].isdigit()  # opaque, as Meta's are
		second = requests.get(first["paging"]["next"], headers=auth).json()
		assert [t["name"] for t in second["data"]] == ["review_request", "showreel_video"]
		back = requests.get(second["paging"]["previous"], headers=auth).json()
		assert [t["name"] for t in back["data"]] == ["booking_confirmation", "festive_offer"]
		last = requests.get(
			url, params={"limit": 2, "after": second["paging"]["cursors"]["after"]}, headers=auth
		).json()
		assert [t["name"] for t in last["data"]] == ["old_promo", "diwali_offer"] and "next" not in last[
			"paging"
		]
		marketing = requests.get(
			url,
			params={
				"category": "MARKETING",
				"status": "APPROVED",
				"fields": "name,status",
				"summary": "total_count,message_template_count",
			},
			headers=auth,
		).json()
		assert [t["name"] for t in marketing["data"]] == [
			"festive_offer",
			"review_request",
			"showreel_video",
			"diwali_offer",
		]
		assert set(marketing["data"][0]) == {"id", "name", "status"}
		assert marketing["summary"] == {"total_count": 4, "message_template_count": 6}


def test_listed_templates_carry_their_examples(simulator, number):
	listed = {t.name: t for t in client_for(simulator, number).list_templates()}
	assert listed["booking_confirmation"].examples == {
		"1": "Asha",
		"2": "SO-0001",
		"3": "1 Dec 2026",
		"4": "₹25,000",
	}
	assert listed["festive_offer"].examples["campaign"] == "diwali-2026"
	assert listed["showreel_video"].header_handle.startswith("4::")


def test_control_endpoints_for_users_identity_and_health(simulator, number, receiver):
	import requests

	control = f"{simulator.base_url}/_simulator"
	created = requests.post(f"{control}/users", json={"username": "meera", "region": "US"}).json()
	bsuid = created["user_id"]
	assert bsuid_region(bsuid) == "US" and created["waba_id"] == number.waba_id
	assert requests.post(f"{control}/inbound", json={"user_id": bsuid, "text": "Hello"}).ok
	assert requests.post(f"{control}/preferences", json={"user_id": bsuid, "value": "stop"}).ok
	assert requests.post(
		f"{control}/identity_change",
		json={"kind": "user_changed_number", "wa_id": "919876543210", "new_wa_id": "919876500000"},
	).ok
	assert requests.post(
		f"{control}/identity_change", json={"kind": "user_changed_user_id", "user_id": bsuid}
	).ok
	assert requests.post(f"{control}/template_status", json={"name": "old_promo", "event": "REINSTATED"}).ok
	assert requests.post(f"{control}/template_quality", json={"name": "old_promo", "new_score": "YELLOW"}).ok
	assert requests.post(
		f"{control}/phone_quality", json={"event": "UPGRADE", "current_limit": "TIER_10K"}
	).ok
	assert requests.post(
		f"{control}/account_update", json={"event": "ACCOUNT_VIOLATION", "violation_type": "SPAM"}
	).ok
	unknown = requests.post(f"{control}/inbound", json={"user_id": "IN.1000000000000001", "text": "x"})
	assert unknown.status_code == 400 and "No user" in unknown.json()["error"]
	assert simulator.wait_for_webhooks(5)
	kinds = [type(e).__name__ for e in events(receiver)]
	assert sorted(kinds) == sorted(
		[
			"InboundMessage",
			"PreferenceUpdate",
			"IdentityChange",
			"IdentityChange",
			"TemplateStatusChange",
			"TemplateQualityChange",
			"PhoneQualityChange",
			"AccountUpdate",
		]
	)
	inbound = events(receiver, InboundMessage)[0]
	assert (inbound.wa_id, inbound.user_id, inbound.username) == (None, bsuid, "meera")
	assert events(receiver, AccountUpdate)[0].violation_type == "SPAM"
	messages = requests.get(f"{control}/messages").json()["data"]
	assert messages == []
	client_for(simulator, number).send_template(spec("review_request"), "919876543210", {"1": "A", "2": "b"})
	(ledger,) = requests.get(f"{control}/messages").json()["data"]
	assert (ledger["to"], ledger["recipient"]) == ("919876543210", None)


def test_the_user_directory_knows_who_is_who(simulator, number):
	first = simulator.add_username_user("meera")
	assert simulator.add_username_user("meera") == first  # registering again is the same person
	assert simulator.user_id_for(number.waba_id, "meera") == first
	with pytest.raises(KeyError):
		simulator.user_sends_text(number.phone_number_id, "nobody.here", "Hi")
	with pytest.raises(KeyError):
		simulator.user_id_for(number.waba_id, "IN.1000000000000001")
	# A known user who adopts a username stops sharing their number but keeps their BSUID.
	asha = simulator.user_id_for(number.waba_id, "919876543210")
	assert simulator.add_username_user("asha.k", phone="+919876543210") == asha


def test_a_bad_template_cursor_is_refused(simulator, number):
	status, body = simulator.handle_templates(number.waba_id, number.access_token, {"after": ["%%%"]})
	assert status == 400 and body["error"]["code"] == 100


def test_webhooks_carry_the_extra_headers_asked_for(receiver):
	number = make_number(webhook_url=receiver.url)
	with GraphAPISimulator([number], webhook_headers={"X-Frappe-Site-Name": "studio.localhost"}) as sim:
		sim.user_sends_text(number.phone_number_id, "919800000001", "hello")
		assert sim.wait_for_webhooks(5)
	headers, raw = receiver.requests[0]
	assert headers["X-Frappe-Site-Name"] == "studio.localhost"
	assert signature_matches(raw, headers["X-Hub-Signature-256"], number.app_secret)
