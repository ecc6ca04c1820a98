"""Meta's WhatsApp webhook: ``/api/method/marketing_engine.api.webhook.whatsapp``.

The request does only what must happen before Meta gets its 200: verify the signature, check the
payload is a WhatsApp webhook, and store it (see :mod:`marketing_engine.webhook_events`).
"""

import time

import frappe
from werkzeug.wrappers import Response

from marketing_engine.background import plain_redis, site_key
from marketing_engine.engine import webhook
from marketing_engine.webhook_events import store

WEBHOOK_PATH = "/api/method/marketing_engine.api.webhook.whatsapp"

# Decrypting every enabled account's app secret costs more than the rest of the request. The
# decrypted secrets stay in this process (never in Redis), tagged with a version that is bumped
# in Redis whenever an account changes, so an edited secret is used at the next request.
_secrets: dict[str, tuple[str, list[tuple[str, str]], float]] = {}
# How long a web worker trusts its copy before asking Redis whether an account changed.
VERSION_CHECK_SECONDS = 1.0


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
	try:
		challenge = webhook.verify_subscription(frappe.request.args, [t for t in tokens if t])
	except webhook.WebhookError as e:
		return _refuse(e.status, str(e))
	return Response(challenge, status=200, mimetype="text/plain")


def account_that_signed(raw: bytes, signature: str | None) -> str | None:
	"""The account whose app secret signed ``raw``. Meta signs with the app's secret, and the
	System and Business accounts may belong to different apps, so each one is tried."""
	if not signature:
		return None
	for name, secret in app_secrets():
		if webhook.signature_matches(raw, signature, secret):
			return name
	return None


def app_secrets() -> list[tuple[str, str]]:
	cached = _secrets.get(frappe.local.site)
	if cached and time.monotonic() - cached[2] < VERSION_CHECK_SECONDS:
		return cached[1]
	version = (plain_redis().get(secrets_version_key()) or b"0").decode()
	if cached and cached[0] == version:
		_secrets[frappe.local.site] = (version, cached[1], time.monotonic())
		return cached[1]
	secrets = [
		(name, frappe.get_doc("WhatsApp Account", name).get_app_secret())
		for name in frappe.get_all("WhatsApp Account", filters={"enabled": 1}, pluck="name")
	]
	_secrets[frappe.local.site] = (version, secrets, time.monotonic())
	return secrets


def forget_app_secrets(doc=None, method=None) -> None:
	"""Called when a WhatsApp Account is saved or deleted. This process forgets its secrets at
	once; every other web worker reloads them within ``VERSION_CHECK_SECONDS`` of the commit. The
	version moves only after the commit, or a worker could reload the old secrets in between and
	keep them under the new version."""
	_secrets.pop(frappe.local.site, None)
	frappe.db.after_commit.add(_bump_secrets_version)


def _bump_secrets_version() -> None:
	plain_redis().incr(secrets_version_key())


def secrets_version_key() -> str:
	return site_key("whatsapp-app-secrets-version")


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
