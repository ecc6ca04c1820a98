"""A/B tests: a campaign carries 2-3 template variants (its own template is A). A test share of
its eligible audience is split evenly among them, and each variant is a WhatsApp Campaign of its
own ("Diwali Offer · B", *Variant Of* the campaign), sent on the one send path like any other,
with its own figures and ROI row. The campaign itself waits, Scheduled, for the test's hours; then
the winner (by read, click, reply or booking rate, :func:`marketing_engine.engine.ab_test.
pick_winner`) is sent to the held-back rest, or, on a tie, a lead within chance when the studio
asked for significance, or when the studio picks, it pauses and asks.

Who is in which group is computed in SQL, in each snapshot's own insert, from the campaign's name
and each person's number (:func:`marketing_engine.engine.ab_test.group_sql`, the same bits as the
Python :func:`assign_group`): a variant's snapshot takes the eligible members of its group, the
campaign's own snapshot everyone else (the rest, and every member excluded with a reason), so
each member of the audience is in exactly one of them, however late the rest is sent.
"""

import frappe
from frappe import _
from frappe.utils import add_to_date, cint, flt, now_datetime

from marketing_engine.engine import ab_test

VARIANT_NAMES = ("A", "B", "C")
METRICS = {"Read": "read", "Click": "click", "Reply": "reply", "Booking": "booking"}
# What each metric counts among a variant's sent messages (marketing_engine.roi.figures's row).
SUCCESS_FIELDS = {"read": "read", "click": "clicked", "reply": "replied", "booking": "bookings"}
PICK_CAUSE = "A/B Pick"


def check(campaign) -> None:
	"""validate: a test that can run (once it runs, the winner's template becomes the campaign's)."""
	if not campaign.ab_test or campaign.ab_stage:
		return
	templates = [campaign.template, *(row.template for row in campaign.variants)]
	if not 2 <= len(templates) <= 3:
		frappe.throw(_("An A/B test takes one or two other variants beside the campaign's template"))
	if len(set(templates)) != len(templates):
		frappe.throw(_("Each variant needs a template of its own"))
	for row, name in zip(campaign.variants, VARIANT_NAMES[1:], strict=False):
		row.variant = name
		template = frappe.get_cached_doc("WhatsApp Template", row.template)
		if template.account != campaign.account or template.category != "MARKETING":
			frappe.throw(
				_("Variant {0}: {1} is not a marketing template of WhatsApp Account {2}").format(
					name, template.template_name, campaign.account
				)
			)
	if not 1 <= flt(campaign.test_share) <= 90:
		frappe.throw(_("Test on 1 to 90% of the audience: the winner goes to the rest"))
	if flt(campaign.holdout_percent):
		frappe.throw(_("A campaign is either an A/B test or has a holdout group, not both"))
	if cint(campaign.test_hours) < 1 or cint(campaign.test_hours) > 24 * 7:
		frappe.throw(_("Pick the winner 1 to 168 hours (a week) after the test starts"))


def variant_templates(campaign) -> dict[str, str]:
	return dict(
		zip(VARIANT_NAMES, [campaign.template, *(r.template for r in campaign.variants)], strict=False)
	)


def group_condition(campaign) -> tuple[str, dict]:
	"""The snapshot's extra condition on the audience ``a``: a variant's group, or for the
	campaign itself everyone outside the test groups; none for a campaign without a test."""
	parent = frappe.get_doc("WhatsApp Campaign", campaign.ab_parent) if campaign.ab_parent else campaign
	if not parent.ab_test or not parent.ab_stage:
		return "", {}
	names = list(variant_templates(parent))
	group, params = ab_test.group_sql("ab_key", "a.phone", names, flt(parent.test_share) / 100)
	params["ab_key"] = parent.name
	if campaign.ab_parent:
		params["ab_variant"] = campaign.ab_variant
		return f"where a.reason = 'eligible' and ({group}) = %(ab_variant)s", params
	return f"where not (a.reason = 'eligible' and ({group}) is not null)", params


