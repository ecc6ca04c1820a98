"""The Connect WhatsApp button: what the page needs to open Meta's Embedded Signup, the end of a
signup (Meta's one-time code and session info, handled server side), and the sandbox's stand-in
for Meta's popup."""

import frappe
import requests
from frappe import _

from marketing_engine.channel import signup


def check_can_connect() -> None:
	if not frappe.has_permission("WhatsApp Account", "create"):
		frappe.throw(
			_("Connecting a WhatsApp number needs permission to create WhatsApp Accounts."),
			frappe.PermissionError,
		)


@frappe.whitelist()
def signup_config() -> dict:
	"""The App ID, configuration and SDK version for Meta's popup; never a secret."""
	check_can_connect()
	settings = frappe.get_single("Marketing Settings")
	return {
		"problem": signup.setup_problem(),
		"app_id": settings.meta_app_id,
		"config_id": settings.signup_config_id,
		"sdk_version": settings.graph_api_version or signup.DEFAULT_GRAPH_VERSION,
		"stand_in": bool(settings.signup_stand_in),
		"default_business_name": frappe.db.get_single_value("Global Defaults", "default_company") or "",
	}


@frappe.whitelist(methods=["POST"])
def complete_signup(
	code: str, waba_id: str | None = None, phone_number_id: str | None = None, event: str | None = None
) -> dict:
	"""Meta's popup finished: turn its code into a connected Business WhatsApp Account. ``event``
	is the session info's (FINISH, FINISH_ONLY_WABA, ...); every kind is connected the same way."""
	check_can_connect()
	if not (code or "").strip():
		frappe.throw(_("Meta's signup returned no code: run Connect WhatsApp again."))
	return signup.connect(code, waba_id, phone_number_id)


@frappe.whitelist(methods=["POST"])
def stand_in_signup(
	business_name: str,
	display_phone_number: str,
	verified_name: str | None = None,
	payment_method: int | str = 1,
) -> dict:
	"""The sandbox's stand-in for Meta's popup: the simulator makes a WABA and a number and gives
	the code and IDs that Meta's popup gives the page. Refused unless the sandbox set it up."""
	check_can_connect()
	settings = frappe.get_single("Marketing Settings")
	if not settings.signup_stand_in:
		frappe.throw(_("The stand-in signup is only for the sandbox; this site connects through Meta."))
	try:
		response = requests.post(
			f"{(settings.graph_base_url or '').rstrip('/')}/_simulator/signup",
			json={
				"business_name": business_name,
				"display_phone_number": display_phone_number,
				"verified_name": verified_name or business_name,
				"payment_method": frappe.utils.cint(payment_method) == 1,
			},
			timeout=10,
		)
		response.raise_for_status()
	except requests.RequestException as e:
		frappe.throw(
			_("The sandbox's simulator did not answer ({0}): start it with the sandbox command.").format(e)
		)
	answer = response.json()
	return {k: answer[k] for k in ("code", "waba_id", "phone_number_id")} | {"event": "FINISH"}
