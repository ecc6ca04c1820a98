"""Phone number normalisation to E.164, the form Meta and our unique keys use."""

from __future__ import annotations

import phonenumbers


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


def from_wa_id(wa_id: str) -> str:
	"""Meta identifies WhatsApp users by their number without the plus sign."""
	return normalize("+" + wa_id.lstrip("+"))


def to_wa_id(e164: str) -> str:
	return e164.lstrip("+")


def region_of(e164: str) -> str | None:
	"""ISO country code of an E.164 number, for picking the right per-message rate."""
	try:
		return phonenumbers.region_code_for_number(phonenumbers.parse(e164))
	except phonenumbers.NumberParseException:
		return None


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
