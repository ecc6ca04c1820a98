import pytest

from marketing_engine.engine.simulator import sandbox_templates
from marketing_engine.engine.templates import (
	Button,
	MediaHeader,
	TemplateSpec,
	TemplateVariableError,
	build_send_payload,
	render,
	variables_in,
)


def template(name):
	return next(t for t in sandbox_templates() if t.name == name)


def test_variables_are_listed_once_in_order():
	assert variables_in("Hi {{1}}, {{2}} and {{ 1 }} again") == ["1", "2"]
	assert variables_in("Hi {{Name}}") == ["Name"]
	assert variables_in(None) == []


def test_meta_definition_round_trips():
	spec = template("festive_offer")
	again = TemplateSpec.from_meta(spec.to_meta())
	assert again.header_format == "IMAGE"
	assert again.parameter_format == "NAMED"
	assert again.body_variables == ["name", "offer"]
	assert [b.type for b in again.buttons] == ["URL", "QUICK_REPLY"]
	assert again.all_variables == ["name", "offer", "campaign"]


def test_positional_payload_has_body_parameters_in_order():
	spec = template("booking_confirmation")
	payload = build_send_payload(
		spec,
		"+919876543210",
		{"1": "Asha", "2": "SO-0001", "3": "1 Dec", "4": "₹25,000"},
		callback_data="cb-1",
	)
	assert payload["to"] == "919876543210"
	assert payload["biz_opaque_callback_data"] == "cb-1"
	(body,) = payload["template"]["components"]
	assert [p["text"] for p in body["parameters"]] == ["Asha", "SO-0001", "1 Dec", "₹25,000"]
	assert "parameter_name" not in body["parameters"][0]


def test_named_payload_with_image_header_and_url_button():
	spec = template("festive_offer")
	payload = build_send_payload(
		spec,
		"+919876543210",
		{"name": "Asha", "offer": "20% off", "campaign": "diwali-2026"},
		header=MediaHeader("image", link="https://studio.example/diwali.jpg"),
	)
	header, body, button = payload["template"]["components"]
	assert header == {
		"type": "header",
		"parameters": [{"type": "image", "image": {"link": "https://studio.example/diwali.jpg"}}],
	}
	assert body["parameters"][0] == {"type": "text", "text": "Asha", "parameter_name": "name"}
	assert button == {
		"type": "button",
		"sub_type": "url",
		"index": "0",
		"parameters": [{"type": "text", "text": "diwali-2026"}],
	}


def test_missing_values_are_named():
	spec = template("festive_offer")
	with pytest.raises(TemplateVariableError, match=r"\{\{offer\}\}, \{\{campaign\}\}"):
		build_send_payload(
			spec, "+919876543210", {"name": "Asha", "offer": "  "}, header=MediaHeader("image", link="x")
		)


def test_media_header_is_required_and_must_match():
	spec = template("festive_offer")
	values = {"name": "A", "offer": "B", "campaign": "C"}
	with pytest.raises(TemplateVariableError, match="image header"):
		build_send_payload(spec, "+919876543210", values)
	with pytest.raises(TemplateVariableError, match="not video"):
		build_send_payload(spec, "+919876543210", values, header=MediaHeader("video", link="x"))


def test_unapproved_template_is_refused():
	with pytest.raises(TemplateVariableError, match="paused"):
		build_send_payload(template("old_promo"), "+919876543210", {"1": "A"})


def test_parameters_lose_characters_meta_rejects():
	spec = TemplateSpec(name="t", language="en", body="Hi {{1}}")
	payload = build_send_payload(spec, "+919876543210", {"1": "Asha\n\tand      Ravi"})
	assert payload["template"]["components"][0]["parameters"][0]["text"] == "Asha and Ravi"


def test_render_fills_known_and_shows_unknown_variables():
	assert render("Hi {{Name}}, see {{link}}", {"Name": "Asha"}) == "Hi Asha, see {{link}}"


def test_opt_out_button_is_recognised():
	assert Button("QUICK_REPLY", "Stop promotions").is_marketing_opt_out(("STOP PROMOTIONS",))
	assert not Button("URL", "Stop promotions", url="x").is_marketing_opt_out(("STOP PROMOTIONS",))


