"""Tracked links: every link a campaign or a drip step sends goes through ``/r/<token>`` on the
studio's site, so that a click belongs to a person and a booking to the campaign that earned it.

A template variable mapped to a **Tracked Link** (a destination URL) becomes, per message, a link
with an unguessable token: the full ``https://<site>/r/<token>`` in the body, or the token alone
as the suffix of a URL button (whose URL in the template is ``https://<site>/r/{{1}}``). The
redirect records the click (not WhatsApp's link-preview fetch, not bots), adds ``utm_source``,
``utm_medium=whatsapp`` and ``utm_campaign`` to the destination, remembers them in a cookie for the
booking form, and answers 302. An unknown or forged token goes to the site's home, records
nothing and shows nothing.
"""

from urllib.parse import urlsplit

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime
from frappe.website.page_renderers.base_renderer import BaseRenderer
from frappe.website.path_resolver import resolve_path as frappe_resolve_path
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from marketing_engine.engine.tracking import is_link_preview_or_bot, looks_like_token, new_token, with_utm

ROUTE = "r"
COOKIE = "whatsapp_utm"
COOKIE_DAYS = 30
TRACKED_LINK = "Tracked Link"


def tracked_url(token: str) -> str:
	return get_url(f"/{ROUTE}/{token}")


def landing_url(destination: str) -> str:
	"""Where a Tracked Link leads, as the redirect needs it. A path (``/book``) is a page of the
	studio's own site. A web form's own address is swapped for the page it redirects to
	(``/book/new``), because Frappe's redirect drops the query, and with it the utm values that
	the studio's analytics and the booking form read."""
	written = (destination or "").strip()
	if written.startswith("/") and not written.startswith("//"):
		written = get_url(written)
	parts = urlsplit(written)
	if parts.netloc == urlsplit(get_url()).netloc:
		route = parts.path.strip("/")
		web_form = route and frappe.db.get_value(
			"Web Form", {"route": route, "published": 1}, ["show_list"], as_dict=True
		)
		if web_form:
			page = "list" if web_form.show_list else "new"
			written = parts._replace(path=f"/{route}/{page}").geturl()
	return written


def check_tracked_link(destination: str, label: str) -> None:
	"""Refuse, when it is saved, a destination that no click could be sent to."""
	try:
		with_utm(landing_url(destination), "check", "check")
	except ValueError:
		frappe.throw(
			_(
				"{0}: a Tracked Link leads to a web address (https://...) or a page of this site (/book), not {1}"
			).format(label, frappe.bold(destination or _("nothing"))),
			title=_("Tracked Link"),
		)


def tracked_link_values(
	rows: list[dict], mappings: list, button_variables: set[str], origin: dict, preview: bool = False
) -> dict[str, dict[str, str]]:
	"""For each message row (``name``, ``phone``, ``contact_doctype``, ``contact_name``), the values
	of its Tracked Link variables: a URL in the body, the token alone for a URL button. Links are
	written once per message and variable, so a message prepared again (a retry) keeps its link.
	``origin`` says whose links they are (campaign or drip sequence and step, utm values)."""
	tracked = [
		(m.variable, landing_url(m.value)) for m in mappings if m.value_type == TRACKED_LINK and m.value
	]
	if not tracked or not rows:
		return {}
	if preview:
		return {row["name"]: {v: tracked_url("…") for v, _ in tracked} for row in rows}
	existing = {
		(link.message, link.variable): link.name
		for link in frappe.get_all(
			"WhatsApp Link",
			filters={"message": ("in", [row["name"] for row in rows])},
			fields=["name", "message", "variable"],
		)
	}
	now = now_datetime()
	new_links = []
	values: dict[str, dict[str, str]] = {}
	for row in rows:
		for variable, destination in tracked:
			token = existing.get((row["name"], variable))
			if not token:
				token = new_token()
				new_links.append(
					(
						token, now, now, "Administrator", "Administrator", token, destination, row["name"], variable,
						origin.get("campaign"), origin.get("drip_sequence"), origin.get("drip_step") or 0,
						origin.get("utm_source"), origin.get("utm_campaign"), row.get("phone") or row.get("user_id"),
						row.get("contact_doctype"), row.get("contact_name"),
					)
				)  # fmt: skip
			values.setdefault(row["name"], {})[variable] = (
				token if variable in button_variables else tracked_url(token)
			)
	if new_links:
		frappe.db.bulk_insert(
			"WhatsApp Link",
			[
				"name", "creation", "modified", "owner", "modified_by", "token", "destination", "message",
				"variable", "campaign", "drip_sequence", "drip_step", "utm_source", "utm_campaign", "phone",
				"contact_doctype", "contact_name",
			],
			new_links,
		)  # fmt: skip
	return values


