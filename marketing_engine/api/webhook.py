"""Meta's WhatsApp webhook: ``/api/method/marketing_engine.api.webhook.whatsapp``.

The request does only what must happen before Meta gets its 200: verify the signature, check the
payload is a WhatsApp webhook, and keep it in the intake journal (see
:mod:`marketing_engine.channel.webhooks`).

A POST is answered by the ``before_request`` hook :func:`accept_before_frappe`, as soon as Frappe
knows the site, skipping the rest of a Frappe request (the method's lookup and checks, the JSON
response, the session's save): a campaign at 80 msg/s brings 240 webhooks a second. What Frappe
does before any hook (the database connection, the session, the body parsed) it still does, so a
webhook costs about what a ping does (see the README's benchmark). The
whitelisted method stays for the GET handshake and for anything that reaches it by another road.
"""

import frappe
from werkzeug.exceptions import abort
from werkzeug.wrappers import Response

from marketing_engine.channel.signup import is_expected_verify_token
from marketing_engine.channel.webhooks import WEBHOOK_PATH, account_that_signed, store
from marketing_engine.engine import webhook


# xss_safe: the raw body is verified and stored as received; Frappe's HTML sanitizing of a
# guest's arguments would only cost time on every webhook.
@frappe.whitelist(allow_guest=True, methods=["GET", "POST"], xss_safe=True)
def whatsapp(**kwargs) -> Response:
	if frappe.request.method == "GET":
		return _verify_subscription()
	return accept(frappe.request)


def accept(request) -> Response:
	"""Verify and store one POSTed webhook; the answer for Meta (200 once it is stored)."""
	if (request.content_length or 0) > MAX_BODY_BYTES:
		return _refuse(413, too_large())
	raw = request.get_data(cache=True)
	if len(raw) > MAX_BODY_BYTES:  # a chunked body says no length up front
		return _refuse(413, too_large())
	account = account_that_signed(raw, request.headers.get(webhook.SIGNATURE_HEADER))
	if account is None:
		return _refuse(403, "Signature does not match any WhatsApp Account's app secret")
	try:
		webhook.parse(raw)
	except webhook.WebhookError as e:
		return _refuse(e.status, str(e))
	store(account, raw)
	return Response("OK", status=200, mimetype="text/plain")


def accept_before_frappe() -> None:
	"""``before_request`` hook: a POST to the webhook is verified and kept here, and answered
	without the rest of Frappe's request. The 200 goes only once the body is on the disk (the
	intake journal), so an answered webhook is kept whatever dies next (the applier job, the
	queue Redis, MariaDB)."""
	request = frappe.local.request
	if request.method != "POST" or request.path != WEBHOOK_PATH:
		return
	abort(accept(request))


# Meta's webhook payloads are at most 3 MB; a bigger body is not Meta's and is refused before its
# signature is checked or anything is stored (MariaDB's packet limit would otherwise drop the
# connection on the insert). Frappe itself has read it by then (up to the site's max_file_size).
MAX_BODY_BYTES = 3 * 1024 * 1024


def too_large() -> str:
	return f"Body larger than {MAX_BODY_BYTES // (1024 * 1024)} MB: not a WhatsApp webhook"


def _verify_subscription() -> Response:
	tokens = frappe.get_all("WhatsApp Account", filters={"enabled": 1}, pluck="webhook_verify_token")
	offered = frappe.request.args.get("hub.verify_token")
	if is_expected_verify_token(offered):  # a signup in progress: its account is not made yet
		tokens.append(offered)
	try:
		challenge = webhook.verify_subscription(frappe.request.args, [t for t in tokens if t])
	except webhook.WebhookError as e:
		return _refuse(e.status, str(e))
	return Response(challenge, status=200, mimetype="text/plain")


def answer_bad_json_with_400(response, request) -> None:
	"""``after_request`` hook. Frappe parses a JSON body before any app code runs and answers a
	body it cannot parse with a 500 and a traceback: not JSON, or nested so deep that Python's
	parser runs out of stack (a ``RecursionError``). Meta, or anyone probing the endpoint, gets a
	plain 400 instead (413 for a body over the limit), and nothing was stored."""
	if (
		response is None
		or request.path != WEBHOOK_PATH
		or request.method != "POST"
		or response.status_code != 500
	):
		return
	if (request.content_length or 0) > MAX_BODY_BYTES:
		status, reason = 413, too_large()
	else:
		try:
			frappe.parse_json(request.get_data(as_text=True))
			return  # the body parses: the 500 is something else, and stays one
		except RecursionError:
			status, reason = 400, "Body is nested too deeply: not a WhatsApp webhook"
		except ValueError as e:
			status, reason = 400, f"Body is not JSON: {e}"
	response.status_code = status
	response.mimetype = "text/plain"
	response.set_data(reason)


def _refuse(status: int, reason: str) -> Response:
	frappe.logger("marketing_engine").warning(f"WhatsApp webhook refused ({status}): {reason}")
	return Response(reason, status=status, mimetype="text/plain")
