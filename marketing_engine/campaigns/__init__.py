"""Campaigns: who a broadcast reaches and how it is sent.

Owns segments and audiences as SQL over live ERPNext data (``audience``), static segments' CSV
import (``segment_import``), a campaign's snapshot of its audience (``snapshot``), each
recipient's values and header (``recipients``) and the campaign's sending lifecycle on the one
send path: start, jobs, counters, completion, pauses by Meta's signals (``dispatch``).

May import: the engine, background, desk, the channel, roi (tracked links, ERPNext campaigns)
and the DocType controllers of the channel and of campaigns (Segment, WhatsApp Campaign). Never
drips.
"""
