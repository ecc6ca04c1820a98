"""Which campaign or sequence brought a booking, recorded in ERPNext's own fields.

ERPNext has no utm fields: Lead has ``campaign_name``, Opportunity, Quotation and Sales Order have
``campaign`` and ``source``, and its Campaign Efficiency report reads them. So every WhatsApp
Campaign and Drip Sequence owns an ERPNext Campaign and a ``utm_source``; a Lead from the booking
form carries the campaign it came from; and a Sales Order submitted without one gets the last
WhatsApp touch of its customer within the attribution window (a click on a tracked link, a reply,
or a landing from a campaign link). An **Attribution** row says which, with the revenue.
"""

import re
from datetime import timedelta

import frappe
from frappe import _
from frappe.utils import get_datetime, now_datetime

from marketing_engine.channel.numbers import whatsapp_number_of
from marketing_engine.channel.people import account_manager
from marketing_engine.engine.tracking import Touch, last_touch
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

SOURCE = "WhatsApp"  # ERPNext Lead Source, created on install
AD_SOURCE = "WhatsApp Ad"  # ERPNext Lead Source of Click-to-WhatsApp ad leads
TOUCH_LABELS = {"utm_landing": "UTM Landing", "click": "Click", "reply": "Reply", "ad": "Ad"}


# -- campaigns and their keys ------------------------------------------------------------------
def utm_source_for(title: str, doctype: str, name: str | None = None) -> str:
	"""A url-safe utm_source from a campaign's or sequence's title, unique across both."""
	base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "whatsapp"
	candidate, n = base, 1
	while any(
		frappe.db.get_value(other, {"utm_source": candidate, "name": ("!=", name or "")})
		for other in ("WhatsApp Campaign", "Drip Sequence")
	):
		n += 1
		candidate = f"{base}-{n}"
	return candidate


def ensure_erpnext_campaign(title: str, description: str) -> str:
	"""ERPNext's Campaign of that name, made when missing: the key bookings are attributed by."""
	existing = frappe.db.get_value("Campaign", {"campaign_name": title})
	if existing:
		return existing
	campaign = frappe.get_doc({"doctype": "Campaign", "campaign_name": title, "description": description})
	campaign.insert(ignore_permissions=True)
	return campaign.name


def origin_of_utm(utm_source: str | None) -> tuple[str, str] | None:
	"""("WhatsApp Campaign" or "Drip Sequence", name) for a utm_source the app gave out."""
	return _origin_where("utm_source", utm_source)


def erpnext_campaign_of(origin: tuple[str, str]) -> str | None:
	return frappe.db.get_value(origin[0], origin[1], "campaign")


def origin_of_erpnext_campaign(campaign: str | None) -> tuple[str, str] | None:
	"""The campaign, drip sequence or Click-to-WhatsApp ad (WhatsApp Ad) owning an ERPNext Campaign."""
	origin = _origin_where("campaign", campaign)
	if origin or not campaign:
		return origin
	ad = frappe.db.get_value("WhatsApp Ad", {"campaign": campaign})
	return ("WhatsApp Ad", ad) if ad else None


def _origin_where(field: str, value: str | None) -> tuple[str, str] | None:
	"""The campaign or drip sequence whose ``field`` is ``value``."""
	if not value:
		return None
	for doctype in ("WhatsApp Campaign", "Drip Sequence"):
		name = frappe.db.get_value(doctype, {field: value})
		if name:
			return doctype, name
	return None


# -- leads and quotations ----------------------------------------------------------------------
def lead_from_link(doc, method=None) -> None:
	"""doc_events Lead before_insert: a lead whose form carried a utm_source of ours (from the
	link's query or the cookie the redirect set) gets its campaign and source, and is tied to the
	customer who already has the number."""
	origin = origin_of_utm(doc.get("utm_source"))
	if origin and not doc.campaign_name:
		doc.campaign_name = erpnext_campaign_of(origin)
	if origin and not doc.source:
		doc.source = SOURCE
	number = whatsapp_number_of(doc.get("mobile_no"), get_settings().region_code)[0]
	if number and not doc.get("customer"):
		doc.customer = frappe.db.get_value("Customer", {"whatsapp_number": number})
	if doc.get("lead_owner") in (None, "", "Guest"):
		# ERPNext makes the visitor who filled the form, Guest, the owner of their lead; the lead,
		# and any reply handed over from it, belongs with someone at the studio.
		doc.lead_owner = studio_owner_of_lead(doc, origin)


