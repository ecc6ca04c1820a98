"""Meta's Conversions API for Business Messaging, by the app's client against the simulator as
Meta over HTTP: the dataset made once per WABA, events in Meta's shape, deduplicated by event_id,
refused whole for one bad event, batches of 1,000, and which failures are worth another try."""

import calendar
import itertools
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.conversions import (
	LEAD_SUBMITTED,
	MAX_ATTEMPTS,
	MAX_EVENTS_PER_REQUEST,
	PURCHASE,
	RETRY_DELAYS,
	ConversionEvent,
	conversion_event_id,
	conversion_payload,
	is_retryable,
	retry_delay,
	why_not_sendable,
)
from marketing_engine.engine.simulator import GraphAPISimulator

from .conftest import make_number

UTC = timezone.utc
IST = timezone(timedelta(hours=5, minutes=30))
CLICK_ID = "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0N"


@pytest.fixture
def setup():
	ours = make_number()
	theirs = make_number(phone_number_id="333", waba_id="444", access_token="other-token")
	with GraphAPISimulator([ours, theirs], {ours.waba_id: [], theirs.waba_id: []}) as sim:
		client = CloudAPIClient(ours.access_token, ours.phone_number_id, ours.waba_id, base_url=sim.base_url)
		yield sim, ours, client


def lead(
	waba_id: str = "222", *, name: str = "CRM-LEAD-0001", hours_ago: float = 1, **changes
) -> ConversionEvent:
	values = dict(
		event_name=LEAD_SUBMITTED,
		event_id=conversion_event_id(LEAD_SUBMITTED, "Lead", name),
		event_time=datetime.now(UTC) - timedelta(hours=hours_ago),
		waba_id=waba_id,
		ctwa_clid=CLICK_ID,
	)
	values.update(changes)
	return ConversionEvent(**values)


def purchase(waba_id: str = "222", *, name: str = "SAL-QTN-0001", **changes) -> ConversionEvent:
	values = dict(
		event_name=PURCHASE,
		event_id=conversion_event_id(PURCHASE, "Quotation", name),
		event_time=datetime.now(UTC) - timedelta(hours=2),
		waba_id=waba_id,
		ctwa_clid=CLICK_ID,
		value=Decimal("25000.00"),
		currency="INR",
	)
	values.update(changes)
	return ConversionEvent(**values)


def post_events(sim, dataset_id: str, data, token: str = "test-token") -> requests.Response:
	return requests.post(
		f"{sim.base_url}/v23.0/{dataset_id}/events",
		json={"data": data},
		headers={"Authorization": f"Bearer {token}"},
		timeout=10,
	)


# -- the payload ----------------------------------------------------------------------------
def test_a_purchase_is_sent_in_metas_shape_and_kept_as_sent(setup):
	sim, number, client = setup
	when = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
	event = purchase(
		event_time=datetime.now(UTC).replace(microsecond=0), value=Decimal("1234.505"), currency="inr"
	)
	assert conversion_payload(event) == {
		"event_name": "Purchase",
		"event_time": int(event.event_time.timestamp()),
		"event_id": event.event_id,
		"action_source": "business_messaging",
		"messaging_channel": "whatsapp",
		"user_data": {"whatsapp_business_account_id": "222", "ctwa_clid": CLICK_ID},
		"custom_data": {"value": 1234.51, "currency": "INR"},  # rounded half up to the cent
	}
	# Unix seconds, whatever the event's own time zone.
	in_india = conversion_payload(lead(event_time=when.astimezone(IST)))["event_time"]
	assert in_india == calendar.timegm(when.utctimetuple())

	dataset_id = client.ensure_dataset()
	assert client.send_conversion_events(dataset_id, [event]) == 1
	(kept,) = sim.conversion_events(dataset_id)
	assert kept["event"] == conversion_payload(event)
	assert (kept["dataset_id"], kept["waba_id"]) == (dataset_id, number.waba_id)