def make_variants(campaign) -> list:
	"""Each variant's campaign (A with the campaign's own template), made to be started."""
	campaign.db_set({"ab_stage": "Testing", "winner": None, "winner_reason": None})
	children = []
	for variant, template in variant_templates(campaign).items():
		child = make_variant_campaign(campaign, variant, template)
		if variant != "A":
			row = next(r for r in campaign.variants if r.variant == variant)
			frappe.db.set_value("WhatsApp Campaign Variant", row.name, "variant_campaign", child.name)
		children.append(child)
	return children


def wait_for_winner(campaign) -> None:
	"""The campaign waits, Scheduled, for the test's hours; the scheduler's minute decides then."""
	decide_at = add_to_date(now_datetime(), hours=cint(campaign.test_hours))
	campaign.db_set(
		{
			"status": "Scheduled",
			"send_mode": "Schedule",
			"scheduled_at": decide_at,
			"started_at": now_datetime(),
			"status_reason": _(
				"Testing {0} variants on {1}% of the audience; the winner goes to the rest at {2}"
			).format(
				len(variant_templates(campaign)),
				flt(campaign.test_share),
				decide_at.strftime("%Y-%m-%d %H:%M"),
			),
		}
	)


def sending_problem(campaign) -> str | None:
	"""Why one of the test's variants could not be sent, checked before any is made."""
	for variant, template in variant_templates(campaign).items():
		problem = variant_campaign_doc(campaign, variant, template).sending_problem()
		if problem:
			return _("Variant {0}: {1}").format(variant, problem)
	return None


def make_variant_campaign(campaign, variant: str, template: str):
	child = variant_campaign_doc(campaign, variant, template)
	child.insert()
	return child


def variant_campaign_doc(campaign, variant: str, template: str):
	"""The variant's campaign, not saved: the campaign's audience, mapping and header, the
	variant's template (and header media)."""
	mapped = {row.variable: row for row in campaign.variables}
	row = next((r for r in campaign.variants if r.variant == variant), None)
	child = frappe.get_doc(
		{
			"doctype": "WhatsApp Campaign",
			"campaign_name": f"{campaign.campaign_name} · {variant}",
			"ab_parent": campaign.name,
			"ab_variant": variant,
			"account": campaign.account,
			"template": template,
			"segments": [{"segment": r.segment, "exclude": r.exclude} for r in campaign.segments],
			"header_attachment": None if row and row.header_url else campaign.header_attachment,
			"header_url": (row.header_url if row else None) or campaign.header_url,
			"parallel_jobs": campaign.parallel_jobs,
		}
	)
	child.fill_variable_rows(frappe.get_cached_doc("WhatsApp Template", template))
	for variable in child.variables:  # the campaign's one mapping
		if variable.variable in mapped:
			variable.value_type = mapped[variable.variable].value_type
			variable.value = mapped[variable.variable].value
	return child


def variant_campaigns(campaign) -> dict[str, str]:
	return dict(
		frappe.get_all(
			"WhatsApp Campaign",
			filters={"ab_parent": campaign.name},
			fields=["ab_variant", "name"],
			order_by="ab_variant",
			as_list=True,
		)
	)


def results(campaign) -> tuple[list[ab_test.VariantResult], set[str]]:
	"""Each variant's sent messages and successes by the campaign's metric, and the variants
	whose template Meta does not let send now."""
	from marketing_engine.roi.figures import campaign_figures

	field = SUCCESS_FIELDS[METRICS[campaign.winner_metric or "Read"]]
	found, paused = [], set()
	for variant, name in variant_campaigns(campaign).items():
		row = campaign_figures(name)
		found.append(ab_test.VariantResult(variant, row["sent"], min(row[field], row["sent"])))
		template = frappe.db.get_value("WhatsApp Campaign", name, "template")
		if frappe.db.get_value("WhatsApp Template", template, "status") != "APPROVED":
			paused.add(variant)
	return found, paused


