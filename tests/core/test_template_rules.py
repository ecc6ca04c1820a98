"""Meta's template rules, each refused on its field, and the submission body in Meta's shape."""

import dataclasses

import pytest

from marketing_engine.engine.template_library import library
from marketing_engine.engine.template_rules import (
	build_create_payload,
	build_edit_payload,
	check_template,
)
from marketing_engine.engine.templates import Button, TemplateSpec


def good(**changes) -> TemplateSpec:
	spec = TemplateSpec(
		name="monsoon_portraits",
		language="en",
		category="MARKETING",
		status="DRAFT",
		body="Hi {{1}}, our monsoon portrait week is open for {{2}}. Reply to book a slot.",
		footer="Reply to reach the studio",
		buttons=[Button(type="QUICK_REPLY", text="Stop promotions")],
		examples={"1": "Asha", "2": "families"},
	)
	return dataclasses.replace(spec, **changes)


def fields(spec: TemplateSpec, **kwargs) -> dict[str, str]:
	"""Each field with every message on it, joined."""
	found: dict[str, str] = {}
	for p in check_template(spec, **kwargs):
		found[p.field] = f"{found[p.field]} | {p.message}" if p.field in found else p.message
	return found


def test_a_good_template_passes():
	assert check_template(good()) == []


@pytest.mark.parametrize(
	("changes", "field", "words"),
	[
		({"name": "Monsoon Offer"}, "template_name", "lowercase"),
		({"name": "a" * 513}, "template_name", "512"),
		({"language": "klingon"}, "language", "languages"),
		({"category": "AUTHENTICATION"}, "category", "Marketing or Utility"),
		({"body": ""}, "body", "requires"),
		({"body": "x " * 600}, "body", "1024"),
		({"body": "{{1}}, our week is open for {{2}}. Reply to book a slot."}, "body", "start"),
		({"body": "Hi there, our portrait week is open for families: {{1}}."}, "body", "end"),
		(
			{"body": "Hi {{1}}{{2}}, our monsoon portrait week is open. Reply to book."},
			"body",
			"side by side",
		),
		({"body": "Hi {{1}}, our week is open for {{3}}. Reply to book a slot soon."}, "body", "sequence"),
		({"body": "Hi {{1}} and {{name}}, our week is open. Reply to book a slot."}, "body", "not both"),
		({"body": "Hi {{1}}, {{2}} and {{3}} here."}, "body", "more text"),
		({"footer": "x" * 61}, "footer", "60"),
		({"footer": "Thanks {{1}}"}, "footer", "variables"),
		({"header_format": "TEXT", "header_text": ""}, "header_text", "needs"),
		({"header_format": "TEXT", "header_text": "Hi {{1}} and {{2}}"}, "header_text", "one variable"),
		({"header_format": "TEXT", "header_text": "x" * 61}, "header_text", "60"),
		({"header_format": "IMAGE"}, "header_example", "image"),
		({"header_format": "LOCATION"}, "header_format", "header"),
		({"examples": {"1": "Asha"}}, "examples", "{{2}}"),
		({"examples": {"1": "Asha", "2": "two\nlines"}}, "examples", "one line"),
	],
)
def test_each_rule_is_refused_on_its_field(changes, field, words):
	found = fields(good(**changes))
	assert field in found, found
	assert words in found[field]


def test_named_variables_need_the_named_format_and_their_own_spelling():
	named = good(
		body="Hi {{name}}, our monsoon week is open for {{who}}. Reply to book.",
		examples={"name": "Asha", "who": "you"},
	)
	assert "Named" in fields(named)["body"]
	assert check_template(dataclasses.replace(named, parameter_format="NAMED")) == []
	bad = dataclasses.replace(
		named, parameter_format="NAMED", body="Hi {{Name}}, our monsoon week is open. Reply."
	)
	assert "lowercase" in fields(bad)["body"]