def test_a_lead_has_no_custom_data():
	payload = conversion_payload(lead())
	assert payload["event_name"] == "LeadSubmitted"
	assert "custom_data" not in payload


def test_the_event_id_is_the_documents_own_short_and_url_safe():
	first = conversion_event_id(PURCHASE, "Quotation", "SAL-QTN-0001")
	assert first == conversion_event_id(PURCHASE, "Quotation", "SAL-QTN-0001")
	assert re.fullmatch(r"[A-Za-z0-9_-]{22}", first)
	others = {
		conversion_event_id(LEAD_SUBMITTED, "Quotation", "SAL-QTN-0001"),  # another event, one document
		conversion_event_id(PURCHASE, "Quotation", "SAL-QTN-0002"),
		conversion_event_id(PURCHASE, "Sales Order", "SAL-QTN-0001"),
	}
	assert first not in others and len(others) == 3


def test_a_naive_event_time_is_refused_before_it_lands_hours_off():
	with pytest.raises(ValueError, match="timezone-aware"):
		lead(event_time=datetime(2026, 12, 1, 10, 30))


# -- the dataset ----------------------------------------------------------------------------
def test_the_dataset_is_made_once_and_found_after(setup):
	sim, number, client = setup
	read = requests.get(
		f"{sim.base_url}/v23.0/{number.waba_id}/dataset",
		headers={"Authorization": f"Bearer {number.access_token}"},
		timeout=5,
	)
	assert read.json() == {"data": []}

	dataset_id = client.ensure_dataset()
	assert dataset_id.isdigit()
	assert client.ensure_dataset() == dataset_id
	another_worker = CloudAPIClient(
		number.access_token, number.phone_number_id, number.waba_id, base_url=sim.base_url
	)
	assert another_worker.ensure_dataset() == dataset_id
	# A second POST (two workers racing past the GET) answers the WABA's one dataset.
	again = requests.post(
		f"{sim.base_url}/v23.0/{number.waba_id}/dataset",
		headers={"Authorization": f"Bearer {number.access_token}"},
		timeout=5,
	)
	assert again.json() == {"id": dataset_id}
	assert sim.datasets == {number.waba_id: dataset_id}
	read = requests.get(
		f"{sim.base_url}/v23.0/{number.waba_id}/dataset",
		headers={"Authorization": f"Bearer {number.access_token}"},
		timeout=5,
	)
	assert [d["id"] for d in read.json()["data"]] == [dataset_id]


def test_the_dataset_needs_a_token_of_its_waba(setup):
	sim, number, _ = setup
	stranger = CloudAPIClient("other-token", "333", number.waba_id, base_url=sim.base_url)
	with pytest.raises(errors.AccessTokenError) as refused:
		stranger.ensure_dataset()
	assert refused.value.code == 190
	assert not is_retryable(refused.value)
	assert sim.datasets == {}


# -- deduplication --------------------------------------------------------------------------
def test_an_event_sent_twice_is_counted_each_time_and_kept_once(setup):
	sim, _, client = setup
	dataset_id = client.ensure_dataset()
	event = purchase()
	assert client.send_conversion_events(dataset_id, [event]) == 1
	# A retry after a lost answer, or the Quotation submitted again: the same event_id.
	again = purchase(event_time=event.event_time + timedelta(minutes=3))
	assert again.event_id == event.event_id
	assert client.send_conversion_events(dataset_id, [again, lead()]) == 2

	kept = requests.get(f"{sim.base_url}/_simulator/conversions", timeout=5).json()
	assert [(r["event"]["event_name"], r["event"]["event_id"]) for r in kept["data"]] == [
		("Purchase", event.event_id),
		("LeadSubmitted", lead().event_id),
	]
	assert [r["events_received"] for r in kept["requests"]] == [1, 2]
	assert kept["datasets"] == {"222": dataset_id}


