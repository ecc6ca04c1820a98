"""Meta's WhatsApp webhook: ``/api/method/marketing_engine.api.webhook.whatsapp``.

The request does only what must happen before Meta gets its 200: verify the signature, check the
payload is a WhatsApp webhook, and store it (see :mod:`marketing_engine.channel.webhooks`).
"""

import frappe
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
	raw = frappe.request.get_data(cache=True)
	account = account_that_signed(raw, frappe.request.headers.get(webhook.SIGNATURE_HEADER))
	if account is None:
		return _refuse(403, "Signature does not match any WhatsApp Account's app secret")
	try:
		events = webhook.parse(raw)
	except webhook.WebhookError as e:
		return _refuse(e.status, str(e))
	store(account, raw, events)
	return Response("OK", status=200, mimetype="text/plain")


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
	body that is not JSON with a 500 and a traceback; Meta (or anyone probing the endpoint) should
	get a plain 400 instead, and nothing is stored."""
	if (
		response is None
		or request.path != WEBHOOK_PATH
		or request.method != "POST"
		or response.status_code != 500
	):
		return
	try:
		frappe.parse_json(request.get_data(as_text=True))
	except ValueError as e:
		response.status_code = 400
		response.mimetype = "text/plain"
		response.set_data(f"Body is not JSON: {e}")


def _refuse(status: int, reason: str) -> Response:
	frappe.logger("marketing_engine").warning(f"WhatsApp webhook refused ({status}): {reason}")
	return Response(reason, status=status, mimetype="text/plain")
