"""Meta's error codes, mapped to what the sender must do about them.

Meta answers a failed call with ``{"error": {"code": ..., "message": ..., "error_data":
{"details": ...}, "fbtrace_id": ...}}`` and reports asynchronous failures in status webhooks as
``{"code": ..., "title": ..., "message": ..., "error_data": {"details": ...}}``. Both end up
here, so a code means the same thing wherever it is seen.
"""

from __future__ import annotations

from enum import Enum


class Action(str, Enum):
	RETRY_BACKOFF = "retry_backoff"  # throttled or Meta-side trouble: wait a little, try again
	RETRY_LATER = "retry_later"  # this recipient's marketing quota: not before retry_after
	FAIL_MESSAGE = "fail_message"  # this message can never go: mark it failed, go on
	OPT_OUT = "opt_out"  # the user stopped marketing messages: record the opt-out, go on
	STOP_RUN = "stop_run"  # nothing else will go either: stop and tell the user


PER_USER_MARKETING_RETRY_AFTER = 24 * 60 * 60

RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})
TRANSIENT_CODES = frozenset({1, 2, 131000, 131016})
RECIPIENT_CODES = frozenset(
	{
		100,  # invalid parameter (a bad media link, a number Meta rejects)
		131008,  # required parameter missing
		131009,  # parameter value invalid
		131021,  # recipient is the sender
		131026,  # message undeliverable
		131030,  # recipient not in the test number's allowed list
		131047,  # more than 24 hours since the user last wrote (re-engagement)
		131051,  # unsupported message type
		131052,  # media download error
		131053,  # media upload error
	}
)
# Meta could not bill the WABA for the message ("Business eligibility payment issue").
PAYMENT_REFUSED = 131042
ACCOUNT_CODES = frozenset(
	{
		0,  # auth exception
		3,  # capability
		10,  # permission denied
		190,  # access token expired or invalid
		368,  # temporarily blocked for policy violations
		131031,  # account locked
		131042,  # payment issue
		131045,  # phone number not registered with a certificate
		133010,  # phone number not registered on the Cloud API
	}
)


class MetaError(Exception):
	"""A call Meta refused, a failure it reported, or a transport problem on the way to it."""

	action: Action = Action.FAIL_MESSAGE

	def __init__(
		self,
		code: int | None,
		title: str,
		details: str = "",
		*,
		http_status: int | None = None,
		subcode: int | None = None,
		fbtrace_id: str | None = None,
		user_title: str | None = None,
		user_msg: str | None = None,
	):
		self.code = code
		self.title = title
		self.details = details
		self.http_status = http_status
		self.subcode = subcode
		self.fbtrace_id = fbtrace_id
		# Meta's own words for the person using the app (``error_user_title``/``error_user_msg``),
		# in the account's language: shown as they are, never matched on (match code and subcode).
		self.user_title = user_title
		self.user_msg = user_msg
		super().__init__(self.describe())

	@property
	def retryable(self) -> bool:
		return self.action in (Action.RETRY_BACKOFF, Action.RETRY_LATER)

	@property
	def retry_after(self) -> int | None:
		"""Seconds to wait before the same message may be tried again, when that is known."""
		return PER_USER_MARKETING_RETRY_AFTER if self.action is Action.RETRY_LATER else None

	def describe(self) -> str:
		code = f"({self.code}) " if self.code is not None else ""
		details = f": {self.details}" if self.details and self.details != self.title else ""
		return f"{code}{self.title}{details}"


class RateLimitError(MetaError):
	action = Action.RETRY_BACKOFF


class TransientError(MetaError):
	action = Action.RETRY_BACKOFF


class TransportError(TransientError):
	"""No answer from Meta. ``maybe_sent`` is true when the request left this machine, so the
	message may have gone out; it must be reconciled (biz_opaque_callback_data), not resent."""

	def __init__(self, title: str, *, maybe_sent: bool):
		self.maybe_sent = maybe_sent
		super().__init__(None, title)


class PerUserMarketingLimitError(MetaError):
	action = Action.RETRY_LATER


class RecipientError(MetaError):
	action = Action.FAIL_MESSAGE


