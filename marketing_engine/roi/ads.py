"""Click-to-WhatsApp ads: the person who writes from an ad becomes a Lead of the ad's Campaign.

Meta puts a ``referral`` on the first message a person sends after tapping an ad or a post
(:class:`marketing_engine.engine.webhook.AdReferral`). Each ad is a **WhatsApp Ad** (one per
Meta ``source_id``) owning an ERPNext Campaign named from its headline, so ERPNext's Campaign
Efficiency report and the app's attribution read it like any campaign. Each such message is a
**WhatsApp Ad Referral**: the ad, the message, the person, and Meta's click id (``ctwa_clid``),
kept for Meta's 7-day attribution window. Someone the studio does not know yet becomes a Lead
with the Campaign and the source "WhatsApp Ad"; a known person is touched (the referral is the
touch a later booking is attributed to, last touch wins).
"""

import frappe
from frappe.utils import add_days, get_datetime

from marketing_engine.roi import conversions
from marketing_engine.roi.attribution import AD_SOURCE, ensure_erpnext_campaign

CLICK_ID_DAYS = 7  # Meta's attribution window for a ctwa_clid


def record_referral(message, referral) -> None:
	"""hooks ``whatsapp_ad_referral``: keep the referral, make the ad and its Campaign when new,
	and the Lead when nobody has the number."""
	ad = ensure_ad(referral, message.received_at)
	contact = (message.contact_doctype, message.contact_name) if message.contact_name else None
	contact = contact or earlier_lead(message.phone, message.user_id)
	lead = None
	if not contact:
		lead = make_lead(message, ad)
		contact = ("Lead", lead)
	if not message.contact_name:
		frappe.db.set_value(
			"WhatsApp Message",
			message.name,
			{"contact_doctype": contact[0], "contact_name": contact[1]},
			update_modified=False,
		)
		message.contact_doctype, message.contact_name = contact
	kept = frappe.get_doc(
		{
			"doctype": "WhatsApp Ad Referral",
			"ad": ad.name,
			"message": message.name,
			"received_at": message.received_at,
			"attribution_until": add_days(get_datetime(message.received_at), CLICK_ID_DAYS),
			"ctwa_clid": referral.ctwa_clid,
			"phone": message.phone,
			"user_id": message.user_id,
			"contact_doctype": contact[0],
			"contact_name": contact[1],
			"lead": lead,
		}
	).insert(ignore_permissions=True)
	if lead:
		conversions.queue_lead_submitted(lead, kept)


def ensure_ad(referral, seen_at):
	"""The WhatsApp Ad of Meta's source id, made with its own ERPNext Campaign when first seen."""
	if frappe.db.exists("WhatsApp Ad", referral.source_id):
		return frappe.get_doc("WhatsApp Ad", referral.source_id)
	ad = frappe.get_doc(
		{
			"doctype": "WhatsApp Ad",
			"ad_id": referral.source_id,
			"headline": referral.headline,
			"source_type": referral.source_type if referral.source_type in ("ad", "post") else "ad",
			"source_url": referral.source_url,
			"body": referral.body,
			"media_type": referral.media_type,
			"media_url": referral.media_url,
			"first_referral_at": seen_at,
			"campaign": ensure_erpnext_campaign(
				campaign_title(referral), f"Click-to-WhatsApp {referral.source_type} {referral.source_id}"
			),
		}
	)
	ad.insert(ignore_permissions=True)
	return ad


def campaign_title(referral) -> str:
	"""The ad's headline, or its id; a Campaign of that name that another ad owns already gets
	the ad id added, so every ad has a Campaign of its own."""
	title = (referral.headline or f"{referral.source_type.title()} {referral.source_id}")[:100]
	existing = frappe.db.get_value("Campaign", {"campaign_name": title})
	if existing and frappe.db.exists("WhatsApp Ad", {"campaign": existing}):
		title = f"{title} ({referral.source_id[-12:]})"
	return title


def earlier_lead(phone: str | None, user_id: str | None) -> tuple[str, str] | None:
	"""The Lead an earlier ad message made for the same person (someone known only by a
	WhatsApp user ID is not found by number)."""
	for field, value in (("phone", phone), ("user_id", user_id)):
		if value:
			lead = frappe.db.get_value("WhatsApp Ad Referral", {field: value, "lead": ("is", "set")}, "lead")
			if lead and frappe.db.exists("Lead", lead):
				return "Lead", lead
	return None


def make_lead(message, ad) -> str:
	name = (message.profile_name or message.phone or message.user_id or "WhatsApp ad lead")[:140]
	lead = frappe.get_doc(
		{
			"doctype": "Lead",
			"first_name": name,
			"mobile_no": message.phone,
			"whatsapp_no": message.phone,
			"source": AD_SOURCE,
			"campaign_name": ad.campaign,
		}
	)
	lead.insert(ignore_permissions=True)
	return lead.name