def follow(token: str, user_agent: str | None, method: str) -> tuple[str, dict | None]:
	"""Where ``token`` leads, recording the click when a person made it. Returns the location and
	the utm values to remember (None for a token that is not ours)."""
	if not looks_like_token(token):
		return get_url("/"), None
	link = frappe.db.get_value(
		"WhatsApp Link",
		token,
		[
			"name",
			"destination",
			"message",
			"campaign",
			"drip_sequence",
			"utm_source",
			"utm_campaign",
			"phone",
		],
		as_dict=True,
	)
	if not link:
		return get_url("/"), None
	try:
		location = with_utm(link.destination, link.utm_source, link.utm_campaign)
	except ValueError:
		return get_url("/"), None  # a destination that is no web address: nowhere but home
	if not is_link_preview_or_bot(user_agent, method):
		frappe.db.sql(
			"""insert into `tabWhatsApp Link Click` (name, creation, modified, owner, modified_by, docstatus, idx,
				link, message, campaign, drip_sequence, phone, clicked_at, user_agent)
			values (nextval(`whatsapp_link_click_id_seq`), %(now)s, %(now)s, 'Guest', 'Guest', 0, 0, %(link)s,
				%(message)s, %(campaign)s, %(drip_sequence)s, %(phone)s, %(now)s, %(user_agent)s)""",
			{**link, "link": link.name, "now": now_datetime(), "user_agent": (user_agent or "")[:500]},
		)
	return location, {"utm_source": link.utm_source, "utm_campaign": link.utm_campaign, "link": link.name}


def is_tracked_path(path: str) -> bool:
	parts = path.strip("/").split("/")
	return len(parts) == 2 and parts[0] == ROUTE


def resolve_path(path: str) -> str:
	"""``website_path_resolver`` hook. Frappe resolves a path by building a router of every web
	page and web view of the site's apps, on every request: two thirds of a click's time. A
	tracked link needs none of it; every other path is resolved by Frappe as before."""
	if is_tracked_path(path):
		frappe.local.path = path
		return path
	return frappe_resolve_path(path)


class TrackedLinkRedirect(BaseRenderer):
	"""``page_renderer`` hook: answers ``/r/<token>`` before Frappe looks for a page."""

	def can_render(self) -> bool:
		return is_tracked_path(self.path)

	def render(self) -> Response:
		request = frappe.local.request
		location, remembered = follow(
			self.path.split("/")[1], request.headers.get("User-Agent"), request.method
		)
		response = redirect(location, code=302)
		response.headers["Cache-Control"] = "no-store"  # every click must reach the site
		if remembered:
			frappe.local.flags.commit = True  # a GET: Frappe commits it only when asked
			response.set_cookie(
				COOKIE,
				# Two url-safe values, so that no cookie quoting gets in the booking form's way.
				f"{remembered['utm_source']}|{remembered['link']}",
				max_age=COOKIE_DAYS * 24 * 3600,
				samesite="Lax",
				httponly=False,  # the booking form's script reads it
			)
		return response
