import json

import pytest

from marketing_engine.engine.webhook import (
	InboundMessage,
	PreferenceUpdate,
	StatusUpdate,
	WebhookError,
	parse,
	sign,
	signature_matches,
	verify_subscription,
)

SECRET = "app-secret"


def delivery(field, value, waba="222"):
	return json.dumps(
		{
			"object": "whatsapp_business_account",
			"entry": [{"id": waba, "changes": [{"value": value, "field": field}]}],
		}
	).encode()


STATUS_BODY = delivery(
	"messages",
	{
		"messaging_product": "whatsapp",
		"metadata": {"display_phone_number": "918000000009", "phone_number_id": "111"},
		"statuses": [
			{
				"id": "wamid.A",
				"status": "failed",
				"timestamp": "1764000000",
				"recipient_id": "919876543210",
				"biz_opaque_callback_data": "WAM-0001",
				"errors": [{"code": 131026, "title": "Message undeliverable"}],
			},
			{
				"id": "wamid.B",
				"status": "read",
				"timestamp": "1764000001",
				"recipient_id": "919876543211",
				"pricing": {"billable": True, "pricing_model": "PMP", "category": "marketing"},
			},
		],
	},
)


def test_signature_accepts_the_exact_body_only():
	header = sign(STATUS_BODY, SECRET)
	assert header.startswith("sha256=") and len(header) == 71
	assert signature_matches(STATUS_BODY, header, SECRET)
	assert not signature_matches(STATUS_BODY + b" ", header, SECRET)
	assert not signature_matches(STATUS_BODY, header, "other-secret")
	assert not signature_matches(STATUS_BODY, None, SECRET)
	assert not signature_matches(STATUS_BODY, header.removeprefix("sha256="), SECRET)
	assert not signature_matches(STATUS_BODY, header, "")


def test_subscription_handshake():
	params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "12345"}
	assert verify_subscription(params, ["x", "tok"]) == "12345"
	with pytest.raises(WebhookError) as e:
		verify_subscription({**params, "hub.verify_token": "bad"}, ["tok"])
	assert e.value.status == 403
	with pytest.raises(WebhookError):
		verify_subscription({**params, "hub.verify_token": ""}, [""])
	with pytest.raises(WebhookError):
		verify_subscription({**params, "hub.mode": "unsubscribe"}, ["tok"])


def test_statuses_are_parsed_with_errors_pricing_and_callback_data():
	failed, read = parse(STATUS_BODY)
	assert isinstance(failed, StatusUpdate)
	assert (failed.message_id, failed.status, failed.callback_data) == ("wamid.A", "failed", "WAM-0001")
	assert failed.errors[0]["code"] == 131026
	assert failed.phone_number_id == "111"
	assert read.pricing_category == "marketing" and read.billable is True
	assert read.timestamp.timestamp() == 1764000001


def test_inbound_text_and_button_and_preferences():
	body = delivery(
		"messages",
		{
			"metadata": {"phone_number_id": "111"},
			"contacts": [{"wa_id": "919876543210", "profile": {"name": "Asha"}}],
			"messages": [
				{
					"from": "919876543210",
					"id": "wamid.IN1",
					"timestamp": "1764000000",
					"type": "text",
					"text": {"body": "STOP"},
				},
				{
					"from": "919876543210",
					"id": "wamid.IN2",
					"timestamp": "1764000001",
					"type": "button",
					"button": {"text": "Stop promotions", "payload": "Stop promotions"},
					"context": {"from": "918000000009", "id": "wamid.OUT"},
				},
			],
		},
	)
	text, button = parse(body)
	assert isinstance(text, InboundMessage) and text.text == "STOP" and text.profile_name == "Asha"
	assert button.button_payload == "Stop promotions" and button.context_message_id == "wamid.OUT"
	(pref,) = parse(
		delivery(
			"user_preferences",
			{
				"metadata": {"phone_number_id": "111"},
				"user_preferences": [
					{
						"wa_id": "919876543210",
						"category": "marketing_messages",
						"value": "stop",
						"timestamp": 1764000000,
					}
				],
			},
		)
	)
	assert isinstance(pref, PreferenceUpdate) and pref.value == "stop"


@pytest.mark.parametrize(
	"raw",
	[
		b"not json",
		b"\xff\xfe",
		b"[]",
		json.dumps({"object": "page", "entry": []}).encode(),
		json.dumps({"object": "whatsapp_business_account"}).encode(),
		delivery("messages", {"statuses": [{"status": "sent"}]}),  # no id
		delivery("messages", {"messages": [{"id": "x", "timestamp": "nope", "from": "1"}]}),
		delivery("messages", {"statuses": "sent"}),
	],
)
def test_malformed_payloads_are_refused(raw):
	with pytest.raises(WebhookError) as e:
		parse(raw)
	assert e.value.status == 400


def test_unknown_fields_are_ignored():
	assert parse(delivery("account_update", {"event": "VERIFIED_ACCOUNT"})) == []
