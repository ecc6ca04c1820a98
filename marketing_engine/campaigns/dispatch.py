"""Sending a campaign: snapshot the audience, then background jobs send it on the one send path
(:mod:`marketing_engine.channel.sending`) at the number's rate, and the form follows it live.

A campaign's rows are its WhatsApp Messages (``campaign=<name>``), written once by the snapshot
(:mod:`marketing_engine.campaigns.snapshot`); each gets its values from the campaign's variable
mapping (:mod:`marketing_engine.campaigns.recipients`). A template or account error stops the
campaign, resumable; Meta's health signals pause it and resume it (the ``whatsapp_sending_*``
hooks, :mod:`marketing_engine.channel.signals`).
"""

import collections

import frappe
from frappe import _
from frappe.utils import cint, get_datetime, now_datetime

from marketing_engine.background import alone, plain_redis
from marketing_engine.campaigns import ab_testing
from marketing_engine.campaigns.recipients import media_header, recipient_values
from marketing_engine.campaigns.snapshot import snapshot, with_deadlock_retry
from marketing_engine.channel import sending
from marketing_engine.channel.routing import quiet_hours_now
from marketing_engine.channel.signals import Hold
from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import get_settings

ACTIVE = ("Sending", "Scheduled")


def start(campaign) -> None:
	"""Snapshot the audience (once) and set jobs sending."""
	total = with_deadlock_retry(snapshot, campaign)
	frappe.db.set_value(
		"WhatsApp Campaign",
		campaign.name,
		{
			"status": "Sending",
			"status_reason": "",
			"total_recipients": total,
			# An A/B test's campaign started with its test, before its rest is sent.
			"started_at": campaign.started_at or now_datetime(),
		},
	)
	frappe.db.commit()
	update_counters(campaign.name)
	enqueue_jobs(campaign.name, cint(campaign.parallel_jobs) or 1)
	frappe.db.commit()  # the jobs are enqueued on commit, when the rows they claim are visible


def enqueue_jobs(campaign: str, jobs: int, *, only_idle: bool = False) -> int:
	"""Enqueue the campaign's jobs; with ``only_idle``, only those not queued or running.

	RQ's own de-duplication is not used: a job whose work horse was killed stays "started" in RQ
	until RQ's clean-up, which would keep the campaign from resuming. Each job slot has a key in
	Redis instead, set on enqueue and kept fresh by the running job. A duplicate job is harmless
	(claims are exclusive); this only keeps the scheduler from piling them up."""
	enqueued = 0
	for worker in range(1, jobs + 1):
		if only_idle and plain_redis().exists(sending.job_key(campaign, worker)):
			continue
		plain_redis().set(sending.job_key(campaign, worker), 1, ex=sending.JOB_ALIVE_SECONDS)
		frappe.enqueue(
			"marketing_engine.campaigns.dispatch.run_campaign",
			queue=sending.QUEUE,
			timeout=24 * 3600,
			enqueue_after_commit=True,
			campaign=campaign,
			worker=worker,
		)
		enqueued += 1
	return enqueued


class CampaignSource:
	"""A campaign's messages: one template and one audience, sent through its Business account."""

	def __init__(self, campaign_name: str):
		self.name = campaign_name
		self.campaign = frappe.get_doc("WhatsApp Campaign", campaign_name)
		self.channel = sending.Channel(self.campaign.account)
		self.spec = frappe.get_doc("WhatsApp Template", self.campaign.template).to_spec()
		self.header = media_header(self.campaign, self.channel.account, self.spec)
		self.frequency_cap = get_settings().frequency_cap
		self.threads = sending.threads_for(self.channel.rate)

	def condition(self) -> tuple[str, dict]:
		return "campaign=%(source)s", {"source": self.name}

	def job_key(self, worker: int) -> str:
		return sending.job_key(self.name, worker)

	def may_claim(self) -> bool:
		return may_claim(self.name)

	def prepare(self, rows: list[dict]) -> list[sending.Send]:
		values = recipient_values(self.campaign, rows)
		return [sending.Send(row, self.channel, self.spec, values[row["name"]], self.header) for row in rows]

	def stop(self, stops: list[tuple[dict, str]]) -> bool:
		"""A template or account problem stops the whole campaign (resumable)."""
		stop_campaign(self.name, stops[0][1])
		return True

	def progress(self) -> None:
		update_counters(self.name)

	def finish(self) -> None:
		finish_if_done(self.name)
		update_counters(self.name)


