from datetime import datetime, time, timedelta, timezone

import pytest

from marketing_engine.engine.consent import (
	ConsentState,
	Intent,
	intent_of_button,
	intent_of_preference,
	intent_of_text,
	keywords,
)
from marketing_engine.engine.routing import AccountState, Block, decide, quiet_hours_end

SYSTEM = AccountState("Platform", "System", health_status="AVAILABLE")
BUSINESS = AccountState("Studio", "Business", health_status="AVAILABLE")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
OPTED_IN = ConsentState(opted_in=True, opted_in_at=NOW - timedelta(days=3))


def route(category, **kw):
	kw.setdefault("system_account", SYSTEM)
	kw.setdefault("business_account", BUSINESS)
	return decide(category, **kw)


def test_transactional_goes_through_the_system_account_without_consent():
	for category in ("UTILITY", "utility", "AUTHENTICATION"):
		r = route(category, consent=None)
		assert r.allowed and r.account == "Platform"


def test_marketing_goes_through_the_business_account_with_consent():
	r = route("MARKETING", consent=OPTED_IN)
	assert r.allowed and r.account == "Studio"


@pytest.mark.parametrize(
	"kwargs, block, words",
	[
		({"system_account": None}, Block.NO_SYSTEM_ACCOUNT, "System WhatsApp account"),
		(
			{"system_account": AccountState("P", "System", enabled=False)},
			Block.SYSTEM_ACCOUNT_UNUSABLE,
			"disabled",
		),
		(
			{"system_account": AccountState("P", "System", has_credentials=False)},
			Block.SYSTEM_ACCOUNT_UNUSABLE,
			"no credentials",
		),
		(
			{"system_account": AccountState("P", "System", health_status="BLOCKED")},
			Block.SYSTEM_ACCOUNT_UNUSABLE,
			"blocked",
		),
	],
)
def test_transactional_blocks(kwargs, block, words):
	r = route("UTILITY", **kwargs)
	assert not r.allowed and r.block is block and words in r.reason


@pytest.mark.parametrize(
	"kwargs, block, words",
	[
		({"business_account": None}, Block.NO_BUSINESS_ACCOUNT, "No WhatsApp Business account"),
		(
			{"business_account": AccountState("S", "Business", enabled=False)},
			Block.NO_BUSINESS_ACCOUNT,
			"Marketing Settings",
		),
		(
			{"business_account": AccountState("S", "Business", has_credentials=False)},
			Block.BUSINESS_ACCOUNT_NOT_CONNECTED,
			"access token",
		),
		(
			{"business_account": AccountState("S", "Business", health_status=None)},
			Block.BUSINESS_ACCOUNT_UNHEALTHY,
			"never checked",
		),
		(
			{"business_account": AccountState("S", "Business", health_status="BLOCKED")},
			Block.BUSINESS_ACCOUNT_UNHEALTHY,
			"blocked",
		),
		(
			{
				"business_account": AccountState(
					"S", "Business", health_status="AVAILABLE", billing_problem="No payment method."
				)
			},
			Block.BUSINESS_ACCOUNT_CANNOT_BILL,
			"cannot bill",
		),
		({"consent": None}, Block.NO_CONSENT, "no recorded"),
		({"consent": ConsentState(opted_in=False)}, Block.NO_CONSENT, "no recorded"),
		(
			{
				"consent": ConsentState(
					opted_in=True, opted_in_at=NOW - timedelta(days=3), opted_out_at=NOW - timedelta(days=1)
				)
			},
			Block.OPTED_OUT,
			"opted out",
		),
	],
)
def test_marketing_blocks_each_with_its_reason(kwargs, block, words):
	kwargs.setdefault("consent", OPTED_IN)
	r = route("MARKETING", **kwargs)
	assert not r.allowed and r.account is None
	assert r.block is block and words in r.reason


def test_marketing_never_falls_back_to_the_system_account():
	r = route("MARKETING", consent=OPTED_IN, business_account=None)
	assert r.account is None


def test_unknown_category_is_blocked():
	assert route("PROMO").block is Block.UNKNOWN_CATEGORY


def test_opt_in_after_opt_out_counts():
	state = ConsentState(opted_in=True, opted_in_at=NOW, opted_out_at=NOW - timedelta(days=10))
	assert state.may_receive_marketing
	assert route("MARKETING", consent=state).allowed


def test_quiet_hours_defer_marketing_until_they_end():
	night = datetime(2026, 11, 25, 22, 30, tzinfo=timezone.utc)
	r = route("MARKETING", consent=OPTED_IN, now=night, quiet_hours=(time(21), time(9)))
	assert r.block is Block.QUIET_HOURS
	assert r.not_before == datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
	assert route("UTILITY", now=night, quiet_hours=(time(21), time(9))).allowed


