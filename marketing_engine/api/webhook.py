"""Meta's WhatsApp webhook: ``/api/method/marketing_engine.api.webhook.whatsapp``."""

import frappe
from werkzeug.wrappers import Response

from marketing_engine.engine import webhook
from marketing_engine.inbox import handle_events


@frappe.whitelist(allow_guest=True, methods=["GET", "POST"])
def whatsapp(**kwargs) -> Response:
	if frappe.request.method == "GET":
		return _verify_subscription()
	raw = frappe.request.get_data(cache=True)
	account = _account_that_signed(raw, frappe.request.headers.get(webhook.SIGNATURE_HEADER))
	if account is None:
		return _refuse(403, "Signature does not match any WhatsApp Account's app secret")
	try:
		events = webhook.parse(raw)
	except webhook.WebhookError as e:
		return _refuse(e.status, str(e))
	handle_events(account, events)
	return Response("OK", status=200, mimetype="text/plain")


def _verify_subscription() -> Response:
	tokens = frappe.get_all("WhatsApp Account", filters={"enabled": 1}, pluck="webhook_verify_token")
	try:
		challenge = webhook.verify_subscription(frappe.request.args, [t for t in tokens if t])
	except webhook.WebhookError as e:
		return _refuse(e.status, str(e))
	return Response(challenge, status=200, mimetype="text/plain")


def _account_that_signed(raw: bytes, signature: str | None) -> str | None:
	"""The account whose app secret signed ``raw``. Meta signs with the app's secret, and the
	System and Business accounts may belong to different apps, so each one is tried."""
	if not signature:
		return None
	for name in frappe.get_all("WhatsApp Account", filters={"enabled": 1}, pluck="name"):
		secret = frappe.get_doc("WhatsApp Account", name).get_app_secret()
		if webhook.signature_matches(raw, signature, secret):
			return name
	return None


def _refuse(status: int, reason: str) -> Response:
	frappe.logger("marketing_engine").warning(f"WhatsApp webhook refused ({status}): {reason}")
	return Response(reason, status=status, mimetype="text/plain")
