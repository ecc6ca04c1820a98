import pytest

from marketing_engine.engine.phone import InvalidPhoneNumber, from_wa_id, normalize, region_of, to_wa_id


@pytest.mark.parametrize(
	"raw, expected",
	[
		("9876543210", "+919876543210"),
		("+91 98765 43210", "+919876543210"),
		("098765-43210", "+919876543210"),
		("0091 98765 43210", "+919876543210"),
		("+1 415 555 2671", "+14155552671"),
		("+44 20 7946 0958", "+442079460958"),
	],
)
def test_numbers_are_normalised_to_e164(raw, expected):
	assert normalize(raw, "IN") == expected


def test_default_region_decides_numbers_without_country_code():
	assert normalize("07911 123456", "GB") == "+447911123456"
	assert normalize("07911 123456", "IN") == "+917911123456"


@pytest.mark.parametrize(
	"raw, reason",
	[
		("", "no phone number"),
		(None, "no phone number"),
		("not a phone", "not a phone number"),
		("12345", "wrong number of digits for its country"),
		("+1 555 010 0000", "not a valid number for its country"),
		("+999 1234567", "unknown country code"),
	],
)
def test_bad_numbers_say_why(raw, reason):
	with pytest.raises(InvalidPhoneNumber) as e:
		normalize(raw, "IN")
	assert e.value.reason == reason


def test_wa_id_round_trip_and_region():
	assert from_wa_id("14155552671") == "+14155552671"
	assert to_wa_id("+919876543210") == "919876543210"
	assert region_of("+919876543210") == "IN"
	assert region_of("+14155552671") == "US"