@pytest.mark.parametrize(
	("buttons", "words"),
	[
		([Button("URL", f"Site {i}", url="https://studio.example") for i in range(3)], "URL buttons"),
		([Button("PHONE_NUMBER", "Call", phone_number="+919820010001")] * 2, "phone number buttons"),
		([Button("QUICK_REPLY", f"Q{i}") for i in range(11)], "at most 10"),
		(
			[
				Button("QUICK_REPLY", "Yes"),
				Button("URL", "Site", url="https://s.example"),
				Button("QUICK_REPLY", "No"),
			],
			"together",
		),
		([Button("QUICK_REPLY", "x" * 26)], "25"),
		([Button("QUICK_REPLY", "")], "text"),
		([Button("URL", "Site", url="studio.example/book")], "https://"),
		([Button("URL", "Site", url="https://s.example/{{1}}/book")], "very end"),
		([Button("PHONE_NUMBER", "Call", phone_number="98200")], "international"),
		([Button("COPY_CODE", "")], "example code"),
		([Button("COPY_CODE", "", example="X" * 16)], "15"),
		([Button("FLOW", "Open")], "choose"),
	],
)
def test_button_rules(buttons, words):
	spec = good(buttons=buttons)
	found = fields(spec)
	assert "buttons" in found, found
	assert words in found["buttons"]


def test_a_url_variable_needs_its_example():
	spec = good(
		parameter_format="NAMED",
		body="Hi {{name}}, our monsoon portrait week is open. Tap below to book.",
		buttons=[Button("URL", "Book", url="https://studio.example/r/{{link}}")],
		examples={"name": "Asha"},
	)
	assert "{{link}}" in fields(spec)["examples"]
	assert check_template(dataclasses.replace(spec, examples={"name": "Asha", "link": "Xq3k"})) == []


def test_create_payload_is_metas_shape():
	spec = good(
		header_format="IMAGE",
		header_handle="4::aGFuZGxl",
		buttons=[
			Button("URL", "Book", url="https://studio.example/book?c={{1}}"),
			Button("COPY_CODE", "", example="MONSOON20"),
			Button("QUICK_REPLY", "Stop promotions"),
		],
		examples={"1": "Asha", "2": "families"},
	)
	payload = build_create_payload(spec)
	assert payload["name"] == "monsoon_portraits"
	assert payload["category"] == "MARKETING"
	assert "parameter_format" not in payload
	components = {c["type"]: c for c in payload["components"]}
	assert components["HEADER"] == {
		"type": "HEADER",
		"format": "IMAGE",
		"example": {"header_handle": ["4::aGFuZGxl"]},
	}
	assert components["BODY"]["example"] == {"body_text": [["Asha", "families"]]}
	assert components["FOOTER"] == {"type": "FOOTER", "text": "Reply to reach the studio"}
	buttons = components["BUTTONS"]["buttons"]
	assert buttons[1] == {"type": "COPY_CODE", "example": "MONSOON20"}
	assert buttons[2] == {"type": "QUICK_REPLY", "text": "Stop promotions"}
	assert build_edit_payload(spec) == {
		"components": payload["components"],
		"parameter_format": "POSITIONAL",
	}
	rejected = dataclasses.replace(spec, status="REJECTED", category="UTILITY")
	assert build_edit_payload(rejected)["category"] == "UTILITY"


def test_named_payload_carries_the_named_examples():
	spec = good(
		parameter_format="NAMED",
		body="Hi {{name}}, our monsoon week is open for {{who}}. Reply to book.",
		examples={"name": "Asha", "who": "families"},
	)
	payload = build_create_payload(spec)
	assert payload["parameter_format"] == "NAMED"
	body = next(c for c in payload["components"] if c["type"] == "BODY")
	assert body["example"] == {
		"body_text_named_params": [
			{"param_name": "name", "example": "Asha"},
			{"param_name": "who", "example": "families"},
		]
	}


def test_copy_code_round_trips_through_metas_listing():
	spec = good(buttons=[Button("COPY_CODE", "", example="BDAY15")])
	again = TemplateSpec.from_meta(spec.to_meta())
	assert again.buttons[0].example == "BDAY15"


def test_every_library_draft_meets_the_rules_but_its_picture():
	for draft in library("https://studio.example"):
		problems = {p.field for p in check_template(draft.spec)}
		assert problems <= {"header_example"}, (draft.key, problems)
		assert check_template(draft.spec, has_header_example=True) == [], draft.key
