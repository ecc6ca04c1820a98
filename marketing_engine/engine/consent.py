"""Marketing consent: what an inbound message means for it, and whether marketing may go."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from .templates import normalize_keyword

DEFAULT_STOP_KEYWORDS = (
	"STOP",
	"STOP ALL",
	"STOP PROMOTIONS",
	"UNSUBSCRIBE",
	"OPT OUT",
	"OPTOUT",
	"CANCEL",
	"QUIT",
	"END",
)
DEFAULT_START_KEYWORDS = ("START", "SUBSCRIBE", "OPT IN", "UNSTOP")
# The text of Meta's marketing opt-out quick reply button, as Meta creates it by default.
DEFAULT_OPT_OUT_BUTTON_TEXTS = ("STOP PROMOTIONS",)
_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)


class Intent(str, Enum):
	OPT_OUT = "opt_out"
	OPT_IN = "opt_in"


class OptInSource(str, Enum):
	FORM = "Form"
	CSV = "CSV"
	INBOUND_MESSAGE = "Inbound Message"
	MANUAL = "Manual"
	META_PREFERENCE = "Meta Preference"
	NUMBER_CHANGED = "Number Changed"  # carried over from the person's previous number


class OptOutSource(str, Enum):
	STOP_KEYWORD = "STOP Keyword"
	OPT_OUT_BUTTON = "Opt-out Button"
	META_PREFERENCE = "Meta Preference"
	META_ERROR = "Meta Error 131050"
	MANUAL = "Manual"
	NUMBER_CHANGED = "Number Changed"  # the person left this number, or carried an opt-out over


def keywords(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
	"""Parse a settings field of one keyword per line (or comma separated)."""
	parts = [normalize_keyword(p) for p in re.split(r"[\n,]", text or "")]
	return tuple(p for p in parts if p) or default


def intent_of_text(
	text: str | None,
	stop_keywords: tuple[str, ...] = DEFAULT_STOP_KEYWORDS,
	start_keywords: tuple[str, ...] = DEFAULT_START_KEYWORDS,
) -> Intent | None:
	"""A message that *is* a keyword ("Stop", "STOP!", " unsubscribe ") changes consent; a
	sentence that merely contains one ("don't stop the edit") does not."""
	word = normalize_keyword(_PUNCTUATION.sub(" ", text or ""))
	if word in stop_keywords:
		return Intent.OPT_OUT
	if word in start_keywords:
		return Intent.OPT_IN
	return None


def intent_of_button(
	payload: str | None, text: str | None, opt_out_texts: tuple[str, ...] = DEFAULT_OPT_OUT_BUTTON_TEXTS
) -> Intent | None:
	"""A tap on the template's marketing opt-out quick reply button."""
	for value in (payload, text):
		if normalize_keyword(value) in opt_out_texts:
			return Intent.OPT_OUT
	return None


def intent_of_preference(category: str | None, value: str | None) -> Intent | None:
	"""Meta's ``user_preferences`` webhook: the user stopped or resumed marketing messages."""
	if (category or "").lower() != "marketing_messages":
		return None
	return {"stop": Intent.OPT_OUT, "resume": Intent.OPT_IN}.get((value or "").lower())


@dataclass
class ConsentState:
	opted_in: bool = False
	opted_in_at: datetime | None = None
	opted_out_at: datetime | None = None

	@property
	def opted_out(self) -> bool:
		"""Opted out after (or without) the last opt-in. Meta's timestamps have whole seconds, so
		an opt-out in the same second as an opt-in counts as the later one: when in doubt, out."""
		if self.opted_out_at is None:
			return False
		if self.opted_in_at is None:
			return True
		return self.opted_out_at.replace(microsecond=0) >= self.opted_in_at.replace(microsecond=0)

	@property
	def may_receive_marketing(self) -> bool:
		return self.opted_in and not self.opted_out