class MarketingOptOutError(MetaError):
	action = Action.OPT_OUT


class TemplateError(MetaError):
	action = Action.STOP_RUN


class AccountError(MetaError):
	action = Action.STOP_RUN


class AccessTokenError(AccountError):
	pass


class TemplateRejectedError(MetaError):
	"""Meta refused to create, edit or delete a template (code 100 with an ``error_subcode`` such
	as 2388024, content in this language already exists). Nothing was changed at Meta; the
	template itself must change: ``user_title`` and ``user_msg`` say how, in Meta's words."""

	action = Action.FAIL_MESSAGE

	@property
	def reason(self) -> str:
		"""What to show the studio: Meta's message for people, else its details."""
		return self.user_msg or self.details or self.title


# Refusals of a template management call that are about the template, not the account:
# invalid parameter (100, with the 2388xxx subcodes) and an invalid phone number (192).
TEMPLATE_REFUSAL_CODES = frozenset({100, 192})


def error_class_for(code: int | None, http_status: int | None = None) -> type[MetaError]:
	if code in RATE_LIMIT_CODES:
		return RateLimitError
	if code == 131049:
		return PerUserMarketingLimitError
	if code == 131050:
		return MarketingOptOutError
	if code == 190:
		return AccessTokenError
	if code in ACCOUNT_CODES or (code is not None and 200 <= code <= 299):
		return AccountError
	if code is not None and 132000 <= code <= 132999:
		return TemplateError
	if code in TRANSIENT_CODES:
		return TransientError
	if code in RECIPIENT_CODES:
		return RecipientError
	if http_status is not None and http_status >= 500:
		return TransientError
	if http_status in (401, 403):
		return AccountError
	return RecipientError


def from_response(http_status: int, body: object) -> MetaError:
	"""Build the typed error for an HTTP error answer from the Graph API."""
	error = body.get("error") if isinstance(body, dict) else None
	if not isinstance(error, dict):
		cls = error_class_for(None, http_status)
		return cls(None, f"HTTP {http_status} from the Graph API", _short(body), http_status=http_status)
	code = _as_int(error.get("code"))
	details = (
		(error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else ""
	)
	cls = error_class_for(code, http_status)
	return cls(
		code,
		error.get("error_user_title") or error.get("message") or "Graph API error",
		details or error.get("error_user_msg") or "",
		http_status=http_status,
		subcode=_as_int(error.get("error_subcode")),
		fbtrace_id=error.get("fbtrace_id"),
		user_title=error.get("error_user_title"),
		user_msg=error.get("error_user_msg"),
	)


def from_template_response(http_status: int, body: object) -> MetaError:
	"""The typed error for a refused template management call (create, edit, delete, upload):
	a refusal of the template itself is a :class:`TemplateRejectedError`; token, permission,
	rate limit and Meta-side errors keep their own classes."""
	error = from_response(http_status, body)
	# Meta's error code page lists the template codes alone (2388024); answers carry them as the
	# subcode of code 100. Either says the template was refused.
	subcode_says_template = any(
		value is not None and 2388000 <= value <= 2388999 for value in (error.subcode, error.code)
	)
	if type(error) is RecipientError and (error.code in TEMPLATE_REFUSAL_CODES or subcode_says_template):
		return TemplateRejectedError(
			error.code,
			error.title,
			error.details,
			http_status=error.http_status,
			subcode=error.subcode,
			fbtrace_id=error.fbtrace_id,
			user_title=error.user_title,
			user_msg=error.user_msg,
		)
	return error


def from_webhook_error(error: dict) -> MetaError:
	"""Build the typed error for an entry of a status webhook's ``errors`` list."""
	code = _as_int(error.get("code"))
	details = (error.get("error_data") or {}).get("details") or error.get("message") or ""
	return error_class_for(code)(code, error.get("title") or error.get("message") or "Failed", details)


def _as_int(value) -> int | None:
	try:
		return int(value)
	except (TypeError, ValueError):
		return None


def _short(body: object, limit: int = 300) -> str:
	text = body if isinstance(body, str) else repr(body)
	return text[:limit]