def run_campaign(campaign: str, worker: int = 1) -> None:
	"""The background job of a campaign (see :func:`marketing_engine.channel.sending.run_job`)."""
	sending.run_job(
		lambda: CampaignSource(campaign), campaign, worker, reference=("WhatsApp Campaign", campaign)
	)


def may_claim(campaign: str) -> bool:
	"""Still Sending (not paused or cancelled by someone else) and outside quiet hours."""
	frappe.db.commit()  # a fresh snapshot: see pauses and cancels made by others
	status, waiting_until = frappe.db.get_value("WhatsApp Campaign", campaign, ["status", "waiting_until"])
	if status != "Sending":
		return False
	quiet_until = quiet_hours_now()
	if quiet_until:
		if not waiting_until or get_datetime(waiting_until) != quiet_until:
			frappe.db.set_value(
				"WhatsApp Campaign",
				campaign,
				{
					"waiting_until": quiet_until,
					"status_reason": _("Quiet hours: sending resumes at {0}").format(
						quiet_until.strftime("%H:%M")
					),
				},
			)
			frappe.db.commit()
		return False
	if waiting_until:
		# Quiet hours are over: the banner goes with them.
		frappe.db.set_value("WhatsApp Campaign", campaign, {"waiting_until": None, "status_reason": ""})
		frappe.db.commit()
	return True


def stop_campaign(campaign: str, reason: str) -> None:
	frappe.db.set_value(
		"WhatsApp Campaign",
		campaign,
		{"status": "Failed", "status_reason": _("Stopped: {0}. Fix it, then Resume.").format(reason)},
	)
	frappe.db.commit()


# -- progress, completion, recovery ------------------------------------------------------------
def update_counters(campaign: str) -> dict:
	"""Store and broadcast the campaign's counts and its actual cost, from one pass over its
	messages: the form shows them without anyone clicking Refresh."""
	rows = frappe.db.sql(
		"""select status, replied_at is not null, count(*), sum(if(billable, cost, 0))
		from `tabWhatsApp Message` where campaign=%s group by status, replied_at is not null""",
		campaign,
	)
	counts: dict[str, int] = collections.Counter()
	replied, billed = 0, 0.0
	for status, has_reply, n, billable_cost in rows:
		counts[status] += n
		replied += n if has_reply else 0
		billed += float(billable_cost or 0)
	values = {
		"total_recipients": sum(counts.values()),
		"sent_count": sum(counts[s] for s in ("Accepted", "Sent", "Delivered", "Read")),
		"delivered_count": counts["Delivered"] + counts["Read"],
		"read_count": counts["Read"],
		"failed_count": counts["Failed"],
		"skipped_count": counts["Skipped"],
		"replied_count": replied,
		# What Meta bills: the messages its pricing webhooks marked billable, at their frozen price.
		"actual_cost": billed,
	}
	frappe.db.set_value("WhatsApp Campaign", campaign, values, update_modified=False)
	frappe.db.commit()
	progress = {**values, "pending": counts["Pending"] + counts["Queued"], "campaign": campaign}
	progress.update(
		zip(
			("status", "status_reason"),
			frappe.db.get_value("WhatsApp Campaign", campaign, ["status", "status_reason"]),
			strict=True,
		)
	)
	frappe.publish_realtime(
		"whatsapp_campaign_progress",
		progress,
		doctype="WhatsApp Campaign",
		docname=campaign,
		after_commit=False,
	)
	return progress


def finish_if_done(campaign: str) -> bool:
	open_rows = frappe.db.count(
		"WhatsApp Message", {"campaign": campaign, "status": ("in", ("Pending", "Queued"))}
	)
	status = frappe.db.get_value("WhatsApp Campaign", campaign, "status")
	if open_rows or status != "Sending":
		return False
	frappe.db.set_value(
		"WhatsApp Campaign",
		campaign,
		{"status": "Completed", "completed_at": now_datetime(), "status_reason": ""},
	)
	frappe.db.commit()
	return True


