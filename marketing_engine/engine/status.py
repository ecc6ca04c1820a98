"""Delivery status ordering for outbound messages.

Meta sends ``sent``, ``delivered`` and ``read`` as separate webhooks that may arrive in any order
and more than once. A status only moves a message forward: a late ``delivered`` after ``read``
records its time but leaves the message read. ``failed`` ends a message that was not yet delivered;
after delivery it is only recorded.
"""

from __future__ import annotations

RANK = {"Queued": 0, "Accepted": 1, "Sent": 2, "Failed": 3, "Delivered": 4, "Read": 5}
META_STATUS = {"sent": "Sent", "delivered": "Delivered", "read": "Read", "failed": "Failed"}
TIMESTAMP_FIELD = {"Sent": "sent_at", "Delivered": "delivered_at", "Read": "read_at", "Failed": "failed_at"}


def advance(current: str | None, incoming: str) -> str:
	"""The status a message has after ``incoming`` arrives while it is ``current``."""
	if incoming not in RANK:
		raise ValueError(f"Unknown status {incoming!r}")
	if current not in RANK:
		return incoming
	return incoming if RANK[incoming] > RANK[current] else current


def from_meta(status: str) -> str | None:
	return META_STATUS.get((status or "").lower())
