"""Meta's customer service window: when a business may answer a user with free-form messages.

A message from the user opens (or renews) a 24-hour window with the business phone number it was
sent to; inside it the business may send any message type (text, media, ...), and those service
messages are free. Outside it only approved templates go out, and Meta refuses anything else with
error 131047 ("Re-engagement message").
"""

from __future__ import annotations

from datetime import datetime, timedelta

SERVICE_WINDOW = timedelta(hours=24)


def service_window_closes_at(last_inbound_at: datetime) -> datetime:
	"""When the window opened by the user's last message closes (its time zone, if any, kept)."""
	return last_inbound_at + SERVICE_WINDOW


def service_window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
	"""Whether free-form messages may go out at ``now``; never when the user has not written.

	Exactly 24 hours after the last message the window is closed. Both times must be naive
	or both aware, like any comparison of datetimes."""
	if last_inbound_at is None:
		return False
	return now < service_window_closes_at(last_inbound_at)
