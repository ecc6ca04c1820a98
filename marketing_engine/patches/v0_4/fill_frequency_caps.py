from marketing_engine.channel.frequency_cap import keep_caps_current


def execute():
	"""Audiences read the frequency cap from each consent record now: fill it from the messages."""
	keep_caps_current()