# -- Meta's refusals ------------------------------------------------------------------------
def _without(path: str):
	def change(event: dict) -> None:
		*parents, last = path.split(".")
		for part in parents:
			event = event[part]
		del event[last]

	return change


def _set(path: str, value):
	def change(event: dict) -> None:
		*parents, last = path.split(".")
		for part in parents:
			event = event[part]
		event[last] = value

	return change


NOW = datetime.now(UTC)
REFUSALS = [
	("event_name", _without("event_name"), "$['data'][1]['event_name'] is required"),
	("pixel_lead", _set("event_name", "Lead"), "'Lead' is not an event for business messaging"),
	(
		"too_old",
		_set("event_time", int((NOW - timedelta(days=7, minutes=10)).timestamp())),
		"is more than 7 days in the past",
	),
	("future", _set("event_time", int((NOW + timedelta(hours=1)).timestamp())), "is in the future"),
	("no_time", _without("event_time"), "$['data'][1]['event_time'] is required"),
	("website", _set("action_source", "website"), "must be 'business_messaging'"),
	("messenger", _set("messaging_channel", "messenger"), "must be 'whatsapp'"),
	(
		"no_waba",
		_without("user_data.whatsapp_business_account_id"),
		"['whatsapp_business_account_id'] is required",
	),
	(
		"other_waba",
		_set("user_data.whatsapp_business_account_id", "444"),
		"444 is not the WhatsApp Business Account",
	),
	("no_click", _without("user_data.ctwa_clid"), "$['data'][1]['user_data']['ctwa_clid'] is required"),
	("no_value", _without("custom_data.value"), "['value'] must be a positive number for a Purchase"),
	("zero_value", _set("custom_data.value", 0), "['value'] must be a positive number for a Purchase"),
	("no_currency", _without("custom_data.currency"), "['currency'] must be a 3-letter ISO 4217 code"),
	("no_custom_data", _without("custom_data"), "$['data'][1]['custom_data'] is required for a Purchase"),
]