def decide(campaign) -> str | None:
	"""The scheduler's minute at the test's end: the winner's template and mapping become the
	campaign's and it starts; or it pauses with the reason and asks the studio to pick."""
	found, paused = results(campaign)
	metric = METRICS[campaign.winner_metric or "Read"]
	decision = ab_test.pick_winner(
		found,
		metric_label=ab_test.METRIC_LABELS[metric],
		paused=paused,
		require_significance=bool(campaign.require_significance),
	)
	if campaign.winner_choice == "I Pick" and decision.winner:
		decision = ab_test.Decision(
			None, _("{0} You pick the winner.").format(decision.reason), "studio picks"
		)
	if not decision.winner:
		campaign.db_set(
			{
				"status": "Paused",
				"pause_cause": PICK_CAUSE,
				"winner_reason": decision.reason,
				"status_reason": _(
					"The test is over: pick the winner (Campaign → Send a Variant to the Rest). {0}"
				).format(decision.reason),
			}
		)
		return None
	take_winner(campaign, decision.winner, decision.reason)
	return decision.winner


def take_winner(campaign, variant: str, reason: str) -> None:
	child = frappe.get_doc("WhatsApp Campaign", variant_campaigns(campaign)[variant])
	campaign.template = child.template
	campaign.set("variables", [])
	for row in child.variables:
		campaign.append(
			"variables", {"variable": row.variable, "value_type": row.value_type, "value": row.value}
		)
	campaign.update(
		{
			"header_attachment": child.header_attachment,
			"header_url": child.header_url,
			"header_media_id": child.header_media_id,
			"ab_stage": "Winner Picked",
			"winner": variant,
			"winner_reason": reason,
			"pause_cause": "",
		}
	)
	# The winner's message becomes the campaign's, the one change a waiting test may make.
	campaign.flags.ignore_permissions = campaign.flags.ab_winner = True
	campaign.save()


def pick(campaign, variant: str) -> None:
	"""The studio's pick: the variant becomes the campaign's message for the rest."""
	if campaign.ab_stage != "Testing":
		frappe.throw(_("This campaign's test is not waiting for a winner"))
	if variant not in variant_campaigns(campaign):
		frappe.throw(_("{0} is not a variant of this test").format(variant))
	_found, paused = results(campaign)
	if variant in paused:
		frappe.throw(_("Meta has paused variant {0}'s template: pick another").format(variant))
	take_winner(campaign, variant, _("Picked by {0}").format(frappe.session.user))


def figures_html(campaign) -> str:
	"""The variants side by side for the form: group sizes, the metric's rate, the comparison."""
	if not campaign.ab_stage:
		return ""
	found, paused = results(campaign)
	if not found:
		return ""
	metric = METRICS[campaign.winner_metric or "Read"]
	comparison = ab_test.compare(
		[r for r in found if r.name not in paused] or found, ab_test.METRIC_LABELS[metric]
	)
	rows = []
	for result in found:
		test = comparison.test_against(result.name) if result.name != comparison.leader else None
		if result.name == comparison.leader:
			chance = _("leads")
		elif test and test.p_value is not None:
			chance = (
				_("behind, beyond chance") if test.significant else _("within chance")
			) + f" (p = {test.p_value:.3f})"
		else:
			chance = "-"
		rate = f"{100 * result.rate:.1f} %" if result.rate is not None else "-"
		paused_note = f" ({_('paused by Meta')})" if result.name in paused else ""
		rows.append(
			f"<tr><td>{frappe.utils.escape_html(result.name)}{paused_note}</td><td class='text-right'>{result.sent}</td>"
			f"<td class='text-right'>{result.successes}</td><td class='text-right'>{rate}</td><td>{chance}</td></tr>"
		)
	head = "".join(
		f"<th>{label}</th>"
		for label in (
			_("Variant"),
			_("Sent"),
			_(campaign.winner_metric or "Read"),
			_("Rate"),
			_("Against the Leader"),
		)
	)
	return f"<table class='table table-bordered table-sm'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
