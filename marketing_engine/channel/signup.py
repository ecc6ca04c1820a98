"""Connecting a studio's WhatsApp Business Account through Meta's Embedded Signup.

Meta's popup gives the browser a one-time code and names the WABA and the phone number; the rest
happens here, server side: the code becomes a business token, the platform's app subscribes to
the WABA's webhooks (pointed at this site), the number is registered for the Cloud API when it
is not yet, and its display number, name, quality, messaging limit and the WABA's billing are
read (the core's :func:`marketing_engine.engine.signup.onboard`). Only then is the Business
WhatsApp Account written, with the token encrypted, and checked and synced like a manual one.
Nothing is written when a step fails, and connecting the same number again updates its account.
"""

import secrets

import frappe
from frappe import _
from frappe.utils import now_datetime

from marketing_engine import desk
from marketing_engine.channel.webhooks import WEBHOOK_PATH
from marketing_engine.engine.signup import MetaApp, SignupError, onboard

# Meta's Graph API version for the JS SDK and the server calls of a signup, unless the settings say.
DEFAULT_GRAPH_VERSION = "v24.0"
DEFAULT_GRAPH_URL = "https://graph.facebook.com"


def meta_app() -> MetaApp | None:
	"""The platform's Meta app from Marketing Settings; None until its ID and secret are set."""
	settings = frappe.get_single("Marketing Settings")
	secret = settings.get_password("meta_app_secret", raise_exception=False)
	if not (settings.meta_app_id and secret):
		return None
	return MetaApp(
		app_id=settings.meta_app_id.strip(),
		app_secret=secret,
		base_url=(settings.graph_base_url or DEFAULT_GRAPH_URL).strip().rstrip("/"),
		api_version=(settings.graph_api_version or DEFAULT_GRAPH_VERSION).strip(),
	)


def setup_problem() -> str | None:
	"""Why the Connect WhatsApp button cannot open Meta's signup yet, in the studio's words."""
	settings = frappe.get_single("Marketing Settings")
	if not meta_app():
		return _(
			"Connect WhatsApp needs the platform's Meta app: set its App ID and App Secret in "
			"Marketing Settings (or run the sandbox command to try it with the simulator). Studios "
			"with their own Meta app can instead fill in a WhatsApp Account by hand."
		)
	if not (settings.signup_config_id or settings.signup_stand_in):
		return _("Set the Embedded Signup Configuration ID of the Meta app in Marketing Settings.")
	return None


def connect(code: str, waba_id: str | None, phone_number_id: str | None) -> dict:
	"""Finish a signup: everything at Meta first, then the account; returns what the form shows."""
	app = meta_app()
	if not app:
		frappe.throw(setup_problem(), title=_("Connect WhatsApp is not set up"))
	existing = (
		frappe.db.get_value("WhatsApp Account", {"phone_number_id": phone_number_id})
		if phone_number_id
		else None
	)
	pin = (
		frappe.get_doc("WhatsApp Account", existing).get_password("registration_pin", raise_exception=False)
		if existing
		else None
	) or f"{secrets.randbelow(10**6):06d}"
	verify_token = webhook_verify_token(existing)
	# Meta checks the callback with this token before the account that will hold it exists.
	expect_verify_token(verify_token)
	try:
		onboarded = onboard(
			app,
			(code or "").strip(),
			(waba_id or "").strip() or None,
			(phone_number_id or "").strip() or None,
			pin,
			callback_url=frappe.utils.get_url(WEBHOOK_PATH),
			verify_token=verify_token,
		)
	except SignupError as e:
		# Nothing of the signup was written, so committing keeps only the log, which the throw
		# below would otherwise roll back with the request.
		frappe.log_error(f"WhatsApp signup failed at {e.step}", str(e))
		frappe.db.commit()
		frappe.throw(
			_(
				"Meta's signup did not finish ({0}): {1}. Nothing was connected; run Connect WhatsApp again."
			).format(STEP_LABELS.get(e.step, e.step), e.message),
			title=_("WhatsApp was not connected"),
		)
	existing = existing or frappe.db.get_value(
		"WhatsApp Account", {"phone_number_id": onboarded.phone_number_id}
	)
	account = frappe.get_doc("WhatsApp Account", existing) if existing else frappe.new_doc("WhatsApp Account")
	if account.is_new():
		account.account_name = unique_account_name(onboarded.verified_name or onboarded.display_phone_number)
		account.purpose = "Business"
		account.enabled = 1
	account.webhook_verify_token = verify_token
	account.update(
		{
			"connected_via": "Embedded Signup",
			"connected_at": now_datetime(),
			"connected_by": frappe.session.user,
			"meta_app_id": app.app_id,
			"phone_number_id": onboarded.phone_number_id,
			"waba_id": onboarded.waba_id,
			"access_token": onboarded.access_token,
			# Meta signs a Tech Provider's webhooks with the platform app's secret.
			"app_secret": app.app_secret,
			"base_url": app.base_url,
			"api_version": app.api_version,
			"registration_pin": pin,
			"display_phone_number": onboarded.display_phone_number,
			"verified_name": onboarded.verified_name,
			"quality_rating": onboarded.quality_rating,
			"messaging_limit": onboarded.messaging_limit,
		}
	)
	account.set_payment_state(onboarded.payment)
	account.save()
	health = account.check_health()
	synced = account.sync_templates()
	settings = frappe.get_single("Marketing Settings")
	if not settings.default_business_account:
		frappe.db.set_single_value("Marketing Settings", "default_business_account", account.name)
	desk.done(desk.CONNECT)
	return {
		"account": account.name,
		"can_send": health["can_send"],
		"registered_now": onboarded.registered_now,
		"templates": synced["synced"],
		"summary": _("{0} ({1}) is connected: health {2}, {3} templates synced. {4}").format(
			account.display_phone_number or account.phone_number_id,
			account.verified_name or account.account_name,
			health["health_status"],
			synced["synced"],
			account.payment_detail or "",
		),
	}


STEP_LABELS = {
	"code": "exchanging Meta's code for a token",
	"waba": "finding the WhatsApp Business Account",
	"subscribe": "subscribing to the account's webhooks",
	"number": "reading the phone number",
	"register": "registering the number for the Cloud API",
	"account": "reading the WhatsApp Business Account",
}


PENDING_VERIFY_TOKEN_SECONDS = 600


def expect_verify_token(token: str) -> None:
	"""Let Meta's handshake for a signup in progress use ``token`` for ten minutes."""
	frappe.cache.set_value(
		f"marketing_engine:signup_verify_token:{token}", 1, expires_in_sec=PENDING_VERIFY_TOKEN_SECONDS
	)


def is_expected_verify_token(token: str | None) -> bool:
	return bool(token) and bool(frappe.cache.get_value(f"marketing_engine:signup_verify_token:{token}"))


def webhook_verify_token(account: str | None) -> str:
	if account:
		token = frappe.db.get_value("WhatsApp Account", account, "webhook_verify_token")
		if token:
			return token
	return secrets.token_urlsafe(24)


def unique_account_name(base: str) -> str:
	base = (base or _("WhatsApp Business")).strip()
	name, n = base, 2
	while frappe.db.exists("WhatsApp Account", name):
		name, n = f"{base} {n}", n + 1
	return name
