"""Templates made through the API, by the app's client against the simulator as Meta: submitted
for review, refused with Meta's error shapes, reviewed by webhook, edited within Meta's limits,
deleted, and media examples through the Resumable Upload API."""

import dataclasses
import json
import time

import pytest
import requests

from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.simulator import SANDBOX_APP, GraphAPISimulator
from marketing_engine.engine.template_rules import TemplateRulesError, build_create_payload
from marketing_engine.engine.templates import Button, TemplateSpec

from .conftest import make_number

PNG = bytes.fromhex(
	"89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
	"0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def monsoon(**changes) -> TemplateSpec:
	spec = TemplateSpec(
		name="monsoon_portraits",
		language="en",
		category="MARKETING",
		status="DRAFT",
		body="Hi {{1}}, our monsoon portrait week is open for {{2}}. Reply to book a slot.",
		buttons=[Button("QUICK_REPLY", "Stop promotions")],
		examples={"1": "Asha", "2": "families"},
	)
	return dataclasses.replace(spec, **changes)


@pytest.fixture
def setup(receiver):
	number = make_number(webhook_url=receiver.url)
	with GraphAPISimulator([number], {number.waba_id: []}, status_delay=0.01) as sim:
		client = CloudAPIClient(
			number.access_token, number.phone_number_id, number.waba_id, base_url=sim.base_url
		)
		yield sim, number, client, receiver


def listed(client) -> dict[str, TemplateSpec]:
	return {(t.name, t.language): t for t in client.list_templates()}


def status_events(receiver) -> list[dict]:
	return [
		change["value"]
		for payload in receiver.payloads()
		for entry in payload["entry"]
		for change in entry["changes"]
		if change["field"] == "message_template_status_update"
	]


def test_submitted_pending_then_approved_by_webhook(setup):
	sim, number, client, receiver = setup
	created = client.create_template(monsoon())
	assert (created.status, created.category) == ("PENDING", "MARKETING")
	at_meta = listed(client)[("monsoon_portraits", "en")]
	assert (at_meta.status, at_meta.meta_id) == ("PENDING", created.meta_id)
	assert at_meta.examples == {"1": "Asha", "2": "families"}

	sim.review_template(number.waba_id, "monsoon_portraits", "en", "REJECTED", "INVALID_FORMAT")
	assert sim.wait_for_webhooks(5)
	(event,) = status_events(receiver)
	assert (event["event"], event["reason"], str(event["message_template_id"])) == (
		"REJECTED",
		"INVALID_FORMAT",
		created.meta_id,
	)
	assert listed(client)[("monsoon_portraits", "en")].status == "REJECTED"


def test_review_after_a_delay_approves_on_its_own(receiver):
	number = make_number(webhook_url=receiver.url)
	with GraphAPISimulator([number], {number.waba_id: []}, review_delay=0.2) as sim:
		client = CloudAPIClient(
			number.access_token, number.phone_number_id, number.waba_id, base_url=sim.base_url
		)
		client.create_template(monsoon())
		deadline = time.time() + 5
		while not status_events(receiver) and time.time() < deadline:
			time.sleep(0.05)
		assert [e["event"] for e in status_events(receiver)] == ["APPROVED"]


def test_the_client_refuses_what_meta_would_before_sending(setup):
	_sim, _, client, _ = setup
	with pytest.raises(TemplateRulesError) as refused:
		client.create_template(monsoon(name="Monsoon Offer"))
	assert refused.value.problems[0].field == "template_name"
	assert listed(client) == {}


def test_meta_s_own_refusal_comes_back_with_its_subcode_and_words(setup):
	sim, number, client, _ = setup
	bad = build_create_payload(monsoon(body="{{1}}, our monsoon portrait week is open for {{2}}. Reply now."))
	answer = requests.post(
		f"{sim.base_url}/v23.0/{number.waba_id}/message_templates",
		json=bad,
		headers={"Authorization": f"Bearer {number.access_token}"},
		timeout=5,
	)
	error = answer.json()["error"]
	assert (answer.status_code, error["code"], error["error_subcode"]) == (400, 100, 2388299)
	assert "start with a variable" in error["error_user_msg"]

	client.create_template(monsoon())
	with pytest.raises(errors.TemplateRejectedError) as duplicate:
		client.create_template(monsoon())
	assert duplicate.value.subcode == 2388024 and "already" in duplicate.value.reason


def test_edits_follow_meta_s_limits(setup):
	sim, number, client, _ = setup
	created = client.create_template(monsoon())
	pending = dataclasses.replace(monsoon(), status="PENDING", footer="Reply to reach the studio")
	with pytest.raises(errors.TemplateRejectedError):
		client.edit_template(created.meta_id, pending)  # still in review

	sim.review_template(number.waba_id, "monsoon_portraits", "en", "APPROVED")
	approved = dataclasses.replace(pending, status="APPROVED")
	assert client.edit_template(created.meta_id, approved)
	at_meta = listed(client)[("monsoon_portraits", "en")]
	assert (at_meta.status, at_meta.footer) == ("PENDING", "Reply to reach the studio")

	sim.review_template(number.waba_id, "monsoon_portraits", "en", "APPROVED")
	with pytest.raises(errors.TemplateRejectedError) as limited:
		client.edit_template(created.meta_id, dataclasses.replace(approved, footer="Reply to us"))
	assert "24 hours" in limited.value.reason
	assert listed(client)[("monsoon_portraits", "en")].footer == "Reply to reach the studio"

	sim.edits.clear()
	with pytest.raises(errors.TemplateRejectedError) as category:
		client.edit_template(
			created.meta_id, dataclasses.replace(approved, category="UTILITY", status="REJECTED")
		)
	assert "category" in category.value.reason.lower()


def test_deleted_by_id_and_its_name_held_for_30_days(setup):
	_sim, _number, client, _ = setup
	english = client.create_template(monsoon())
	client.create_template(monsoon(language="hi"))
	assert client.delete_template("monsoon_portraits", english.meta_id)
	assert set(listed(client)) == {("monsoon_portraits", "hi")}
	with pytest.raises(errors.TemplateRejectedError) as held:
		client.create_template(monsoon())
	assert held.value.subcode == 2388023
	with pytest.raises(errors.TemplateRejectedError):
		client.delete_template("no_such_template")


def test_a_media_example_goes_through_the_resumable_upload(setup):
	sim, _number, client, _ = setup
	handle = client.upload_example(SANDBOX_APP.app_id, PNG, "image/png", "diwali.png")
	assert handle.startswith("4::") and handle in sim.handles
	created = client.create_template(monsoon(header_format="IMAGE", header_handle=handle))
	at_meta = listed(client)[("monsoon_portraits", "en")]
	assert at_meta.header_handle == handle and at_meta.meta_id == created.meta_id

	with pytest.raises(errors.TemplateRejectedError):
		client.upload_example(SANDBOX_APP.app_id, b"GIF89a", "image/gif", "x.gif")


def test_an_upload_cut_off_resumes_from_meta_s_offset(setup):
	sim, number, _, _ = setup
	opened = requests.post(
		f"{sim.base_url}/v23.0/{SANDBOX_APP.app_id}/uploads",
		params={"file_name": "a.png", "file_length": len(PNG), "file_type": "image/png"},
		headers={"Authorization": f"Bearer {number.access_token}"},
		timeout=5,
	).json()
	session = opened["id"]
	auth = {"Authorization": f"OAuth {number.access_token}"}
	half = len(PNG) // 2
	first = requests.post(
		f"{sim.base_url}/v23.0/{session}", data=PNG[:half], headers={**auth, "file_offset": "0"}, timeout=5
	).json()
	assert first["file_offset"] == half
	status = requests.get(f"{sim.base_url}/v23.0/{session}", headers=auth, timeout=5).json()
	assert status["file_offset"] == half
	wrong = requests.post(
		f"{sim.base_url}/v23.0/{session}", data=PNG[half:], headers={**auth, "file_offset": "0"}, timeout=5
	)
	assert wrong.status_code == 400
	done = requests.post(
		f"{sim.base_url}/v23.0/{session}",
		data=PNG[half:],
		headers={**auth, "file_offset": str(half)},
		timeout=5,
	).json()
	assert done["h"] in sim.handles


def test_category_moved_by_meta_is_a_webhook(setup):
	sim, number, client, receiver = setup
	client.create_template(monsoon())
	sim.emit_template_category(number.waba_id, "monsoon_portraits", "en", "UTILITY")
	assert sim.wait_for_webhooks(5)
	(value,) = [
		c["value"]
		for p in receiver.payloads()
		for e in p["entry"]
		for c in e["changes"]
		if c["field"] == "template_category_update"
	]
	assert (value["previous_category"], value["new_category"]) == ("MARKETING", "UTILITY")
	assert json.dumps(value)  # plain JSON, as Meta posts it
	assert listed(client)[("monsoon_portraits", "en")].category == "UTILITY"
