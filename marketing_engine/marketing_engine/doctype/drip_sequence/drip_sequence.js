// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Drip Sequence", {
	setup(frm) {
		// Templates that can be used: marketing from the Business account, the rest from the System one.
		frm.set_query("template", "steps", () => ({ query: "marketing_engine.api.pickers.usable_templates" }));
		frm.set_query("reference_doctype", () => ({ filters: { istable: 0, issingle: 0 } }));
	},

	refresh(frm) {
		if (frm.is_new()) return;
		const color = frm.doc.status === "Paused" ? "orange" : frm.doc.enabled ? "green" : "gray";
		frm.page.set_indicator(
			frm.doc.status === "Paused" ? __("Paused") : frm.doc.enabled ? __("Enabled") : __("Disabled"),
			color
		);
		if (frm.doc.status_reason) frm.dashboard.set_headline_alert(frappe.utils.escape_html(frm.doc.status_reason), "orange");
		if (frm.doc.status === "Paused") {
			frm.add_custom_button(__("Resume"), () => frm.call({ doc: frm.doc, method: "resume" }).then(() => frm.reload_doc()));
		} else if (frm.doc.enabled) {
			frm.add_custom_button(__("Pause"), () => frm.call({ doc: frm.doc, method: "pause" }).then(() => frm.reload_doc()));
		}
		frm.add_custom_button(__("Enrollments"), () => frappe.set_route("List", "Drip Enrollment", { sequence: frm.doc.name }));
		marketing_engine_render_funnel(frm);
	},
});

function marketing_engine_render_funnel(frm) {
	frm.call({ doc: frm.doc, method: "get_funnel" }).then(({ message: f }) => {
		const n = (v) => format_number(v || 0, null, 0);
		const steps = f.steps
			.map(
				(s, i) => `<tr><td>${__("Step {0}", [i + 1])}</td><td>${frappe.utils.escape_html(f.step_templates[i] || "")}</td>
				<td class="text-right">${n(s.sent)}</td><td class="text-right">${n(s.delivered)}</td>
				<td class="text-right">${n(s.read)}</td><td class="text-right">${n(s.replied)}</td>
				<td class="text-right">${n(s.skipped)}</td><td class="text-right">${n(s.failed)}</td></tr>`
			)
			.join("");
		const stopped = Object.entries(f.stopped || {})
			.map(([reason, count]) => `<li>${frappe.utils.escape_html(__(reason || "-"))}: ${n(count)}</li>`)
			.join("");
		frm.get_field("funnel_html").$wrapper.html(`
			<div class="drip-funnel">
				<p><b>${n(f.enrolled)}</b> ${__("enrolled")} · ${n(f.active)} ${__("active")} · ${n(f.completed)} ${__(
			"completed"
		)} · ${n(f.booked)} ${__("booked")}</p>
				${
					steps
						? `<table class="table table-sm"><thead><tr><th></th><th>${__("Template")}</th><th class="text-right">${__(
								"Sent"
						  )}</th><th class="text-right">${__("Delivered")}</th><th class="text-right">${__("Read")}</th>
						<th class="text-right">${__("Replied")}</th><th class="text-right">${__("Skipped")}</th><th class="text-right">${__(
								"Failed"
						  )}</th></tr></thead><tbody>${steps}</tbody></table>`
						: `<p class="text-muted">${__("Nothing sent yet.")}</p>`
				}
				${stopped ? `<p>${__("Stopped")}:</p><ul>${stopped}</ul>` : ""}
			</div>`);
	});
}