def studio_owner_of_lead(doc, origin: tuple[str, str] | None) -> str | None:
	"""The customer's account manager, the user campaign replies are handed to, or whoever made
	the campaign or sequence the visitor came from."""
	manager = account_manager(("Customer", doc.customer)) if doc.get("customer") else None
	if manager:
		return manager
	settings = get_settings()
	if settings.hand_over_campaign_replies and settings.campaign_reply_user:
		return settings.campaign_reply_user
	if origin:
		maker = frappe.db.get_value(origin[0], origin[1], "owner")
		if maker not in (None, "Guest"):
			return maker
	return None


def tie_lead_to_customer(doc, method=None) -> None:
	"""doc_events Lead after_insert: an inquiry from someone who is a customer already is that
	customer's lead, in ERPNext's own link (Customer.lead_name, when the customer has none), so a
	Quotation to the lead becomes the customer's Sales Order, not a second customer."""
	if not doc.get("customer"):
		return
	if not frappe.db.get_value("Customer", doc.customer, "lead_name"):
		frappe.db.set_value("Customer", doc.customer, "lead_name", doc.name, update_modified=False)
	# The contact ERPNext made for the lead is the customer's person too: the order the lead
	# becomes may name it.
	for contact in frappe.get_all(
		"Dynamic Link",
		filters={"parenttype": "Contact", "link_doctype": "Lead", "link_name": doc.name},
		pluck="parent",
	):
		contact = frappe.get_doc("Contact", contact)
		if not any(l.link_doctype == "Customer" and l.link_name == doc.customer for l in contact.links):
			contact.append("links", {"link_doctype": "Customer", "link_name": doc.customer})
			contact.save(ignore_permissions=True)


def quotation_campaign(doc, method=None) -> None:
	"""doc_events Quotation validate: ERPNext maps a Lead's campaign_name onto an Opportunity but
	not onto a Quotation made from the Lead; it is copied here so the Sales Order carries it."""
	if doc.quotation_to == "Lead" and doc.party_name and not doc.campaign:
		campaign, source = frappe.db.get_value("Lead", doc.party_name, ["campaign_name", "source"]) or (
			None,
			None,
		)
		if campaign:
			doc.campaign = campaign
			doc.source = doc.source or source


# -- sales orders ------------------------------------------------------------------------------
def before_sales_order_submit(doc, method=None) -> None:
	"""Fill ``campaign`` and ``source`` from the last WhatsApp touch when nobody set them."""
	if doc.campaign:
		return  # set by hand, or carried from the lead: respected
	touch = last_touch_of(doc.customer, now_datetime())
	if touch:
		origin = origin_of_touch(touch)
		doc.campaign = erpnext_campaign_of(origin)
		doc.source = doc.source or (AD_SOURCE if touch.ad else SOURCE)
		doc.flags.whatsapp_touch = touch


def on_sales_order_submit(doc, method=None) -> None:
	"""Write the Attribution row: for the touch found before submit, for a campaign that came
	with the order from a lead of ours, or carried over by an amendment."""
	touch = doc.flags.get("whatsapp_touch")
	origin = origin_of_erpnext_campaign(doc.campaign)
	if not origin:
		return  # no campaign, or one that is not ours
	if touch is None:
		touch = landing_of(doc, origin)
	frappe.get_doc(
		{
			"doctype": "Attribution",
			"sales_order": doc.name,
			"customer": doc.customer,
			"status": "Active",
			"revenue": doc.base_net_total,
			"campaign": origin[1] if origin[0] == "WhatsApp Campaign" else None,
			"drip_sequence": origin[1] if origin[0] == "Drip Sequence" else None,
			"ad": origin[1] if origin[0] == "WhatsApp Ad" else None,
			"drip_step": touch.step if touch else None,
			"erpnext_campaign": doc.campaign,
			"touch": TOUCH_LABELS.get(touch.kind) if touch else None,
			"touch_at": touch.at if touch else None,
			"message": touch.message if touch else None,
			"lead": lead_of(doc),
		}
	).insert(ignore_permissions=True)


