"""How the channel tells the features built on it what happened, without importing them.

The channel is the floor that campaigns, drip sequences and ROI stand on, and it must not know
them. When something it learns matters to them, it calls whatever hooks.py lists under these
hook names (Frappe's own ``frappe.get_hooks``, so another app can listen too), in that order:

=============================  ==========================================  =============================
hook                           called with                                 listened to by
=============================  ==========================================  =============================
``whatsapp_opted_out``         the WhatsApp Consent that is now Opted Out  drips: the person's sequences
                                                                           stop at once
``whatsapp_replied``           the stored inbound WhatsApp Message and     drips: sequences stop and a
                               the outbound message it answers (or None)   person at the studio takes over
``whatsapp_sending_paused``    a :class:`Hold`                             campaigns and drips pause what
                                                                           uses its template or account
``whatsapp_sending_resumed``   the hold's cause and why it ended           they resume what it paused
``whatsapp_held_by``           a hold's cause; answers True when anything  campaigns and drips
                               still waits on it
``whatsapp_campaigns_touched`` campaign names whose messages changed       campaigns: counters refreshed
``whatsapp_template_users``    a template about to be deleted; answers     campaigns and drips
                               what still uses it
``whatsapp_ad_referral``       the stored inbound message and its          roi: the ad, its Campaign,
                               Click-to-WhatsApp ``AdReferral``            the Lead, the touch
=============================  ==========================================  =============================
"""

from dataclasses import dataclass

import frappe

OPTED_OUT = "whatsapp_opted_out"
REPLIED = "whatsapp_replied"
SENDING_PAUSED = "whatsapp_sending_paused"
SENDING_RESUMED = "whatsapp_sending_resumed"
HELD_BY = "whatsapp_held_by"
CAMPAIGNS_TOUCHED = "whatsapp_campaigns_touched"
TEMPLATE_USERS = "whatsapp_template_users"
AD_REFERRAL = "whatsapp_ad_referral"


@dataclass(frozen=True)
class Hold:
	"""Meta's signal that stops sending through a template, or through every template of an
	account (a flagged number, a restricted account). ``cause`` names it, so that only what it
	paused resumes when Meta lifts it: ``template:<name>``, ``number:<account>``, ``account:<account>``."""

	cause: str
	reason: str
	template: str | None = None
	account: str | None = None


def opted_out(consent) -> None:
	_tell(OPTED_OUT, consent)


def replied(message, answered) -> None:
	_tell(REPLIED, message, answered)


def ad_referral(message, referral) -> None:
	_tell(AD_REFERRAL, message, referral)


def sending_paused(hold: Hold) -> None:
	_tell(SENDING_PAUSED, hold)


def sending_resumed(cause: str, why: str) -> None:
	_tell(SENDING_RESUMED, cause, why)


def held_by(cause: str) -> bool:
	return any(_tell(HELD_BY, cause))


def campaigns_touched(campaigns: list[str]) -> None:
	if campaigns:
		_tell(CAMPAIGNS_TOUCHED, campaigns)


def template_users(template: str) -> list[str]:
	"""What still relies on ``template`` (a scheduled campaign, an active sequence), each said in
	a few words; a template with users is not deleted."""
	return [user for users in _tell(TEMPLATE_USERS, template) for user in users or []]


def _tell(hook: str, *args) -> list:
	return [frappe.get_attr(handler)(*args) for handler in frappe.get_hooks(hook)]
