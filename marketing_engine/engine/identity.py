"""Who a WhatsApp user is: phone number, business-scoped user ID (BSUID) and username.

Meta gives every user a BSUID per business portfolio ("Business-scoped user IDs",
https://developers.facebook.com/documentation/business-messaging/whatsapp/business-scoped-user-ids/):
an ISO 3166 country code, a period and up to 128 letters and digits (``IN.1648738043044942``).
Enrolled multi-portfolio businesses also get a parent BSUID with ``ENT`` after the country
(``US.ENT.11815799212886844830``). A user who adopts a username may reach a business without
sharing a phone number, so the BSUID can be the only way to address them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BSUID = re.compile(r"(?P<region>[A-Z]{2})\.(?P<parent>ENT\.)?(?P<local>[A-Za-z0-9]{1,128})")


def is_bsuid(value: object) -> bool:
	"""A BSUID or a parent BSUID, as opposed to a phone number."""
	if not isinstance(value, str):
		return False
	match = _BSUID.fullmatch(value)
	# "IN.ENT" alone is a parent prefix without its identifier, not a BSUID.
	return bool(match) and not (match["parent"] is None and match["local"] == "ENT")


def is_parent_bsuid(value: object) -> bool:
	return is_bsuid(value) and str(value)[3:7] == "ENT."


def bsuid_region(bsuid: str) -> str:
	"""The country a BSUID belongs to: ``IN.1648738043044942`` -> ``IN``."""
	if not is_bsuid(bsuid):
		raise ValueError(f"{bsuid!r} is not a business-scoped user ID")
	return bsuid[:2]


@dataclass(frozen=True)
class Identity:
	"""Everything Meta told us about one user; any part may be missing."""

	wa_id: str | None = None  # phone digits as Meta sends them; None for a username user without one
	user_id: str | None = None  # BSUID
	parent_user_id: str | None = None
	username: str | None = None
	profile_name: str | None = None

	@property
	def address(self) -> str | None:
		"""What to send to: the phone number when known (Meta's advice, and it keeps phone numbers
		in later webhooks), else the BSUID."""
		return self.wa_id or self.user_id or self.parent_user_id
