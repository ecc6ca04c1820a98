"""Sending the drip sequences' messages: one job sends every sequence's due messages on the one
send path (:mod:`marketing_engine.channel.sending`), each with its own template and values, and
Meta's health signals pause and resume the sequences they touch.
"""

import json

import frappe
from frappe import _

from marketing_engine.background import plain_redis
from marketing_engine.channel import sending
from marketing_engine.channel.routing import quiet_hours_now
from marketing_engine.channel.signals import Hold
from marketing_engine.engine.templates import MediaHeader, TemplateSpec
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

NAME = "drips"  # the job's name in Redis keys and the Error Log
# Every drip message, whichever sequence: what recovery settles after a dead job.
DRIP_MESSAGES = "drip_enrollment is not null and campaign is null"


class DripSource:
	"""The drip sequences' messages, written by the scheduler as their steps fall due, each with
	its own template and values (see marketing_engine.drips.steps)."""

	name = NAME

	def __init__(self):
		self.frequency_cap = get_settings().frequency_cap
		self.channels: dict[str, sending.Channel] = {}
		self.specs: dict[str, TemplateSpec] = {}
		settings = get_settings()
		business = settings.default_business_account
		self.threads = sending.threads_for(sending.Channel(business).rate if business else 80)

	def condition(self) -> tuple[str, dict]:
		# Marketing waits out quiet hours; sequences paused (by someone, or by Meta's signals) wait.
		condition = """drip_enrollment is not null and campaign is null and (drip_sequence is null
			or drip_sequence not in (select name from `tabDrip Sequence` where status='Paused' or enabled=0))"""
		if quiet_hours_now():
			condition += " and category != 'MARKETING'"
		return condition, {}

	def job_key(self, worker: int) -> str:
		return sending.job_key(self.name, worker)

	def may_claim(self) -> bool:
		frappe.db.commit()  # a fresh snapshot: see sequences paused meanwhile
		return True

	def prepare(self, rows: list[dict]) -> list[sending.Send]:
		sends = []
		for row in rows:
			parameters = json.loads(row["send_parameters"] or "{}")
			if row["template"] not in self.specs:
				self.specs[row["template"]] = frappe.get_doc("WhatsApp Template", row["template"]).to_spec()
			if row["account"] not in self.channels:
				self.channels[row["account"]] = sending.Channel(row["account"])
			header = MediaHeader(**parameters["header"]) if parameters.get("header") else None
			sends.append(
				sending.Send(
					row,
					self.channels[row["account"]],
					self.specs[row["template"]],
					parameters.get("values") or {},
					header,
				)
			)
		return sends

	def stop(self, stops: list[tuple[dict, str]]) -> bool:
		"""A template or account problem pauses the sequences it hit; the others go on."""
		reasons = {row["drip_sequence"]: reason for row, reason in stops if row["drip_sequence"]}
		for sequence, reason in reasons.items():
			pause_sequence(sequence, reason)
		frappe.db.commit()
		return False

	def progress(self) -> None:
		pass  # a sequence's form reads its funnel when opened

	def finish(self) -> None:
		pass


def run_drips(worker: int = 1) -> None:
	"""The background job that sends the drip sequences' due messages (see
	:func:`marketing_engine.channel.sending.run_job`)."""
	sending.run_job(DripSource, NAME, worker)


def enqueue_drip_job() -> None:
	"""One job sends every sequence's due messages; it is started when there are some and none
	runs (duplicates would only share the work)."""
	if plain_redis().set(sending.job_key(NAME, 1), 1, ex=sending.JOB_ALIVE_SECONDS, nx=True):
		frappe.enqueue(
			"marketing_engine.drips.sending.run_drips",
			queue=sending.QUEUE,
			timeout=24 * 3600,
			enqueue_after_commit=True,
		)


def recover_claims(**kwargs) -> dict:
	"""Settle the drip messages a dead job left Queued (see sending.recover_claims)."""
	return sending.recover_claims(DRIP_MESSAGES, **kwargs)


# -- pausing and resuming sequences --------------------------------------------------------------
def pause_sequence(sequence: str, reason: str, cause: str = "") -> None:
	frappe.db.set_value(
		"Drip Sequence",
		sequence,
		{"status": "Paused", "status_reason": _("Paused: {0}").format(reason), "pause_cause": cause},
	)


def resume_sequence(sequence: str, reason: str = "") -> None:
	frappe.db.set_value(
		"Drip Sequence", sequence, {"status": "Active", "status_reason": reason, "pause_cause": ""}
	)


def pause_for_hold(hold: Hold) -> None:
	"""Hook whatsapp_sending_paused: pause the enabled, active sequences with a step that uses
	the held template (or any template of the held account)."""
	for sequence in sequences_using(template=hold.template, account=hold.account):
		pause_sequence(sequence, hold.reason, hold.cause)


def resume_after_hold(cause: str, why: str) -> None:
	"""Hook whatsapp_sending_resumed: resume what ``cause`` paused, unless the sequence cannot
	be enabled now (it stays paused with that reason)."""
	for sequence in frappe.get_all(
		"Drip Sequence", filters={"status": "Paused", "pause_cause": cause}, pluck="name"
	):
		problems = frappe.get_doc("Drip Sequence", sequence).enabling_problems()
		if problems:
			frappe.db.set_value(
				"Drip Sequence",
				sequence,
				{"status_reason": _("{0}, but: {1}").format(why, "; ".join(problems)), "pause_cause": ""},
			)
		else:
			resume_sequence(sequence, _("{0}: resumed").format(why))


def held_by(cause: str) -> bool:
	return bool(frappe.db.exists("Drip Sequence", {"status": "Paused", "pause_cause": cause}))


def sequences_using(template: str | None = None, account: str | None = None) -> list[str]:
	"""Enabled, active sequences with a step that uses ``template``, or any template of ``account``."""
	templates = (
		[template] if template else frappe.get_all("WhatsApp Template", {"account": account}, pluck="name")
	)
	steps = frappe.get_all(
		"Drip Step",
		filters={"parenttype": "Drip Sequence", "template": ("in", templates or [""])},
		pluck="parent",
	)
	return frappe.get_all(
		"Drip Sequence",
		filters={"name": ("in", steps or [""]), "enabled": 1, "status": "Active"},
		pluck="name",
	)


def sequences_using_template(template: str) -> list[str]:
	"""Hook whatsapp_template_users: enabled sequences (active or paused) with a step on ``template``."""
	steps = frappe.get_all(
		"Drip Step", filters={"parenttype": "Drip Sequence", "template": template}, pluck="parent"
	)
	sequences = frappe.get_all(
		"Drip Sequence", filters={"name": ("in", steps or [""]), "enabled": 1}, pluck="name"
	)
	return [_("drip sequence {0}").format(name) for name in sequences]
