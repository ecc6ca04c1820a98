"""Return on WhatsApp: which campaign, sequence or message earned a booking, and what it cost.

Owns tracked links and the ``/r/<token>`` redirect (``links``), clicks kept in Redis and written
in batches (``clicks``), attribution in ERPNext's own campaign fields with Attribution rows
(``attribution``), the figures of the ROI report and the forms (``figures``) and the Marketing
workspace's number cards and chart (``cards``).

May import: the engine, background, desk, the channel and the DocType controllers of the channel
and of roi (WhatsApp Link, Link Click, Attribution). It reads campaigns' and sequences' tables,
never their code: campaigns and drips stand on roi (their messages carry its links).
"""
