"""Tracked links: every link a campaign or a drip step sends goes through ``/r/<token>`` on the
studio's site, so that a click belongs to a person and a booking to the campaign that earned it.

A template variable mapped to a **Tracked Link** (a destination URL) becomes, per message, a link
with an unguessable token: the full ``https://<site>/r/<token>`` in the body, or the token alone
as the suffix of a URL button (whose URL in the template is ``https://<site>/r/{{1}}``). The
redirect keeps the click (not WhatsApp's link-preview fetch, not bots; clicks.py writes it),
adds ``utm_source``, ``utm_medium=whatsapp`` and ``utm_campaign`` to the destination, remembers
them in a cookie for the booking form, and answers 302. An unknown or forged token goes to the site's home, records
nothing and shows nothing.
"""

from urllib.parse import urlsplit

import frappe
from frappe import _
from frappe.utils import get_url, now_datetime
from werkzeug.exceptions import abort
from werkzeug.utils import redirect

from marketing_engine.engine.tracking import is_link_preview_or_bot, looks_like_token, new_token, with_utm
from marketing_engine.roi import clicks

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
	"""Where ``token`` leads, keeping the click when a person made it (see clicks.py). Returns the
	location and the utm values to remember (None for a token that is not ours)."""
	if not looks_like_token(token):
		return get_url("/"), None
	# Plain SQL by primary key: the query builder behind db.get_value costs more than the read.
	found = frappe.db.sql(
		"""select name, destination, message, campaign, drip_sequence, utm_source, utm_campaign, phone
		from `tabWhatsApp Link` where name = %s""",
		token,
		as_dict=True,
	)
	if not found:
		return get_url("/"), None
	link = found[0]
	try:
		location = with_utm(link.destination, link.utm_source, link.utm_campaign)
	except ValueError:
		return get_url("/"), None  # a destination that is no web address: nowhere but home
	if not is_link_preview_or_bot(user_agent, method):
		clicks.remember(link, user_agent)
	return location, {"utm_source": link.utm_source, "utm_campaign": link.utm_campaign, "link": link.name}


def tracked_token(path: str) -> str | None:
	"""The token of a ``/r/<token>`` path, None for any other path."""
	parts = path.strip("/").split("/")
	return parts[1] if len(parts) == 2 and parts[0] == ROUTE else None


def redirect_tracked_link() -> None:
	"""``before_request`` hook: answers ``/r/<token>`` as soon as the session is known. A click
	needs nothing of Frappe's website machinery, which a page request goes through next (the 404
	cache, the redirect rules read from the database, the path resolver, the page renderers) and
	which cost more than the click itself. Every other request goes on untouched."""
	request = frappe.local.request
	if request.method not in ("GET", "HEAD") or not (token := tracked_token(request.path)):
		return
	location, remembered = follow(token, request.headers.get("User-Agent"), request.method)
	response = redirect(location, code=302)
	response.headers["Cache-Control"] = "no-store"  # every click must reach the site
	if remembered:
		response.set_cookie(
			COOKIE,
			# Two url-safe values, so that no cookie quoting gets in the booking form's way.
			f"{remembered['utm_source']}|{remembered['link']}",
			max_age=COOKIE_DAYS * 24 * 3600,
			samesite="Lax",
			httponly=False,  # the booking form's script reads it
		)
	abort(response)  # werkzeug's way to answer with a finished response; Frappe returns it as is
