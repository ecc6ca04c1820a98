"""Embedded Signup's server side against the simulator as Meta: the code exchanged once, the WABA
found from the token when the page named none, the webhooks pointed at this site only after
Meta's handshake, the number registered with a PIN, and what Meta says about billing."""

import pytest
import requests

from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.signup import (
	MetaApp,
	SessionInfo,
	SessionInfoError,
	SignupError,
	complete_onboarding,
	onboard,
	payment_state_of,
)
from marketing_engine.engine.simulator import SANDBOX_APP, GraphAPISimulator, sandbox_templates

PIN = "246810"


@pytest.fixture
def sim():
	with GraphAPISimulator(status_delay=0.01) as simulator:
		yield simulator


@pytest.fixture
def app(sim):
	return MetaApp(SANDBOX_APP.app_id, SANDBOX_APP.app_secret, base_url=sim.base_url, api_version="v24.0")


def popup(sim, **kwargs) -> dict:
	"""What Meta's popup hands the page, through the sandbox's stand-in."""
	response = requests.post(
		f"{sim.base_url}/_simulator/signup",
		json={"business_name": "Lotus Studio", "display_phone_number": "+91 98200 10001", **kwargs},
		timeout=5,
	)
	assert response.ok, response.text
	return response.json()


def test_a_finished_signup_connects_subscribes_and_registers(sim, app, receiver):
	shared = popup(sim)
	number = sim.numbers[shared["phone_number_id"]]
	assert number.platform_type == "NOT_APPLICABLE"  # not on the Cloud API yet

	done = onboard(
		app,
		shared["code"],
		shared["waba_id"],
		shared["phone_number_id"],
		PIN,
		callback_url=receiver.url,
		verify_token=receiver.verify_token,
	)
	assert (done.waba_id, done.phone_number_id) == (shared["waba_id"], shared["phone_number_id"])
	assert done.access_token == number.access_token and done.access_token.startswith("EAAG")
	assert (done.display_phone_number, done.verified_name) == ("+91 98200 10001", "Lotus Studio")
	assert (done.quality_rating, done.messaging_limit, done.currency) == ("GREEN", "TIER_1K", "INR")
	assert done.registered_now
	assert (number.platform_type, number.status, number.pin) == ("CLOUD_API", "CONNECTED", PIN)
	# A Tech Provider is not shown the payment method, and Meta reports no payment problem.
	assert done.payment.can_bill is None

	client = CloudAPIClient(done.access_token, done.phone_number_id, done.waba_id, base_url=sim.base_url)
	(subscribed,) = client.subscribed_apps()
	assert (subscribed.app_id, subscribed.override_callback_uri) == (SANDBOX_APP.app_id, receiver.url)
	# The webhooks now go to this site, signed with the platform app's secret.
	assert number.webhook_url == receiver.url and number.app_secret == SANDBOX_APP.app_secret


def test_the_code_is_spent_once(sim, app, receiver):
	shared = popup(sim)
	args = (shared["waba_id"], shared["phone_number_id"], PIN)
	onboard(app, shared["code"], *args, callback_url=receiver.url, verify_token=receiver.verify_token)
	with pytest.raises(SignupError) as again:
		onboard(app, shared["code"], *args, callback_url=receiver.url, verify_token=receiver.verify_token)
	assert again.value.step == "code"
	assert "used" in again.value.message
	assert again.value.access_token is None


def test_a_wrong_app_secret_is_refused_at_the_exchange(sim, app):
	shared = popup(sim)
	wrong = MetaApp(app.app_id, "not-the-secret", base_url=sim.base_url)
	with pytest.raises(SignupError) as refused:
		onboard(wrong, shared["code"], shared["waba_id"], shared["phone_number_id"], PIN)
	assert refused.value.step == "code" and "client secret" in refused.value.message
	assert "not-the-secret" not in str(refused.value)  # the query's secrets never reach a message


def test_the_waba_comes_from_the_token_when_the_page_named_none(sim, app, receiver):
	shared = popup(sim)
	done = onboard(
		app,
		shared["code"],
		None,
		shared["phone_number_id"],
		PIN,
		callback_url=receiver.url,
		verify_token=receiver.verify_token,
	)
	assert done.waba_id == shared["waba_id"]


