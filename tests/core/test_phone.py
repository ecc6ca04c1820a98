import phonenumbers
import pytest

from marketing_engine.engine.phone import (
	MARKETING_NOT_DELIVERED_REGIONS,
	InvalidPhoneNumber,
	from_wa_id,
	line_type,
	marketing_warning,
	normalize,
	region_of,
	to_wa_id,
)


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


# --- Letters and symbols ------------------------------------------------------------------------


@pytest.mark.parametrize(
	"raw, reason",
	[
		# phonenumbers alone reads these letters as keypad digits: another person's number.
		("98765O3210", "contains letters ('O'): a WhatsApp number has digits only"),
		("98765O3l10", "contains letters ('O', 'l'): a WhatsApp number has digits only"),
		("9876543210 ext 12", "contains letters ('e', 'x', 't'): a WhatsApp number has digits only"),
		(
			"1-800-FLOWERS",
			"contains letters ('F', 'L', 'O', 'W', 'E', ...): a WhatsApp number has digits only",
		),
		("Tel 9876543210", "contains letters ('T', 'e', 'l'): a WhatsApp number has digits only"),
	],
)
def test_letters_are_refused_naming_them(raw, reason):
	with pytest.raises(InvalidPhoneNumber) as e:
		normalize(raw, "IN")
	assert e.value.reason == reason
	assert e.value.raw == raw


@pytest.mark.parametrize(
	"raw, region, what_the_library_reads",
	[
		("98765OlO10", "IN", "+919876565610"),  # O and l typed for 0 and 1: keypad digits 6 and 5
		("98765ABC10", "IN", "+919876522210"),
		("1-800-FLOWERS", "US", "+18003569377"),
	],
)
def test_letters_are_refused_where_the_library_would_read_another_valid_number(
	raw, region, what_the_library_reads
):
	parsed = phonenumbers.parse(raw, region)
	assert phonenumbers.is_valid_number(parsed)
	assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == what_the_library_reads
	with pytest.raises(InvalidPhoneNumber, match="contains letters"):
		normalize(raw, region)


@pytest.mark.parametrize("symbol", ["*", "#", ",", ";", "_", "~", "[", "!", "'"])
def test_symbols_other_than_number_punctuation_are_refused(symbol):
	raw = f"98765{symbol}43210"
	with pytest.raises(InvalidPhoneNumber) as e:
		normalize(raw, "IN")
	assert e.value.reason == (
		f"contains symbols ({symbol!r}): a WhatsApp number has digits only (spaces and + - . ( ) / are fine)"
	)


@pytest.mark.parametrize(
	"raw",
	[
		"(+91) 98765 43210",
		"+91.98765.43210",
		"98765/43210",
		"+91 (0) 98765 43210",
		"98765\u00a043210",  # non-breaking space from a copied cell
		"98765\u201343210",  # en dash from Word
		"\u202a+91 98765 43210\u202c",  # bidi marks that phone contact exports wrap numbers in
		"\u096f\u096e\u096d\u096c\u096b\u096a\u0969\u0968\u0967\u0966",  # Devanagari digits
		"p:+919876543210",  # Facebook lead form export
		"tel:+91-98765-43210",
	],
)
def test_digits_with_harmless_punctuation_and_labels_are_read(raw):
	assert normalize(raw, "IN") == "+919876543210"


def test_a_value_without_digits_is_not_a_phone_number_rather_than_a_list_of_letters():
	with pytest.raises(InvalidPhoneNumber) as e:
		normalize("#N/A", "IN")
	assert e.value.reason == "not a phone number"


# --- Line type and marketing warnings -----------------------------------------------------------


@pytest.mark.parametrize(
	"e164, expected",
	[
		("+919876543210", "mobile"),
		("+912223456789", "fixed_line"),  # Mumbai landline
		("+442079460958", "fixed_line"),
		("+14155552671", "fixed_line_or_mobile"),  # the North American plan doesn't tell them apart
		("+18005551234", "toll_free"),
		("+9118001234567", "toll_free"),
		("not a number", "unknown"),
		("+15550100000", "unknown"),  # parses, but no type in the plan
	],
)
def test_line_type(e164, expected):
	assert line_type(e164) == expected


def test_indian_landline_is_warned_and_mobile_is_not():
	landline = normalize("+91 22 2345 6789")
	assert landline == "+912223456789"
	assert marketing_warning(landline) == (
		"landline",
		"fixed-line number: it can receive WhatsApp only if its owner registered it with WhatsApp Business",
	)
	assert marketing_warning(normalize("98765 43210")) is None
	assert marketing_warning(normalize("+61 412 345 678")) is None


def test_us_numbers_get_no_marketing_but_canadian_numbers_do():
	kind, reason = marketing_warning(normalize("+1 415 555 2671"))
	assert kind == "marketing_not_delivered"
	assert reason == "US number: Meta paused marketing template messages to US numbers from 1 April 2025"
	assert region_of("+16135550123") == "CA"
	assert marketing_warning("+16135550123") is None  # same +1 country code, region CA
	assert "US" in MARKETING_NOT_DELIVERED_REGIONS and "CA" not in MARKETING_NOT_DELIVERED_REGIONS


def test_us_fixed_line_or_mobile_numbers_are_not_called_landlines():
	assert marketing_warning("+14155552671")[0] == "marketing_not_delivered"
	assert marketing_warning("+16135550123") is None  # FIXED_LINE_OR_MOBILE: most are mobiles


def test_marketing_warning_of_something_unparsable_is_none():
	assert marketing_warning("not a number") is None