def maintain_campaigns() -> None:
	"""Every minute: start due scheduled campaigns, recover from dead jobs, restart stalled ones."""
	for name in frappe.get_all(
		"WhatsApp Campaign",
		filters={"status": "Scheduled", "scheduled_at": ("<=", now_datetime())},
		pluck="name",
	):
		# Each campaign alone: one that cannot start (or recover) says why on its form, the
		# others go on.
		alone("WhatsApp Campaign", name, start_scheduled, name)
	for campaign in frappe.get_all(
		"WhatsApp Campaign", filters={"status": "Sending"}, fields=["name", "parallel_jobs"]
	):
		alone("WhatsApp Campaign", campaign.name, keep_sending, campaign)


def start_scheduled(name: str) -> None:
	campaign = frappe.get_doc("WhatsApp Campaign", name)
	if campaign.ab_test and not campaign.ab_stage:
		start_ab_test(campaign)
		return
	if campaign.ab_test and campaign.ab_stage == "Testing":
		if not ab_testing.decide(campaign):
			return  # paused: the studio picks
		campaign = frappe.get_doc("WhatsApp Campaign", name)
	start(campaign)


def start_ab_test(campaign) -> None:
	"""Each variant's campaign starts on its share; the campaign waits for the winner."""
	for child in ab_testing.make_variants(campaign):
		start(child)
	ab_testing.wait_for_winner(campaign)
	frappe.db.commit()


def keep_sending(campaign) -> None:
	recover_claims(campaign.name)
	if finish_if_done(campaign.name):
		update_counters(campaign.name)  # recovery may have settled the last rows
	elif not quiet_hours_now():
		enqueue_jobs(campaign.name, cint(campaign.parallel_jobs) or 1, only_idle=True)


def recover_claims(campaign: str, **kwargs) -> dict:
	"""Settle the rows of ``campaign`` that a dead job left Queued (see sending.recover_claims)."""
	return sending.recover_claims("campaign=%(campaign)s", {"campaign": campaign}, **kwargs)


# -- Meta's health signals (hooks: whatsapp_sending_paused, _resumed, whatsapp_held_by) ----------
def pause_for_hold(hold: Hold) -> None:
	"""Pause every sending or scheduled campaign that uses the held template or account."""
	filters = {"template": hold.template} if hold.template else {"account": hold.account}
	for campaign in frappe.get_all(
		"WhatsApp Campaign", filters={**filters, "status": ("in", ACTIVE)}, pluck="name"
	):
		frappe.db.set_value(
			"WhatsApp Campaign",
			campaign,
			{"status": "Paused", "status_reason": hold.reason, "pause_cause": hold.cause},
		)


def resume_after_hold(cause: str, why: str) -> None:
	"""Resume what ``cause`` paused, unless something else still stops it (the campaign's own
	check says why, and the campaign stays paused with that reason)."""
	for name in paused_by(cause):
		campaign = frappe.get_doc("WhatsApp Campaign", name)
		problem = campaign.sending_problem()
		if problem:
			campaign.db_set({"status_reason": _("{0}, but: {1}").format(why, problem), "pause_cause": ""})
			continue
		campaign.db_set("pause_cause", "")
		campaign.start_again(_("{0}: resumed").format(why))


def held_by(cause: str) -> bool:
	return bool(paused_by(cause))


def paused_by(cause: str) -> list[str]:
	return frappe.get_all(
		"WhatsApp Campaign", filters={"status": "Paused", "pause_cause": cause}, pluck="name"
	)


def refresh_counters(campaigns: list[str]) -> None:
	"""Hook whatsapp_campaigns_touched: webhooks moved these campaigns' messages on."""
	for campaign in sorted(campaigns):
		update_counters(campaign)


def campaigns_using(template: str) -> list[str]:
	"""Hook whatsapp_template_users: campaigns on ``template`` that are still to send."""
	campaigns = frappe.get_all(
		"WhatsApp Campaign",
		filters={"template": template, "status": ("in", (*ACTIVE, "Paused"))},
		fields=["name", "status"],
	)
	return [_("campaign {0} ({1})").format(c.name, _(c.status).lower()) for c in campaigns]
