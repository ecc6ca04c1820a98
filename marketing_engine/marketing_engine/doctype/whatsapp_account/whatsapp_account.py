# Copyright (c) 2026, marketing_engine maintainers and contributors
# For license information, please see license.txt

import frappe
from frappe import _
from frappe.model.document import Document
from frappe.utils import cint, flt, get_url, now_datetime

from marketing_engine import desk
from marketing_engine.channel.webhooks import WEBHOOK_PATH
from marketing_engine.engine import errors
from marketing_engine.engine.client import CloudAPIClient
from marketing_engine.engine.routing import AccountState
from marketing_engine.engine.signup import PaymentState, payment_state_of


class WhatsAppAccount(Document):
	# begin: auto-generated types
	# This code is auto-generated. Do not modify anything in this block.

	from typing import TYPE_CHECKING

	if TYPE_CHECKING:
		from frappe.types import DF

		access_token: DF.Password | None
		account_name: DF.Data
		api_version: DF.Data
		app_secret: DF.Password | None
		base_url: DF.Data
		can_send: DF.Check
		connected_at: DF.Datetime | None
		connected_by: DF.Link | None
		connected_via: DF.Literal["Manual", "Embedded Signup"]
		conversions_dataset: DF.Data | None
		currency: DF.Link | None
		display_phone_number: DF.Data | None
		enabled: DF.Check
		health_checked_at: DF.Datetime | None
		health_detail: DF.SmallText | None
		health_status: DF.Literal["", "AVAILABLE", "LIMITED", "BLOCKED", "UNREACHABLE"]
		messages_per_second: DF.Int
		messaging_limit: DF.Data | None
		meta_app_id: DF.Data | None
		payment_detail: DF.SmallText | None
		payment_status: DF.Literal["", "Yes", "No", "Unknown"]
		phone_number_id: DF.Data
		purpose: DF.Literal["System", "Business"]
		quality_rating: DF.Data | None
		registration_pin: DF.Password | None
		request_timeout: DF.Float
		verified_name: DF.Data | None
		waba_id: DF.Data
		webhook_verify_token: DF.Data | None

	# end: auto-generated types
	@property
	def webhook_url(self) -> str:
		return get_url(WEBHOOK_PATH)

	def validate(self):
		for field in ("phone_number_id", "waba_id", "base_url", "api_version"):
			self.set(field, (self.get(field) or "").strip())
		if not self.base_url.startswith(("http://", "https://")):
			frappe.throw(_("Graph API Base URL must start with http:// or https://"))
		if not 1 <= cint(self.messages_per_second) <= 1000:
			frappe.throw(_("Messages per second must be between 1 and 1,000 (Meta's highest throughput)"))
		credentials = ("phone_number_id", "waba_id", "access_token", "base_url")
		if not self.is_new() and any(self.has_value_changed(f) for f in credentials):
			# New credentials have not been checked: marketing waits for a fresh health check.
			self.health_status = ""
			self.can_send = 0

	def get_client(self, **kwargs) -> CloudAPIClient:
		return CloudAPIClient(
			self.get_password("access_token", raise_exception=False) or "",
			self.phone_number_id,
			self.waba_id,
			base_url=self.base_url,
			api_version=self.api_version,
			timeout=(5, flt(self.request_timeout) or 30),
			**kwargs,
		)

	def get_app_secret(self) -> str:
		return self.get_password("app_secret", raise_exception=False) or ""

	def to_state(self) -> AccountState:
		has_token = bool(self.get_password("access_token", raise_exception=False))
		return AccountState(
			name=self.name,
			purpose=self.purpose,
			enabled=bool(self.enabled),
			has_credentials=bool(self.phone_number_id and self.waba_id and has_token),
			health_status=self.health_status or None,
			billing_problem=self.payment_detail if self.payment_status == "No" else None,
		)

	def set_payment_state(self, payment: PaymentState) -> None:
		"""Whether Meta can bill this WABA for its messages, as far as the Graph API tells."""
		self.payment_status = {True: "Yes", False: "No"}.get(payment.can_bill, "Unknown")
		self.payment_detail = payment.reason

	@frappe.whitelist()
	def check_health(self) -> dict:
		"""Ask Meta whether this number can send, and record the answer."""
		self.check_permission("write")
		self.health_checked_at = now_datetime()
		try:
			health = self.get_client().get_health()
		except errors.MetaError as e:
			self.health_status = "UNREACHABLE" if isinstance(e, errors.TransportError) else "BLOCKED"
			self.can_send = 0
			self.health_detail = str(e)
		else:
			self.health_status = (
				health.can_send_message
				if health.can_send_message in ("AVAILABLE", "LIMITED", "BLOCKED")
				else "UNREACHABLE"
			)
			self.can_send = int(health.can_send)
			self.quality_rating = health.quality_rating
			if health.display_phone_number and not self.display_phone_number:
				self.display_phone_number = health.display_phone_number
			self.health_detail = "\n".join(health.problems) or _(
				"Meta reports this number can send messages."
			)
			self.check_billing()
		self.save()
		if self.can_send:
			desk.done(desk.HEALTH)
		return {"health_status": self.health_status, "can_send": self.can_send, "detail": self.health_detail}

	def check_billing(self) -> None:
		"""Read what the Graph API says about the WABA's payment setup (Business accounts: Meta
		bills the studio for marketing); a refusal to say leaves it Unknown, with Meta's words."""
		if self.purpose != "Business":
			return
		try:
			waba = self.get_client().get_waba()
		except errors.MetaError as e:
			self.set_payment_state(
				PaymentState(None, _("Meta did not say whether it can bill: {0}").format(e))
			)
			return
		self.set_payment_state(payment_state_of(waba.health_status or {}, waba.raw or {}))

	@frappe.whitelist()
	def sync_templates(self) -> dict:
		"""Copy this account's templates from Meta; templates Meta no longer has become DELETED."""
		self.check_permission("write")
		from marketing_engine.marketing_engine.doctype.whatsapp_template.whatsapp_template import (
			upsert_template,
		)

		try:
			specs = self.get_client().list_templates()
		except errors.MetaError as e:
			frappe.throw(
				_("Meta refused to list the templates: {0}").format(str(e)), title=_("Template sync failed")
			)
		kept = {upsert_template(self.name, spec) for spec in specs}
		gone = frappe.get_all(
			"WhatsApp Template",
			# Drafts written in Desk are not at Meta yet, and deleted ones are already gone.
			filters={
				"account": self.name,
				"name": ("not in", list(kept) or [""]),
				"status": ("not in", ("DRAFT", "DELETED")),
			},
			pluck="name",
		)
		for name in gone:
			frappe.db.set_value("WhatsApp Template", name, "status", "DELETED")
		if kept:
			desk.done(desk.TEMPLATES)
		return {"synced": len(kept), "deleted": len(gone)}


def get_account(name: str | None) -> WhatsAppAccount | None:
	return (
		frappe.get_doc("WhatsApp Account", name)
		if name and frappe.db.exists("WhatsApp Account", name)
		else None
	)
