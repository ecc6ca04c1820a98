import pytest

from marketing_engine.engine import errors
from marketing_engine.engine.errors import Action
from marketing_engine.engine.status import advance, from_meta


@pytest.mark.parametrize(
	"current, incoming, result",
	[
		(None, "Sent", "Sent"),
		("Queued", "Sent", "Sent"),
		("Sent", "Delivered", "Delivered"),
		("Delivered", "Read", "Read"),
		("Read", "Delivered", "Read"),  # late delivered after read
		("Read", "Sent", "Read"),
		("Delivered", "Sent", "Delivered"),
		("Sent", "Failed", "Failed"),
		("Delivered", "Failed", "Delivered"),
		("Failed", "Sent", "Failed"),
		("Queued", "Read", "Read"),  # read can be the first webhook to arrive
	],
)
def test_status_only_moves_forward(current, incoming, result):
	assert advance(current, incoming) == result


def test_unknown_status_is_an_error():
	assert from_meta("deleted") is None
	with pytest.raises(ValueError):
		advance("Sent", "Deleted")


@pytest.mark.parametrize(
	"code, http_status, cls, action",
	[
		(130429, 400, errors.RateLimitError, Action.RETRY_BACKOFF),
		(131056, 400, errors.RateLimitError, Action.RETRY_BACKOFF),
		(80007, 400, errors.RateLimitError, Action.RETRY_BACKOFF),
		(131049, 400, errors.PerUserMarketingLimitError, Action.RETRY_LATER),
		(131026, 400, errors.RecipientError, Action.FAIL_MESSAGE),
		(131047, 400, errors.RecipientError, Action.FAIL_MESSAGE),
		(131050, 400, errors.MarketingOptOutError, Action.OPT_OUT),
		(132000, 400, errors.TemplateError, Action.STOP_RUN),
		(132015, 400, errors.TemplateError, Action.STOP_RUN),
		(190, 401, errors.AccessTokenError, Action.STOP_RUN),
		(131031, 400, errors.AccountError, Action.STOP_RUN),
		(131000, 500, errors.TransientError, Action.RETRY_BACKOFF),
		(None, 503, errors.TransientError, Action.RETRY_BACKOFF),
	],
)
def test_meta_errors_map_to_actions(code, http_status, cls, action):
	body = (
		{"error": {"code": code, "message": "m", "error_data": {"details": "d"}}}
		if code
		else "Service Unavailable"
	)
	error = errors.from_response(http_status, body)
	assert type(error) is cls
	assert error.action is action
	assert error.retryable == (action in (Action.RETRY_BACKOFF, Action.RETRY_LATER))


def test_per_user_limit_waits_a_day():
	error = errors.from_response(400, {"error": {"code": 131049, "message": "limit"}})
	assert error.retry_after == 24 * 60 * 60
	assert errors.from_response(400, {"error": {"code": 130429, "message": "x"}}).retry_after is None


def test_webhook_errors_use_the_same_mapping():
	error = errors.from_webhook_error(
		{"code": 131050, "title": "User stopped marketing", "error_data": {"details": "opted out"}}
	)
	assert isinstance(error, errors.MarketingOptOutError)
	assert "131050" in str(error) and "opted out" in str(error)
