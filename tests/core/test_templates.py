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