def on_sales_order_cancel(doc, method=None) -> None:
	"""A cancelled booking takes its revenue away (an amendment brings it back with its own)."""
	frappe.db.sql(
		"update `tabAttribution` set status='Cancelled' where sales_order=%s and status='Active'", doc.name
	)


def lead_of(order) -> str | None:
	return frappe.db.get_value("Customer", order.customer, "lead_name") if order.customer else None


def landing_of(order, origin) -> Touch | None:
	"""The lead that arrived through the campaign's link, or wrote from the ad: its creation is the
	touch."""
	lead = lead_of(order)
	if lead:
		created = frappe.db.get_value("Lead", lead, "creation")
		if origin[0] == "WhatsApp Ad":
			return Touch("ad", get_datetime(created), ad=origin[1])
		return Touch("utm_landing", get_datetime(created), **_origin_kwargs(origin))
	return None


def _origin_kwargs(origin) -> dict:
	return {"campaign": origin[1]} if origin[0] == "WhatsApp Campaign" else {"sequence": origin[1]}


def origin_of_touch(touch: Touch) -> tuple[str, str]:
	if touch.ad:
		return "WhatsApp Ad", touch.ad
	if touch.campaign:
		return "WhatsApp Campaign", touch.campaign
	return "Drip Sequence", touch.sequence


# -- touches -----------------------------------------------------------------------------------
def addresses_of(customer: str) -> list[str]:
	"""Every number the customer is known by: its own, its contacts', its lead's."""
	numbers = {frappe.db.get_value("Customer", customer, "whatsapp_number")}
	numbers |= set(
		frappe.db.sql(
			"""select c.whatsapp_number from `tabContact` c join `tabDynamic Link` dl on dl.parent = c.name
			where dl.parenttype = 'Contact' and dl.link_doctype = 'Customer' and dl.link_name = %s""",
			customer,
			pluck=True,
		)
	)
	lead = frappe.db.get_value("Customer", customer, "lead_name")
	if lead:
		numbers.add(frappe.db.get_value("Lead", lead, "whatsapp_number"))
	return sorted(n for n in numbers if n)


def last_touch_of(customer: str | None, booked_at) -> Touch | None:
	if not customer:
		return None
	addresses = addresses_of(customer)
	if not addresses:
		return None
	window = get_settings().attribution_window_days or 7
	since = booked_at - timedelta(days=window)
	touches = [
		Touch("click", get_datetime(at), campaign=campaign, sequence=sequence, step=step, message=message)
		for at, campaign, sequence, step, message in frappe.db.sql(
			"""select k.clicked_at, k.campaign, k.drip_sequence, m.drip_step, k.message
			from `tabWhatsApp Link Click` k left join `tabWhatsApp Message` m on m.name = k.message
			where k.phone in %s and k.clicked_at between %s and %s""",
			(addresses, since, booked_at),
		)
	]
	touches += [
		Touch("reply", get_datetime(at), campaign=campaign, sequence=sequence, step=step, message=message)
		for at, campaign, sequence, step, message in frappe.db.sql(
			"""select i.received_at, a.campaign, a.drip_sequence, a.drip_step, a.name
			from `tabWhatsApp Message` i join `tabWhatsApp Message` a on a.name = i.reply_to
			where i.direction = 'Inbound' and i.phone in %s and i.received_at between %s and %s
				and (a.campaign is not null or a.drip_sequence is not null)""",
			(addresses, since, booked_at),
		)
	]
	touches += [
		Touch("ad", get_datetime(at), ad=ad, message=message)
		for at, ad, message in frappe.db.sql(
			"""select r.received_at, r.ad, r.message from `tabWhatsApp Ad Referral` r
			where r.phone in %s and r.received_at between %s and %s""",
			(addresses, since, booked_at),
		)
	]
	return last_touch([t for t in touches if t.campaign or t.sequence or t.ad], booked_at, window)
