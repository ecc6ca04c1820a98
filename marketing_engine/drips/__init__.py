"""Drip sequences: messages a trigger sends over time, and the person who takes over when the
customer writes back.

Owns enrolment, triggers and what ends an enrollment (``enrolment``), due steps and the
scheduler's minute (``steps``), sending the steps' messages on the one send path and pausing
sequences on Meta's signals (``sending``), and the handover of a reply (``handover``).

May import: the engine, background, desk, the channel, roi, campaigns (segments' audiences) and
the DocType controllers below drips. Nothing imports drips but Frappe (hooks.py) and the API.
"""
