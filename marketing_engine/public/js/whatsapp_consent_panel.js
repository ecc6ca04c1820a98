// WhatsApp marketing consent on the Customer and Contact forms: the status with who decided,
// when, through what and their note, and actions that record a decision for the record's number.

// Both forms load this file, so it may run twice: the handlers are registered once.
if (!window.marketing_engine_consent_handlers) {
	window.marketing_engine_consent_handlers = true;
	["Customer", "Contact"].forEach((doctype) => {
		frappe.ui.form.on(doctype, {
			refresh(frm) {
				if (frm.is_new()) return;
				marketing_engine_consent_panel(frm);
				if (doctype === "Customer") marketing_engine_drip_buttons(frm);
			},
		});
	});
}

function marketing_engine_drip_buttons(frm) {
	const group = __("Drip Sequences");
	frm.add_custom_button(
		__("Enroll"),
		() =>
			frappe.prompt(
				[
					{
						fieldname: "sequence",
						fieldtype: "Link",
						options: "Drip Sequence",
						label: __("Sequence"),
						reqd: 1,
						get_query: () => ({ filters: { enabled: 1 } }),
					},
				],
				({ sequence }) =>
					frappe
						.call({
							method: "marketing_engine.api.drips.enroll",
							args: { customer: frm.doc.name, sequence },
							freeze: true,
						})
						.then(() => frappe.show_alert({ message: __("Enrolled in {0}", [sequence]), indicator: "green" })),
				__("Enroll {0} in a drip sequence", [frm.doc.customer_name])
			),
		group
	);
	frm.add_custom_button(
		__("Unenroll"),
		() =>
			frappe.confirm(__("Stop every active drip sequence of {0}?", [frm.doc.customer_name]), () =>
				frappe
					.call({ method: "marketing_engine.api.drips.unenroll", args: { customer: frm.doc.name } })
					.then(({ message }) => frappe.show_alert({ message: __("{0} sequences stopped", [message]) }))
			),
		group
	);
	frm.add_custom_button(
		__("Enrollments"),
		() => frappe.set_route("List", "Drip Enrollment", { contact_doctype: "Customer", contact_name: frm.doc.name }),
		group
	);
}

function marketing_engine_consent_panel(frm) {
	frappe
		.call({
			method: "marketing_engine.api.consent.status_of",
			args: { doctype: frm.doctype, name: frm.doc.name },
		})
		.then(({ message }) => {
			marketing_engine_render_consent(frm, message);
			if (message.can_record && (message.number || message.consent)) {
				const group = __("WhatsApp");
				frm.add_custom_button(__("Record Opt-in"), () => marketing_engine_record_consent(frm, "Opt-in"), group);
				frm.add_custom_button(__("Record Opt-out"), () => marketing_engine_record_consent(frm, "Opt-out"), group);
			}
		});
}

function marketing_engine_render_consent(frm, s) {
	const esc = frappe.utils.escape_html;
	const c = s.consent;
	const color = { "Opted In": "green", "Opted Out": "red", "No Consent": "orange" };
	const when = (v) => (v ? frappe.datetime.str_to_user(v) : "");
	const status = c ? c.status : __("No Consent");
	let detail = "";
	if (c && c.status === "Opted In") {
		detail = __("Opted in {0} by {1} ({2})", [when(c.opted_in_at), esc(c.opt_in_actor || "-"), esc(c.opt_in_source || "")]);
		if (c.opt_in_detail) detail += `<br><span class="text-muted">${__("Note")}: ${esc(c.opt_in_detail)}</span>`;
	} else if (c && c.status === "Opted Out") {
		detail = __("Opted out {0} by {1} ({2})", [when(c.opted_out_at), esc(c.opt_out_actor || "-"), esc(c.opt_out_source || "")]);
		if (c.opt_out_detail) detail += `<br><span class="text-muted">${__("Note")}: ${esc(c.opt_out_detail)}</span>`;
	} else {
		detail = __("No recorded opt-in: marketing is not sent to this number.");
	}
	// Only a number with a consent record links to it; without one there is nothing to open yet.
	const number = !s.number
		? `<span class="text-danger">${esc(s.problem || "")}</span>`
		: c
		? `<a href="/app/whatsapp-consent/${encodeURIComponent(c.name)}">${esc(s.number)}</a>`
		: esc(s.number);
	const history = (s.history || [])
		.map(
			(h) =>
				`<tr><td>${when(h.at)}</td><td>${esc(h.event)}</td><td>${esc(h.source || "")}</td><td>${esc(
					h.actor || ""
				)}</td><td>${esc(h.detail || "")}</td></tr>`
		)
		.join("");
	const html = `
		<div class="whatsapp-consent-panel">
			<p><span class="indicator-pill ${color[status] || "gray"}">${__("WhatsApp marketing")}: ${__(status)}</span>
			&nbsp; ${number}</p>
			<p>${detail}</p>
			${
				history
					? `<table class="table table-sm small"><thead><tr><th>${__("When")}</th><th>${__("Decision")}</th><th>${__(
							"Through"
					  )}</th><th>${__("By")}</th><th>${__("Note")}</th></tr></thead><tbody>${history}</tbody></table>`
					: ""
			}
		</div>`;
	frm.dashboard.add_section(html, __("WhatsApp Consent"));
	frm.dashboard.show();
}

function marketing_engine_record_consent(frm, event) {
	const fields =
		event === "Opt-in"
			? [
					{
						fieldname: "source",
						fieldtype: "Select",
						label: __("How did they agree?"),
						options: ["Manual", "Form", "CSV"],
						default: "Manual",
						reqd: 1,
					},
					{ fieldname: "detail", fieldtype: "Small Text", label: __("Note (where, what was said)"), reqd: 1 },
			  ]
			: [{ fieldname: "detail", fieldtype: "Small Text", label: __("Note") }];
	frappe.prompt(
		fields,
		(values) =>
			frappe
				.call({
					method: "marketing_engine.api.consent.record",
					args: { doctype: frm.doctype, name: frm.doc.name, event, ...values },
					freeze: true,
				})
				.then(() => frm.reload_doc()),
		event === "Opt-in" ? __("Record WhatsApp marketing opt-in") : __("Record WhatsApp marketing opt-out")
	);
}