@pytest.mark.parametrize(
	"at, expected",
	[
		(time(8, 59), datetime(2026, 11, 25, 9, 0)),
		(time(9, 0), None),
		(time(20, 59), None),
		(time(21, 0), datetime(2026, 11, 26, 9, 0)),
	],
)
def test_quiet_hours_wrap_midnight(at, expected):
	now = datetime.combine(datetime(2026, 11, 25).date(), at)
	assert quiet_hours_end(now, time(21), time(9)) == expected


def test_same_day_quiet_hours():
	assert quiet_hours_end(datetime(2026, 11, 25, 14), time(13), time(15)) == datetime(2026, 11, 25, 15)
	assert quiet_hours_end(datetime(2026, 11, 25, 16), time(13), time(15)) is None


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop! ", "Unsubscribe", "stop promotions"])
def test_stop_words_opt_out(text):
	assert intent_of_text(text) is Intent.OPT_OUT


@pytest.mark.parametrize(
	"text", ["please don't stop the edit", "stopping by tomorrow", "", None, "Can you send the album?"]
)
def test_sentences_containing_stop_do_not_opt_out(text):
	assert intent_of_text(text) is None


def test_start_words_opt_in_and_custom_keywords():
	assert intent_of_text("start") is Intent.OPT_IN
	custom = keywords("band karo\nRUKO", ())
	assert intent_of_text("Band   karo", stop_keywords=custom) is Intent.OPT_OUT
	assert intent_of_text("stop", stop_keywords=custom) is None
	assert keywords("", ("STOP",)) == ("STOP",)


def test_opt_out_button_and_meta_preferences():
	assert intent_of_button("Stop promotions", "Stop promotions") is Intent.OPT_OUT
	assert intent_of_button("Book now", "Book now") is None
	assert intent_of_preference("marketing_messages", "stop") is Intent.OPT_OUT
	assert intent_of_preference("marketing_messages", "resume") is Intent.OPT_IN
	assert intent_of_preference("other", "stop") is None


def test_next_quiet_start_wraps_to_the_next_night():
	from marketing_engine.engine.routing import next_quiet_start

	nine_pm, nine_am = time(21), time(9)
	assert next_quiet_start(datetime(2026, 11, 25, 12, 0), nine_pm, nine_am) == datetime(2026, 11, 25, 21, 0)
	assert next_quiet_start(datetime(2026, 11, 25, 22, 0), nine_pm, nine_am) == datetime(2026, 11, 26, 21, 0)
	assert next_quiet_start(datetime(2026, 11, 25, 12, 0), nine_am, nine_am) is None


def test_marketing_to_a_number_meta_does_not_deliver_to_is_blocked_with_its_reason():
	r = route("MARKETING", consent=OPTED_IN, number_warning=("marketing_not_delivered", "US number"))
	assert not r.allowed and r.block is Block.MARKETING_NOT_DELIVERED and r.reason == "US number"
	r = route("MARKETING", consent=OPTED_IN, number_warning=("landline", "fixed-line number"))
	assert r.block is Block.LANDLINE
	# Transactional messages are not affected by marketing delivery warnings.
	assert route("UTILITY", number_warning=("landline", "fixed-line number")).allowed


def test_frequency_cap_blocks_marketing_at_the_limit_only():
	from marketing_engine.engine.routing import FrequencyCap

	cap = FrequencyCap(limit=2, days=7)
	assert route("MARKETING", consent=OPTED_IN, frequency_cap=cap, recent_marketing=1).allowed
	r = route("MARKETING", consent=OPTED_IN, frequency_cap=cap, recent_marketing=2)
	assert r.block is Block.FREQUENCY_CAP and "2 marketing messages in the last 7 days" in r.reason
	assert route("MARKETING", consent=OPTED_IN, frequency_cap=FrequencyCap(0, 7), recent_marketing=9).allowed
	# An opt-out is reported before the cap: it is the reason that matters to the studio.
	opted_out = ConsentState(opted_in=True, opted_in_at=NOW - timedelta(days=3), opted_out_at=NOW)
	assert (
		route("MARKETING", consent=opted_out, frequency_cap=cap, recent_marketing=5).block is Block.OPTED_OUT
	)


def test_an_opt_out_in_the_same_second_as_the_opt_in_wins():
	# Meta stamps a STOP with whole seconds; the opt-in recorded a moment earlier has microseconds.
	opted_in = datetime(2026, 11, 25, 12, 0, 0, 700000)
	state = ConsentState(opted_in=True, opted_in_at=opted_in, opted_out_at=datetime(2026, 11, 25, 12, 0, 0))
	assert state.opted_out and not state.may_receive_marketing
	later_in = ConsentState(
		opted_in=True,
		opted_in_at=datetime(2026, 11, 25, 12, 0, 1),
		opted_out_at=datetime(2026, 11, 25, 12, 0, 0),
	)
	assert not later_in.opted_out
