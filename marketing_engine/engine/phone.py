"""Phone number normalisation to E.164, the form Meta and our unique keys use."""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers

# Meta paused delivery of marketing template messages to WhatsApp users with a US number (+1 and a US
# area code) from 1 April 2025: "Per-user marketing template message limits" in the Cloud API guide
# https://developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates . Utility and
# authentication templates still go, and other +1 countries (Canada) are not affected, so the check is
# by region, not by country code. Region -> why, as the upload report shows it.
MARKETING_NOT_DELIVERED_REGIONS: dict[str, str] = {
	"US": "US number: Meta paused marketing template messages to US numbers from 1 April 2025",
}

# Punctuation people write numbers with; none of it can stand for a digit.
_NUMBER_PUNCTUATION = frozenset(" +-./()")
# Labels in front of a number that are not part of it: Facebook lead form exports ("p:+91...") and
# tel: links (RFC 3966).
_NUMBER_LABEL = re.compile(r"^(p|tel):\s*", re.IGNORECASE)
_MAX_CHARACTERS_LISTED = 5


class InvalidPhoneNumber(ValueError):
	"""A number that cannot be messaged; ``reason`` says why in words a user understands."""

	def __init__(self, raw: str | None, reason: str):
		self.raw = raw
		self.reason = reason
		super().__init__(f"{raw!r}: {reason}" if raw else reason)


def normalize(raw: str | None, default_region: str = "IN") -> str:
	"""Return ``raw`` as E.164 (``+919876543210``), reading numbers without a country code as
	numbers of ``default_region`` (ISO 3166 alpha-2, e.g. ``IN``).

	Raises :class:`InvalidPhoneNumber` with a specific reason for anything that cannot be a
	WhatsApp recipient.
	"""
	text = (raw or "").strip()
	if not text:
		raise InvalidPhoneNumber(raw, "no phone number")
	text = _NUMBER_LABEL.sub("", text)
	# phonenumbers reads letters as keypad digits (1-800-FLOWERS), so a typed O for 0 would quietly
	# become someone else's number: only digits and harmless punctuation get as far as the parser.
	unusable = _unusable_characters_reason(text)
	if unusable:
		raise InvalidPhoneNumber(raw, unusable)
	# WhatsApp ids (wa_id) and many CSV exports carry the country code without the plus sign.
	digits_only = text.replace(" ", "").replace("-", "")
	if digits_only.startswith("00"):
		text = "+" + digits_only[2:]
	try:
		parsed = phonenumbers.parse(text, (default_region or "IN").upper())
	except phonenumbers.NumberParseException as e:
		raise InvalidPhoneNumber(raw, _PARSE_ERRORS.get(e.error_type, "not a phone number"))
	if not phonenumbers.is_possible_number(parsed):
		raise InvalidPhoneNumber(raw, "wrong number of digits for its country")
	if not phonenumbers.is_valid_number(parsed):
		raise InvalidPhoneNumber(raw, "not a valid number for its country")
	return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _unusable_characters_reason(text: str) -> str | None:
	# Without a single digit ("call me", "#N/A") listing the letters would not help anyone.
	if not any(character.isdecimal() for character in text):
		return "not a phone number"
	letters = _distinct(character for character in text if character.isalpha())
	if letters:
		return f"contains letters ({_listed(letters)}): a WhatsApp number has digits only"
	symbols = _distinct(character for character in text if not _is_number_character(character))
	if symbols:
		return (
			f"contains symbols ({_listed(symbols)}): a WhatsApp number has digits only "
			"(spaces and + - . ( ) / are fine)"
		)
	return None


def _is_number_character(character: str) -> bool:
	"""Digits (in any script: phonenumbers reads Devanagari digits too), spaces of any kind, the
	usual punctuation, dashes of any kind (Word turns hyphens into en dashes) and the invisible
	formatting marks that phone contact exports wrap numbers in (U+202A..U+202C): none of them can
	change a digit."""
	return (
		character.isdecimal()
		or character.isspace()
		or character in _NUMBER_PUNCTUATION
		or unicodedata.category(character) in ("Pd", "Cf")
	)