@pytest.mark.parametrize("change, message", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_one_bad_event_refuses_the_whole_call_with_metas_error(setup, change, message):
	sim, _, client = setup
	dataset_id = client.ensure_dataset()
	good = conversion_payload(lead())
	bad = conversion_payload(purchase())
	change(bad)
	answer = post_events(sim, dataset_id, [good, bad])
	assert answer.status_code == 400
	error = answer.json()["error"]
	assert (error["code"], error["type"], error["is_transient"]) == (100, "OAuthException", False)
	assert message in error["error_user_msg"], error["error_user_msg"]
	assert error["fbtrace_id"]
	assert sim.conversion_events() == []  # the good event went nowhere either


def test_the_pixels_lead_has_metas_invalid_event_type_subcode(setup):
	sim, _, client = setup
	event = conversion_payload(lead())
	event["event_name"] = "Lead"
	error = post_events(sim, client.ensure_dataset(), [event]).json()["error"]
	assert error["error_subcode"] == 2804066


def test_more_than_1000_events_or_none_are_refused(setup):
	sim, _, client = setup
	dataset_id = client.ensure_dataset()
	events = [conversion_payload(lead(name=f"CRM-LEAD-{i:04d}")) for i in range(1001)]
	error = post_events(sim, dataset_id, events).json()["error"]
	assert error["code"] == 100
	assert "1001 events; up to 1,000" in error["error_user_msg"]
	assert "data is required" in post_events(sim, dataset_id, None).json()["error"]["error_user_msg"]
	assert "non-empty" in post_events(sim, dataset_id, []).json()["error"]["error_user_msg"]
	assert sim.conversion_events() == []


def test_metas_form_field_of_json_is_taken_too(setup):
	sim, number, client = setup
	dataset_id = client.ensure_dataset()
	answer = requests.post(
		f"{sim.base_url}/v23.0/{dataset_id}/events",
		params={"access_token": number.access_token},  # as in Meta's examples
		data={"data": json.dumps([conversion_payload(lead())])},
		timeout=5,
	)
	assert answer.status_code == 200, answer.text
	assert answer.json()["events_received"] == 1
	assert answer.json()["messages"] == []


def test_events_for_an_unknown_dataset_or_with_another_wabas_token_are_refused(setup):
	sim, _, client = setup
	dataset_id = client.ensure_dataset()
	unknown = post_events(sim, "4999999999999999", [conversion_payload(lead())]).json()["error"]
	assert (unknown["code"], unknown["error_subcode"]) == (100, 33)
	stranger = post_events(sim, dataset_id, [conversion_payload(lead())], token="other-token")
	assert (stranger.status_code, stranger.json()["error"]["code"]) == (401, 190)


# -- failures, and which are worth another try ----------------------------------------------
def test_an_outage_at_meta_is_retryable_then_the_events_go(setup):
	sim, _, client = setup
	dataset_id = client.ensure_dataset()
	failing = requests.post(
		f"{sim.base_url}/_simulator/conversions/fail", json={"count": 2, "status": 500, "code": 2}, timeout=5
	)
	assert failing.ok
	events = [purchase(), lead()]
	for _ in range(2):
		with pytest.raises(errors.MetaError) as failed:
			client.send_conversion_events(dataset_id, events)
		assert (failed.value.http_status, failed.value.code) == (500, 2)
		assert is_retryable(failed.value)
	assert client.send_conversion_events(dataset_id, events) == 2
	assert len(sim.conversion_events()) == 2


@pytest.mark.parametrize(
	"status, code", [(500, 1), (400, 4), (400, 17), (400, 341), (400, 80007), (503, 131000)]
)
def test_unknown_errors_and_throttling_are_retryable(setup, status, code):
	sim, _, client = setup
	dataset_id = client.ensure_dataset()
	sim.fail_conversions(1, status=status, code=code)
	with pytest.raises(errors.MetaError) as failed:
		client.send_conversion_events(dataset_id, [lead()])
	assert failed.value.code == code
	assert is_retryable(failed.value)


@pytest.mark.parametrize("status, code", [(400, 100), (401, 190), (403, 200), (403, 294), (400, 10)])
def test_invalid_parameters_tokens_and_permissions_are_not_retryable(setup, status, code):
	sim, _, client = setup
	dataset_id = client.ensure_dataset()
	sim.fail_conversions(1, status=status, code=code)
	with pytest.raises(errors.MetaError) as failed:
		client.send_conversion_events(dataset_id, [lead()])
	assert (failed.value.http_status, failed.value.code) == (status, code)
	assert not is_retryable(failed.value)


def test_metas_refusal_of_an_event_is_permanent(setup):
	_, _, client = setup
	dataset_id = client.ensure_dataset()
	# Sendable by the app's own checks, but for another WABA than the dataset's.
	stray = lead(waba_id="444")
	assert why_not_sendable(stray, datetime.now(UTC)) is None
	with pytest.raises(errors.RecipientError) as refused:
		client.send_conversion_events(dataset_id, [stray])
	assert refused.value.code == 100
	assert "is not the WhatsApp Business Account" in refused.value.details
	assert not is_retryable(refused.value)


def test_an_expired_token_is_not_retryable(setup):
	sim, number, client = setup
	dataset_id = client.ensure_dataset()
	sim.expired_tokens.add(number.access_token)
	with pytest.raises(errors.AccessTokenError) as refused:
		client.send_conversion_events(dataset_id, [lead()])
	assert not is_retryable(refused.value)


def test_no_answer_is_retryable_since_meta_counts_an_event_id_once():
	with GraphAPISimulator() as gone:
		url = gone.base_url
	client = CloudAPIClient("token", "111", "222", base_url=url, timeout=(0.5, 0.5))
	with pytest.raises(errors.TransportError) as lost:
		client.send_conversion_events("4000000000000001", [lead()])
	assert is_retryable(lost.value)
	assert not is_retryable(ValueError("not a Graph API failure"))


# -- batches --------------------------------------------------------------------------------
def test_events_go_1000_a_call(setup):
	sim, _, client = setup
	dataset_id = client.ensure_dataset()
	events = [lead(name=f"CRM-LEAD-{i:04d}") for i in range(2 * MAX_EVENTS_PER_REQUEST + 500)]
	assert client.send_conversion_events(dataset_id, events) == 2500
	assert [r["events_received"] for r in sim.conversion_requests] == [1000, 1000, 500]
	assert len(sim.conversion_events(dataset_id)) == 2500
	assert client.send_conversion_events(dataset_id, []) == 0
	assert len(sim.conversion_requests) == 3  # nothing to send, no call


def test_reset_forgets_datasets_events_and_failures(setup):
	sim, _, client = setup
	client.send_conversion_events(client.ensure_dataset(), [lead()])
	sim.fail_conversions(3)
	assert requests.post(f"{sim.base_url}/_simulator/conversions/reset", timeout=5).ok
	assert (sim.datasets, sim.conversion_events(), sim.conversion_requests) == ({}, [], [])
	assert client.send_conversion_events(client.ensure_dataset(), [lead()]) == 1  # no failure left


# -- the app's own checks -------------------------------------------------------------------
NOT_SENDABLE = [
	("no_click", lead(ctwa_clid=None), "no Click-to-WhatsApp click id"),
	("blank_click", lead(ctwa_clid="  "), "no Click-to-WhatsApp click id"),
	("eight_days", lead(hours_ago=8 * 24), "Meta takes events up to 7 days old"),
	("just_past_seven", lead(hours_ago=7 * 24 + 0.1), "Meta takes events up to 7 days old"),
	("future", lead(hours_ago=-1), "is in the future"),
	("pixel_lead", lead(event_name="Lead"), "'Lead' is not an event this app reports"),
	("no_value", purchase(value=None), "needs a positive value"),
	("zero_value", purchase(value=Decimal("0.004")), "needs a positive value"),
	("negative", purchase(value=Decimal("-10")), "needs a positive value"),
	("nan", purchase(value=Decimal("NaN")), "needs a positive value"),
	("no_currency", purchase(currency=None), "3-letter ISO 4217 currency"),
	("two_letters", purchase(currency="RS"), "3-letter ISO 4217 currency"),
	("digits", purchase(currency="1NR"), "3-letter ISO 4217 currency"),
]


@pytest.mark.parametrize("event, reason", [c[1:] for c in NOT_SENDABLE], ids=[c[0] for c in NOT_SENDABLE])
def test_why_an_event_cannot_be_sent(event, reason):
	said = why_not_sendable(event, datetime.now(UTC))
	assert said and reason in said, said


def test_a_good_event_is_sendable_and_meta_agrees(setup):
	_, _, client = setup
	now = datetime.now(UTC)
	events = [
		lead(hours_ago=6 * 24),
		purchase(),
		purchase(name="SAL-QTN-0002", currency="usd", value=Decimal("0.01")),
	]
	assert [why_not_sendable(e, now) for e in events] == [None, None, None]
	assert client.send_conversion_events(client.ensure_dataset(), events) == 3


def test_retries_wait_longer_each_time_and_stop_well_inside_metas_7_days():
	delays = [retry_delay(n) for n in range(1, MAX_ATTEMPTS)]
	assert delays == list(RETRY_DELAYS)
	assert delays[0] == timedelta(minutes=1) and delays[-1] == timedelta(hours=12)
	assert all(later > earlier for earlier, later in itertools.pairwise(delays))
	assert sum(delays, timedelta()) < timedelta(days=1)
	assert retry_delay(MAX_ATTEMPTS + 3) == delays[-1]
	with pytest.raises(ValueError):
		retry_delay(0)
