// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

const STATUS_COLOR = {
	Draft: "gray",
	Scheduled: "blue",
	Sending: "orange",
	Paused: "yellow",
	Completed: "green",
	Cancelled: "red",
	Failed: "red",
};

frappe.ui.form.on("WhatsApp Campaign", {
	setup(frm) {
		// Approved MARKETING templates of Business accounts: the System account's copies of the same
		// templates cannot be used by a campaign.
		frm.set_query("template", () => ({
			query: "marketing_engine.api.pickers.templates",
			filters: { purpose: "Business", category: "MARKETING" },
		}));
		frm.set_query("account", () => ({ filters: { purpose: "Business" } }));
	},

	onload(frm) {
		frappe.realtime.on("whatsapp_campaign_progress", (progress) => {
			if (progress.campaign !== frm.doc.name || frm.is_dirty()) return;
			if (progress.status !== frm.doc.status) {
				frm.reload_doc(); // paused, completed, stopped: the buttons change too
				return;
			}
			// The counters and the status reason as the server has them: what the form shows is
			// right without Refresh Results.
			Object.assign(frm.doc, progress);
			frm.refresh_fields();
			marketing_engine_show_status_reason(frm);
			marketing_engine_render_progress(frm, progress);
			marketing_engine_refresh_roi_soon(frm);
		});
	},

	refresh(frm) {
		frm.page.set_indicator(__(frm.doc.status), STATUS_COLOR[frm.doc.status] || "gray");
		if (frm.is_new()) return;
		const actions = __("Campaign");
		if (["Draft", "Scheduled"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Estimate and Send"), () => marketing_engine_estimate_and_send(frm)).addClass(
				"btn-primary"
			);
		}
		if (["Sending", "Scheduled"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Pause"), () => marketing_engine_campaign_action(frm, "pause"), actions);
		}
		if (["Paused", "Failed"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Resume"), () => marketing_engine_campaign_action(frm, "resume"), actions);
		}
		if (!["Completed", "Cancelled"].includes(frm.doc.status)) {
			frm.add_custom_button(
				__("Cancel"),
				() =>
					frappe.confirm(__("Cancel this campaign? Messages not yet sent will not be sent."), () =>
						marketing_engine_campaign_action(frm, "cancel")
					),
				actions
			);
		}
		if (frm.doc.status !== "Draft") {
			frm.add_custom_button(__("Refresh Results"), () =>
				frm.call({ doc: frm.doc, method: "refresh_results" }).then(() => frm.reload_doc())
			);
		}
		if (frm.doc.status === "Completed") {
			frm.add_custom_button(__("Follow Up"), () => marketing_engine_follow_up(frm), actions);
		}
		if (frm.doc.ab_stage === "Testing" && ["Scheduled", "Paused"].includes(frm.doc.status)) {
			frm.add_custom_button(
				__("Send a Variant to the Rest"),
				() => marketing_engine_pick_variant(frm),
				actions
			);
		}
		if (frm.doc.ab_stage) marketing_engine_show_variants(frm);
		frm.add_custom_button(__("Preview Message"), () => marketing_engine_preview_message(frm));
		marketing_engine_show_status_reason(frm);
		marketing_engine_render_progress(frm, frm.doc);
		if (frm.doc.status === "Draft") marketing_engine_preview_message(frm);
	},
});

function marketing_engine_show_status_reason(frm) {
	frm.dashboard.clear_headline();
	if (frm.doc.status_reason) {
		frm.dashboard.set_headline_alert(frappe.utils.escape_html(frm.doc.status_reason), "orange");
	}
}

// Whether Meta can bill the WABA, as the account's last health check read it.
function marketing_engine_billing_note(billing) {
	if (!billing || billing.status === "No") return ""; // the sending problem above says why
	const known = billing.status === "Yes";
	return `<p class="billing-note ${known ? "text-success" : "text-muted"}">${
		known
			? __("Payment method: Meta can bill this WhatsApp Business Account.")
			: __("Payment method: not known.")
	} ${frappe.utils.escape_html(known ? "" : billing.detail || "")}</p>`;
}

function marketing_engine_quiet_hours_note(q) {
	if (!q) return "";
	const time = (v) => frappe.datetime.str_to_user(v);
	const lines = [];
	if (q.waits_until) {
		lines.push(__("Quiet hours ({0}) hold this send: it starts at {1}.", [q.window, time(q.waits_until)]));
	}
	if (q.pauses_at) {
		lines.push(
			__("Sending takes about {0} minutes, so it pauses for quiet hours at {1} and resumes at {2}.", [
				q.minutes,
				time(q.pauses_at),
				time(q.resumes_at),
			])
		);
	}
	return lines.length ? `<div class="alert alert-info">${lines.map(frappe.utils.escape_html).join("<br>")}</div>` : "";
}

function marketing_engine_campaign_action(frm, method) {
	frm.call({ doc: frm.doc, method, freeze: true }).then(() => frm.reload_doc());
}

function marketing_engine_render_progress(frm, p) {
	if (!p.total_recipients || frm.doc.status === "Draft") return;
	const done = (p.sent_count || 0) + (p.failed_count || 0) + (p.skipped_count || 0);
	const percent = Math.round((100 * done) / p.total_recipients);
	frm.dashboard.show_progress(
		__("Progress"),
		percent,
		__("{0} sent, {1} delivered, {2} read, {3} failed, {4} skipped, {5} replied of {6}", [
			p.sent_count || 0,
			p.delivered_count || 0,
			p.read_count || 0,
			p.failed_count || 0,
			p.skipped_count || 0,
			p.replied_count || 0,
			p.total_recipients,
		])
	);
}

function marketing_engine_preview_message(frm) {
	if (frm.is_new() || frm.is_dirty()) return;
	frm.call({ doc: frm.doc, method: "render_preview" }).then(({ message }) => {
		const esc = frappe.utils.escape_html;
		const who = message.recipient
			? __("As {0} ({1}) will read it:", [esc(message.recipient.display_name || ""), esc(message.recipient.phone)])
			: __("No eligible recipient to preview with yet.");
		const problems = (message.problems || []).map((p) => `<p class="text-danger">${esc(p)}</p>`).join("");
		frm.get_field("preview_html").$wrapper.html(
			`<p class="text-muted">${who}</p><div class="whatsapp-preview" style="white-space: pre-wrap; background: var(--green-50, #e7f8e9); border-radius: 8px; padding: 10px 14px; max-width: 480px;">${esc(
				message.text
			)}</div>${problems}`
		);
	});
}

function marketing_engine_estimate_and_send(frm) {
	if (frm.is_dirty()) {
		frappe.msgprint(__("Save the campaign first."));
		return;
	}
	frm.call({ doc: frm.doc, method: "get_estimate", freeze: true, freeze_message: __("Counting the audience...") }).then(
		({ message: e }) => {
			const esc = frappe.utils.escape_html;
			const money = (v) => format_currency(v, "INR");
			const excluded = e.excluded
				.map((x) => `<tr><td>${esc(x.label)}</td><td class="text-right">${format_number(x.count, null, 0)}</td></tr>`)
				.join("");
			const lines = e.cost_lines
				.map(
					(l) =>
						`<tr><td>${esc(l.market)}</td><td class="text-right">${format_number(l.recipients, null, 0)}</td><td class="text-right">${money(
							l.unit_price
						)}</td><td class="text-right">${money(l.amount)}</td></tr>`
				)
				.join("");
			const problem = e.problem
				? `<div class="alert alert-danger">${esc(e.problem)}</div>`
				: !e.can_send
				? `<div class="alert alert-warning">${__("Only a Marketing Manager can send or schedule a campaign.")}</div>`
				: "";
			const d = new frappe.ui.Dialog({
				title: __("Send {0}?", [esc(frm.doc.campaign_name)]),
				size: "large",
				fields: [{ fieldtype: "HTML", fieldname: "summary" }],
				primary_action_label: frm.doc.send_mode === "Schedule" ? __("Schedule") : __("Send Now"),
				primary_action() {
					d.hide();
					frm.call({ doc: frm.doc, method: "confirm_send", freeze: true }).then(() => frm.reload_doc());
				},
			});
			d.fields_dict.summary.$wrapper.html(`
				${problem}
				${marketing_engine_quiet_hours_note(e.quiet_hours)}
				<h4>${__("{0} recipients", [format_number(e.eligible, null, 0)])} <small class="text-muted">${__(
				"{0} category, of {1} in the audience",
				[esc(e.category.toLowerCase()), format_number(e.total, null, 0)]
			)}</small></h4>
				${excluded ? `<table class="table table-sm"><thead><tr><th>${__("Excluded because")}</th><th class="text-right">${__("Members")}</th></tr></thead><tbody>${excluded}</tbody></table>` : ""}
				${
					e.cost === null
						? `<div class="alert alert-warning">${__("No rate card is set up: add a WhatsApp Rate Card to see the cost.")}</div>`
						: `<table class="table table-sm"><thead><tr><th>${__("Market")}</th><th class="text-right">${__("Recipients")}</th><th class="text-right">${__("Per message")}</th><th class="text-right">${__("Amount")}</th></tr></thead><tbody>${lines}</tbody>
						<tfoot><tr><th colspan="3">${__("Estimated cost")}</th><th class="text-right">${money(e.cost)}</th></tr></tfoot></table>`
				}
				<p class="text-muted">${__(
					"Meta bills this cost to the payment method on the studio's WhatsApp Business Account directly; it is an estimate at the rates of {0}, before taxes.",
					[esc(e.rate_card || "-")]
				)}</p>
				${marketing_engine_billing_note(e.billing)}`);
			d.show();
			if (e.problem || !e.can_send) d.get_primary_btn().prop("disabled", true);
		}
	);
}

function marketing_engine_follow_up(frm) {
	// A draft to those who did not read or click, with another template, some hours after.
	const d = new frappe.ui.Dialog({
		title: __("Follow Up {0}", [frm.doc.campaign_name]),
		fields: [
			{
				fieldname: "audience",
				fieldtype: "Select",
				label: __("Send To Those Who"),
				options: ["Did not read", "Did not click"],
				default: "Did not read",
				reqd: 1,
			},
			{
				fieldname: "after_hours",
				fieldtype: "Int",
				label: __("Hours After This Campaign"),
				default: 48,
				reqd: 1,
				description: __("Counted from when this campaign completed; a time already past sends when you confirm"),
			},
			{
				fieldname: "template",
				fieldtype: "Link",
				options: "WhatsApp Template",
				label: __("Template"),
				reqd: 1,
				description: __("Another approved marketing template: the same message again is what they left"),
				get_query: () => ({
					query: "marketing_engine.api.pickers.templates",
					filters: { purpose: "Business", category: "MARKETING" },
				}),
			},
		],
		primary_action_label: __("Make Draft"),
		primary_action(values) {
			frm.call({ doc: frm.doc, method: "make_follow_up", args: values, freeze: true }).then(({ message }) => {
				d.hide();
				frappe.set_route("Form", "WhatsApp Campaign", message);
			});
		},
	});
	d.show();
}

function marketing_engine_show_variants(frm) {
	frm.call({ doc: frm.doc, method: "ab_results" }).then(({ message }) => {
		frm.get_field("ab_html").$wrapper.html(message || "");
	});
}

function marketing_engine_pick_variant(frm) {
	const variants = ["A", ...(frm.doc.variants || []).map((row) => row.variant)];
	frappe.prompt(
		{
			fieldname: "variant",
			fieldtype: "Select",
			label: __("Variant"),
			options: variants,
			default: frm.doc.winner || "A",
			reqd: 1,
		},
		({ variant }) =>
			frm
				.call({ doc: frm.doc, method: "send_variant_to_rest", args: { variant }, freeze: true })
				.then(() => frm.reload_doc()),
		__("Send a Variant to the Rest"),
		__("Send")
	);
}