def _distinct(characters) -> list[str]:
	return list(dict.fromkeys(characters))


def _listed(characters: list[str]) -> str:
	listed = ", ".join(repr(character) for character in characters[:_MAX_CHARACTERS_LISTED])
	return listed + (", ..." if len(characters) > _MAX_CHARACTERS_LISTED else "")


def line_type(e164: str) -> str:
	"""What kind of line a number is, as phonenumbers knows it from the numbering plan: "mobile",
	"fixed_line", "fixed_line_or_mobile" (plans that don't tell them apart, like the US), "voip",
	"toll_free", "premium_rate", "shared_cost", "personal_number", "pager", "uan", "voicemail" or
	"unknown"."""
	facts = _type_and_region(e164)
	return _LINE_TYPES.get(facts[0], "unknown") if facts else "unknown"


def marketing_warning(e164: str) -> tuple[str, str] | None:
	"""``(kind, reason)`` when a marketing message to this valid number is unlikely to arrive, else
	None. Kinds: "marketing_not_delivered" (Meta does not deliver marketing to the number's country)
	and "landline" (a fixed line, on WhatsApp only if its owner registered it with WhatsApp Business).
	Messages other than marketing may still go, so this is a warning, not a reason to drop a number.
	"""
	facts = _type_and_region(e164)
	if not facts:
		return None
	number_type, region = facts
	if region in MARKETING_NOT_DELIVERED_REGIONS:
		return "marketing_not_delivered", MARKETING_NOT_DELIVERED_REGIONS[region]
	# Only numbers the plan says are fixed lines: where it cannot tell (FIXED_LINE_OR_MOBILE, the whole
	# of North America) most numbers are mobiles.
	if number_type == phonenumbers.PhoneNumberType.FIXED_LINE:
		return (
			"landline",
			"fixed-line number: it can receive WhatsApp only if its owner registered it with "
			"WhatsApp Business",
		)
	return None


def from_wa_id(wa_id: str) -> str:
	"""Meta identifies WhatsApp users by their number without the plus sign."""
	return normalize("+" + wa_id.lstrip("+"))


def to_wa_id(e164: str) -> str:
	return e164.lstrip("+")


def region_of(e164: str) -> str | None:
	"""ISO country code of an E.164 number, for picking the right per-message rate."""
	facts = _type_and_region(e164)
	return facts[1] if facts else None


# A CSV upload asks for the region, the line type and the warnings of each number in turn: one parse
# serves all three (parsing is most of what an upload of 200,000 rows costs).
@functools.lru_cache(maxsize=1024)
def _type_and_region(e164: str) -> tuple[int, str | None] | None:
	try:
		parsed = phonenumbers.parse(e164)
	except phonenumbers.NumberParseException:
		return None
	return phonenumbers.number_type(parsed), phonenumbers.region_code_for_number(parsed)


def is_e164(value: str) -> bool:
	try:
		return normalize(value) == value
	except InvalidPhoneNumber:
		return False


_PARSE_ERRORS = {
	phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
	phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
	phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
	phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
	phonenumbers.NumberParseException.TOO_LONG: "too long",
}

_LINE_TYPES = {
	phonenumbers.PhoneNumberType.MOBILE: "mobile",
	phonenumbers.PhoneNumberType.FIXED_LINE: "fixed_line",
	phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
	phonenumbers.PhoneNumberType.VOIP: "voip",
	phonenumbers.PhoneNumberType.TOLL_FREE: "toll_free",
	phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium_rate",
	phonenumbers.PhoneNumberType.SHARED_COST: "shared_cost",
	phonenumbers.PhoneNumberType.PERSONAL_NUMBER: "personal_number",
	phonenumbers.PhoneNumberType.PAGER: "pager",
	phonenumbers.PhoneNumberType.UAN: "uan",
	phonenumbers.PhoneNumberType.VOICEMAIL: "voicemail",
	phonenumbers.PhoneNumberType.UNKNOWN: "unknown",
}
