"""The WhatsApp channel: everything between the app and Meta, whatever the message is for.

Owns the accounts, templates and messages, the one send path (``sending``: claims, batches, the
shared rate limiter, crash-safe recovery) and single sends (``messaging``), routing and the
frequency cap (``routing``), consent (``consent``, the service every opt-in and opt-out goes
through), numbers and people (``numbers``, ``people``), header media (``media``), webhooks
verified, stored and applied (``webhooks``, ``inbound``), business-scoped user IDs and number
changes (``identities``) and Meta's account-health signals (``health``).

May import: ``marketing_engine.engine``, ``marketing_engine.background``, ``marketing_engine.desk``
and the DocType controllers of the channel (Marketing Settings, WhatsApp Account, Template,
Message, Consent, Webhook Event, Rate Card). Never campaigns, drips or roi: what they must hear
of (an opt-out, a reply, a paused template, changed counters) goes through ``signals``, hook
lists that hooks.py fills in.
"""
