"""Customers, Contacts and Leads get ``whatsapp_line_type``: landlines are left out of marketing."""

from marketing_engine.channel.numbers import backfill, make_custom_fields


def execute():
	make_custom_fields()
	backfill()
