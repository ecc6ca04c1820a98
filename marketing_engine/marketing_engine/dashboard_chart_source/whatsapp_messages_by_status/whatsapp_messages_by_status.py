"""Outbound WhatsApp messages per day by status, for the Marketing workspace's chart."""

from marketing_engine.roi.cards import messages_by_status as get
