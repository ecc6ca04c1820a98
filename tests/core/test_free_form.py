"""Free-form text replies inside Meta's 24-hour customer service window."""

from datetime import datetime, timedelta, timezone

import pytest

from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.simulator import GraphAPISimulator, sandbox_templates
from marketing_engine.engine.templates import (
	TEXT_MAX_LENGTH,
	TextMessageError,
	build_send_payload,
	build_text_payload,
)
from marketing_engine.engine.webhook import StatusUpdate, parse
from marketing_engine.engine.window import SERVICE_WINDOW, service_window_closes_at, service_window_open

from .conftest import make_number

ASHA = "919876543210"
IST = timezone(timedelta(hours=5, minutes=30))


def client_for(sim, number):
	return CloudAPIClient(number.access_token, number.phone_number_id, number.waba_id, base_url=sim.base_url)


def statuses(receiver) -> list[StatusUpdate]:
	return [e for _, raw in receiver.requests for e in parse(raw) if isinstance(e, StatusUpdate)]


# -- the payload ------------------------------------------------------------------------------
def test_text_payload_has_metas_shape():
	payload = build_text_payload("+919876543210", "Your album is ready!", callback_data="WAM-7")
	assert payload == {
		"messaging_product": "whatsapp",
		"recipient_type": "individual",
		"to": ASHA,
		"type": "text",
		"text": {"preview_url": False, "body": "Your album is ready!"},
		"biz_opaque_callback_data": "WAM-7",
	}


def test_a_reply_quotes_the_message_it_answers():
	payload = build_text_payload(ASHA, "Yes, Saturday works", reply_to="wamid.ABC")
	assert payload["context"] == {"message_id": "wamid.ABC"}
	assert "context" not in build_text_payload(ASHA, "Hello")


def test_a_bsuid_goes_in_recipient_as_for_templates():
	payload = build_text_payload("IN.1648738043044942", "Hello")
	assert payload["recipient"] == "IN.1648738043044942" and "to" not in payload
	template = next(t for t in sandbox_templates() if t.name == "review_request")
	template_payload = build_send_payload(template, "IN.1648738043044942", {"1": "A", "2": "b"})
	assert {k: template_payload[k] for k in ("messaging_product", "recipient_type", "recipient")} == {
		k: payload[k] for k in ("messaging_product", "recipient_type", "recipient")
	}


def test_link_previews_follow_the_text_unless_asked():
	assert build_text_payload(ASHA, "Pick your photos: https://studio.example/a/1")["text"]["preview_url"]
	assert not build_text_payload(ASHA, "See you at 5")["text"]["preview_url"]
	assert not build_text_payload(ASHA, "http://x.example", preview_url=False)["text"]["preview_url"]


def test_empty_and_overlong_texts_are_refused():
	for empty in ("", "   \n\t "):
		with pytest.raises(TextMessageError, match="empty"):
			build_text_payload(ASHA, empty)
	assert build_text_payload(ASHA, "x" * TEXT_MAX_LENGTH)["text"]["body"] == "x" * 4096
	with pytest.raises(TextMessageError, match=r"4097 characters.*at most 4096"):
		build_text_payload(ASHA, "x" * 4097)
	assert issubclass(TextMessageError, ValueError)


# -- the window -------------------------------------------------------------------------------
def test_the_window_lasts_24_hours_from_the_last_inbound_message():
	wrote = datetime(2026, 3, 1, 21, 30)
	assert service_window_closes_at(wrote) == datetime(2026, 3, 2, 21, 30)
	assert SERVICE_WINDOW == timedelta(hours=24)
	assert service_window_open(wrote, wrote)
	assert service_window_open(wrote, wrote + timedelta(hours=23, minutes=59, seconds=59))
	assert not service_window_open(wrote, wrote + timedelta(hours=24))  # closed on the dot
	assert not service_window_open(None, wrote)


def test_the_window_keeps_the_time_zone_it_is_given():
	wrote = datetime(2026, 3, 1, 23, 0, tzinfo=IST)
	assert service_window_closes_at(wrote) == datetime(2026, 3, 2, 23, 0, tzinfo=IST)
	# The same instant in UTC is still inside the window.
	assert service_window_open(wrote, datetime(2026, 3, 2, 17, 29, tzinfo=timezone.utc))
	assert not service_window_open(wrote, datetime(2026, 3, 2, 17, 30, tzinfo=timezone.utc))


# -- the simulator ----------------------------------------------------------------------------
def test_a_text_inside_the_window_is_sent_with_free_service_statuses(simulator, number, receiver):
	inbound = simulator.user_sends_text(number.phone_number_id, ASHA, "Are my photos ready?")
	result = client_for(simulator, number).send_text(
		"+" + ASHA, "Yes! Here they are.", callback_data="WAM-9", reply_to=inbound
	)
	assert result.message_id.startswith("wamid.") and result.wa_id == ASHA
	(sent,) = simulator.sent
	assert (sent.template, sent.language, sent.message_type, sent.text) == (
		None,
		None,
		"text",
		"Yes! Here they are.",
	)
	assert sent.payload["context"] == {"message_id": inbound}
	assert simulator.wait_for_webhooks(5)
	updates = [u for u in statuses(receiver) if u.message_id == result.message_id]
	assert sorted(u.status for u in updates) == ["delivered", "read", "sent"]
	assert {(u.pricing_category, u.billable, u.callback_data) for u in updates} == {
		("service", False, "WAM-9")
	}