def test_a_callback_that_fails_meta_s_handshake_stops_the_signup(sim, app, receiver):
	shared = popup(sim)
	with pytest.raises(SignupError) as refused:
		onboard(
			app,
			shared["code"],
			shared["waba_id"],
			shared["phone_number_id"],
			PIN,
			callback_url=receiver.url,
			verify_token="another-token",
		)
	assert refused.value.step == "subscribe"
	assert "Callback verification failed" in refused.value.message
	assert refused.value.access_token  # the code is spent; the token lets the studio finish
	assert sim.numbers[shared["phone_number_id"]].webhook_url is None


def test_a_failed_registration_is_finished_with_the_kept_token(sim, app, receiver):
	shared = popup(sim)
	requests.post(
		f"{sim.base_url}/_simulator/fail",
		json={"call": "register", "code": 133005, "message": "Two step verification PIN Mismatch"},
		timeout=5,
	).raise_for_status()
	kwargs = {"callback_url": receiver.url, "verify_token": receiver.verify_token}
	with pytest.raises(SignupError) as failed:
		onboard(app, shared["code"], shared["waba_id"], shared["phone_number_id"], PIN, **kwargs)
	assert failed.value.step == "register" and "PIN Mismatch" in failed.value.message
	assert sim.numbers[shared["phone_number_id"]].platform_type == "NOT_APPLICABLE"

	done = complete_onboarding(
		app, failed.value.access_token, shared["waba_id"], shared["phone_number_id"], PIN, **kwargs
	)
	assert done.registered_now and sim.numbers[shared["phone_number_id"]].platform_type == "CLOUD_API"


def test_a_pin_that_is_not_six_digits_is_refused_before_the_code_is_spent(sim, app):
	shared = popup(sim)
	with pytest.raises(SignupError) as refused:
		onboard(app, shared["code"], shared["waba_id"], shared["phone_number_id"], "12345")
	assert refused.value.step == "register"
	assert shared["code"] in sim.codes  # still usable


def test_a_waba_without_a_payment_method_is_told_and_refused_paid_messages(sim, app, receiver):
	shared = popup(sim, payment_method=False)
	done = onboard(
		app,
		shared["code"],
		shared["waba_id"],
		shared["phone_number_id"],
		PIN,
		callback_url=receiver.url,
		verify_token=receiver.verify_token,
	)
	assert done.payment.can_bill is False
	assert "payment method" in done.payment.reason

	review = next(t for t in sandbox_templates() if t.name == "review_request")
	sim.templates[shared["waba_id"]] = [review]
	client = CloudAPIClient(done.access_token, done.phone_number_id, done.waba_id, base_url=sim.base_url)
	with pytest.raises(errors.AccountError) as refused:
		client.send_template(review, "919820012345", {"1": "Asha", "2": "your wedding shoot"})
	assert refused.value.code == errors.PAYMENT_REFUSED


def test_payment_state_reads_the_funding_field_when_meta_shows_it():
	assert payment_state_of({}, {"primary_funding_id": "123"}).can_bill is True
	assert payment_state_of({}, {"primary_funding_id": None}).can_bill is False
	assert payment_state_of({}, {}).can_bill is None


@pytest.mark.parametrize(
	("message", "words"),
	[
		("not json", "not JSON"),
		({"type": "OTHER"}, "not Meta's signup"),
		(
			{"type": "WA_EMBEDDED_SIGNUP", "event": "FINISH", "data": {"phone_number_id": "1"}},
			"WhatsApp Business Account",
		),
		({"type": "WA_EMBEDDED_SIGNUP", "event": "ERROR", "data": {}}, "without saying"),
	],
)
def test_session_info_that_is_not_a_usable_signup_is_refused(message, words):
	with pytest.raises(SessionInfoError) as refused:
		SessionInfo.from_message(message)
	assert words in str(refused.value)


def test_session_info_tells_finish_cancel_and_error_apart():
	finished = SessionInfo.from_message(
		{"type": "WA_EMBEDDED_SIGNUP", "event": "FINISH", "data": {"waba_id": "2", "phone_number_id": "1"}}
	)
	assert finished.finished and finished.registers_number
	cancelled = SessionInfo.from_message(
		{"type": "WA_EMBEDDED_SIGNUP", "event": "CANCEL", "data": {"current_step": "PHONE_NUMBER_SETUP"}}
	)
	assert cancelled.cancelled and cancelled.current_step == "PHONE_NUMBER_SETUP"
	failed = SessionInfo.from_message(
		{
			"type": "WA_EMBEDDED_SIGNUP",
			"event": "CANCEL",
			"data": {
				"error_message": "Your verified name violates WhatsApp guidelines",
				"error_id": "524126",
			},
		}
	)
	assert failed.failed and not failed.cancelled and failed.error_id == "524126"
