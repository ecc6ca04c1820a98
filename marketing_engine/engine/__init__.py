"""Framework-free core of marketing_engine.

Nothing in this package imports ``frappe``: it holds the decisions (routing, consent, status
ordering), the formats (templates, phone numbers, Meta's webhook payloads) and the Meta Cloud API
client, so that it can be tested with plain pytest on any machine. The Frappe shell around it
loads documents, calls these functions and stores what they return.
"""