def test_a_text_to_someone_who_never_wrote_gets_131047(simulator, number):
	with pytest.raises(errors.RecipientError) as e:
		client_for(simulator, number).send_text(ASHA, "Hello")
	assert e.value.code == 131047 and e.value.action is errors.Action.FAIL_MESSAGE
	assert "24 hours" in str(e.value)
	assert simulator.sent == []


def test_the_window_closes_24_hours_after_the_last_message_and_reopens_with_a_new_one(simulator, number):
	client = client_for(simulator, number)
	simulator.user_taps_button(number.phone_number_id, ASHA, "Book now")  # a tap opens it too
	opened = simulator.last_inbound_at(number.phone_number_id, ASHA)
	assert opened is not None and datetime.now(timezone.utc) - opened < timedelta(minutes=1)
	simulator.set_last_inbound(number.phone_number_id, ASHA, opened - timedelta(hours=23, minutes=59))
	assert client.send_text(ASHA, "Still open").message_id
	simulator.set_last_inbound(number.phone_number_id, ASHA, opened - timedelta(hours=24, seconds=1))
	with pytest.raises(errors.RecipientError) as e:
		client.send_text(ASHA, "Too late")
	assert e.value.code == 131047
	simulator.user_sends_text(number.phone_number_id, ASHA, "Hi again")
	assert client.send_text(ASHA, "Welcome back").message_id
	assert [m.text for m in simulator.sent] == ["Still open", "Welcome back"]


def test_templates_go_out_whatever_the_window(simulator, number):
	simulator.set_last_inbound(number.phone_number_id, ASHA, datetime(2020, 1, 1))
	template = next(t for t in sandbox_templates() if t.name == "review_request")
	assert client_for(simulator, number).send_template(template, ASHA, {"1": "A", "2": "b"}).message_id
	(sent,) = simulator.sent
	assert (sent.message_type, sent.template, sent.text) == ("template", "review_request", None)


def test_a_text_to_a_bsuid_inside_the_window(simulator, number, receiver):
	bsuid = simulator.add_username_user("meera.photos", region="IN")
	simulator.user_sends_text(number.phone_number_id, bsuid, "Price for a pre-wedding shoot?")
	result = client_for(simulator, number).send_text(bsuid, "It starts at ₹25,000.")
	assert (result.user_id, result.wa_id) == (bsuid, None)
	(sent,) = simulator.sent
	assert (sent.to, sent.recipient, sent.user_id) == (None, bsuid, bsuid)
	assert simulator.wait_for_webhooks(5)
	updates = [u for u in statuses(receiver) if u.message_id == result.message_id]
	assert {u.recipient_user_id for u in updates} == {bsuid}
	assert {u.recipient_id for u in updates} == {None}


def test_the_window_is_per_business_number(receiver):
	first = make_number(webhook_url=receiver.url)
	second = make_number(phone_number_id="112", webhook_url=receiver.url)
	with GraphAPISimulator([first, second], {first.waba_id: sandbox_templates()}) as sim:
		sim.user_sends_text(first.phone_number_id, ASHA, "Hi")
		assert client_for(sim, first).send_text(ASHA, "Hello from the studio").message_id
		with pytest.raises(errors.RecipientError) as e:
			client_for(sim, second).send_text(ASHA, "Hello from the other number")
		assert e.value.code == 131047
		# Seen from the BSUID, the user is the same person with the same window.
		bsuid = sim.user_id_for(first.waba_id, ASHA)
		assert sim.last_inbound_at(first.phone_number_id, bsuid) is not None
		assert sim.last_inbound_at(second.phone_number_id, bsuid) is None


def test_other_free_form_types_follow_the_window(simulator, number):
	client = client_for(simulator, number)
	image = {
		"messaging_product": "whatsapp",
		"to": ASHA,
		"type": "image",
		"image": {"link": "https://studio.example/proof.jpg"},
	}
	with pytest.raises(errors.RecipientError) as e:
		client.send_payload(image)
	assert e.value.code == 131047
	simulator.user_sends_text(number.phone_number_id, ASHA, "Send a proof please")
	assert client.send_payload(image).message_id
	(sent,) = simulator.sent
	assert (sent.message_type, sent.template, sent.text) == ("image", None, None)
	with pytest.raises(errors.MetaError) as e:
		client.send_payload({**image, "image": None})
	assert e.value.code == 100


def test_the_simulator_refuses_texts_meta_would_refuse(simulator, number):
	simulator.user_sends_text(number.phone_number_id, ASHA, "Hi")
	client = client_for(simulator, number)
	base = {"messaging_product": "whatsapp", "to": ASHA, "type": "text"}
	for text in ({"body": "x" * 4097}, {"body": "  "}, {}):
		with pytest.raises(errors.MetaError) as e:
			client.send_payload({**base, "text": text})
		assert e.value.code == 100
	# Meta's default type is text.
	assert client.send_payload({"messaging_product": "whatsapp", "to": ASHA, "text": {"body": "Hi"}})
	assert [m.text for m in simulator.sent] == ["Hi"]