def test_a_bsuid_is_sent_as_recipient_instead_of_to():
	"""Business-scoped user IDs: ``recipient`` takes a BSUID or parent BSUID, ``to`` a phone."""
	spec = template("booking_confirmation")
	values = {"1": "Ravi", "2": "SO-0002", "3": "2 Dec", "4": "₹9,000"}
	payload = build_send_payload(spec, "IN.1648738043044942", values, callback_data="cb-2")
	assert payload["recipient"] == "IN.1648738043044942" and "to" not in payload
	assert payload["recipient_type"] == "individual" and payload["biz_opaque_callback_data"] == "cb-2"
	parent = build_send_payload(spec, "US.ENT.11815799212886844830", values)
	assert parent["recipient"] == "US.ENT.11815799212886844830" and "to" not in parent
	by_phone = build_send_payload(spec, "+919876543210", values)
	assert by_phone["to"] == "919876543210" and "recipient" not in by_phone


def test_authentication_templates_need_a_phone_number():
	spec = TemplateSpec(name="otp", language="en", category="AUTHENTICATION", body="{{1}} is your code")
	with pytest.raises(TemplateVariableError, match="authentication"):
		build_send_payload(spec, "IN.1648738043044942", {"1": "123456"})
	assert build_send_payload(spec, "+919876543210", {"1": "123456"})["to"] == "919876543210"


def test_meta_listing_carries_examples_in_metas_shapes():
	"""Template components: positional body examples are one list in a list, named ones are
	``param_name``/``example`` pairs, media headers a ``header_handle``, URL buttons a whole URL."""
	positional = template("booking_confirmation").to_meta()
	(body, _footer) = positional["components"]
	assert body["example"] == {"body_text": [["Asha", "SO-0001", "1 Dec 2026", "₹25,000"]]}
	named = template("festive_offer").to_meta()
	header, body, buttons = named["components"]
	assert header["format"] == "IMAGE" and header["example"]["header_handle"][0].startswith("4::")
	assert body["example"] == {
		"body_text_named_params": [
			{"param_name": "name", "example": "Asha"},
			{"param_name": "offer", "example": "20% off family portraits"},
		]
	}
	assert buttons["buttons"][0]["example"] == ["https://studio.example/book?utm_source=diwali-2026"]
	assert "example" not in buttons["buttons"][1]  # a quick reply has nothing to fill


def test_text_header_examples_and_missing_examples():
	spec = TemplateSpec(
		name="t",
		language="en",
		header_format="TEXT",
		header_text="Order {{1}}",
		body="Hi {{1}}, {{2}}",
		examples={"1": "SO-1"},
	)
	header, body = spec.to_meta()["components"]
	assert header["example"] == {"header_text": ["SO-1"]}
	assert "example" not in body  # {{2}} has no example, so Meta's shape cannot be written


def test_examples_are_read_back_from_any_letter_case():
	listing = {
		"name": "t",
		"language": "en_US",
		"status": "approved",
		"category": "marketing",
		"parameter_format": "named",
		"components": [
			{
				"type": "header",
				"format": "text",
				"text": "Hi {{name}}",
				"example": {"header_text_named_params": [{"param_name": "name", "example": "Asha"}]},
			},
			{
				"type": "Body",
				"text": "Code {{code}}",
				"example": {"body_text_named_params": [{"param_name": "code", "example": "X1"}]},
			},
			{
				"type": "buttons",
				"buttons": [
					{
						"type": "url",
						"text": "Go",
						"url": "https://x.example/{{1}}",
						"example": ["https://x.example/abc"],
					}
				],
			},
		],
	}
	spec = TemplateSpec.from_meta(listing)
	assert (spec.header_format, spec.status, spec.category, spec.parameter_format) == (
		"TEXT",
		"APPROVED",
		"MARKETING",
		"NAMED",
	)
	assert spec.body == "Code {{code}}" and spec.buttons[0].type == "URL"
	assert spec.examples == {"name": "Asha", "code": "X1", "1": "abc"}
	flat = TemplateSpec.from_meta(
		{
			"name": "p",
			"components": [{"type": "BODY", "text": "{{1}} {{2}}", "example": {"body_text": ["a", "b"]}}],
		}
	)
	assert flat.examples == {"1": "a", "2": "b"}


def test_examples_round_trip():
	for spec in sandbox_templates():
		again = TemplateSpec.from_meta(spec.to_meta())
		assert again.examples == spec.examples, spec.name
		assert again.header_handle == spec.header_handle, spec.name
