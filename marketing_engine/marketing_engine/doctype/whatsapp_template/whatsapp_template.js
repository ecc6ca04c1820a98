// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

// The template builder: Meta's rules checked as the studio writes (by the server, the one place
// they live), a WhatsApp bubble preview, and the template's life at Meta (submit, edit, delete).
const CONTENT_FIELDS = [
	"category",
	"parameter_format",
	"header_format",
	"header_text",
	"header_example",
	"body",
	"footer",
];
const RULE_FIELDS = [...CONTENT_FIELDS, "template_name", "language", "examples", "buttons"];
const STATUS_COLORS = {
	DRAFT: "gray",
	PENDING: "orange",
	APPROVED: "green",
	REJECTED: "red",
	PAUSED: "orange",
	DISABLED: "red",
	DELETED: "gray",
};

frappe.ui.form.on("WhatsApp Template", {
	setup(frm) {
		frm.check_rules = frappe.utils.debounce(() => check_rules(frm), 400);
	},

	refresh(frm) {
		const at_meta = !!frm.doc.meta_template_id;
		frm.toggle_enable(["template_name", "language", "account"], !at_meta);
		if (!frm.is_new() && frm.doc.status === "DRAFT") {
			frm.add_custom_button(__("Submit to Meta"), () => submit_to_meta(frm)).addClass(
				"btn-primary"
			);
		}
		if (!frm.is_new()) {
			frm.add_custom_button(
				__("Duplicate in Another Language"),
				() => duplicate(frm),
				__("Actions")
			);
		}
		if (at_meta && !["DELETED", "PENDING_DELETION"].includes(frm.doc.status)) {
			frm.add_custom_button(__("Delete at Meta"), () => delete_at_meta(frm), __("Actions"));
		}
		// Desk appends a headline on every refresh: clear the last one first.
		frm.dashboard.clear_headline();
		if (frm.doc.status && frm.doc.status !== "DRAFT") {
			// What Meta said last (its reason for a rejection), else the status itself.
			frm.dashboard.set_headline_alert(
				frappe.utils.escape_html(frm.doc.status_detail || `${__("Meta")}: ${frm.doc.status}`),
				STATUS_COLORS[frm.doc.status] || "blue"
			);
		}
		check_rules(frm);
	},

	before_save(frm) {
		if (!frm.doc.meta_template_id || frm.doc.status === "DRAFT" || frm.is_new()) return;
		// An edit of a template Meta has goes to Meta for review: say so before it does.
		return new Promise((resolve) => {
			frappe.confirm(
				__(
					"Saving sends the change to Meta, which reviews it again: campaigns and sequences using this template wait until Meta approves it. An approved template can be edited once a day and 10 times in 30 days."
				),
				() => {
					frm.doc.edit_at_meta = 1;
					resolve();
				},
				() => {
					frappe.validated = false;
					resolve();
				}
			);
		});
	},

	...Object.fromEntries(RULE_FIELDS.map((field) => [field, (frm) => frm.check_rules()])),
});

frappe.ui.form.on("WhatsApp Template Button", {
	button_type: (frm) => frm.check_rules(),
	text: (frm) => frm.check_rules(),
	url: (frm) => frm.check_rules(),
	phone_number: (frm) => frm.check_rules(),
	example: (frm) => frm.check_rules(),
	buttons_remove: (frm) => frm.check_rules(),
});

frappe.ui.form.on("WhatsApp Template Example", {
	example: (frm) => frm.check_rules(),
});

function check_rules(frm) {
	if (!frm.doc.body && !frm.doc.template_name) return;
	// Only the newest check's answer is shown, and it never writes the document back: typing goes
	// on while the server checks.
	const asked = (frm.rules_asked = (frm.rules_asked || 0) + 1);
	frappe.call({
		method: "marketing_engine.api.templates.check_rules",
		args: { doc: frm.doc },
		type: "POST",
	}).then(({ message }) => {
		if (!message || asked !== frm.rules_asked) return;
		const known = frm.doc.examples.map((row) => row.variable).join(",");
		if (message.examples.map((row) => row.variable).join(",") !== known) {
			frm.doc.examples = [];
			message.examples.forEach((row) => frm.add_child("examples", row));
			frm.refresh_field("examples");
		}
		show_problems(frm, message.problems);
		frm.get_field("preview").$wrapper.html(bubble(message.preview, message.problems));
	});
}

function show_problems(frm, problems) {
	const by_field = {};
	problems.forEach((p) => (by_field[p.field] = [...(by_field[p.field] || []), p.message]));
	RULE_FIELDS.forEach((field) => {
		const control = frm.get_field(field);
		if (!control) return;
		const messages = by_field[field] || [];
		control.$wrapper.toggleClass("has-error", messages.length > 0);
		control.$wrapper.find(".template-rule").remove();
		if (messages.length) {
			const html = messages
				.map((m) => `<div class="template-rule text-danger small">${frappe.utils.escape_html(m)}</div>`)
				.join("");
			(control.$wrapper.find(".control-input-wrapper, .form-grid-container").first().length
				? control.$wrapper.find(".control-input-wrapper, .form-grid-container").first()
				: control.$wrapper
			).after(html);
		}
	});
}

function bubble(preview, problems) {
	const esc = frappe.utils.escape_html;
	// WhatsApp's formatting: *bold*, _italic_, ~strike~.
	const format = (text) =>
		esc(text || "")
			.replace(/\*([^*\n]+)\*/g, "<b>$1</b>")
			.replace(/_([^_\n]+)_/g, "<i>$1</i>")
			.replace(/~([^~\n]+)~/g, "<s>$1</s>")
			.replace(/\n/g, "<br>");
	let header = "";
	if (preview.header_format === "TEXT" && preview.header) {
		header = `<div style="font-weight:600;margin-bottom:4px">${format(preview.header)}</div>`;
	} else if (["IMAGE", "VIDEO", "DOCUMENT"].includes(preview.header_format)) {
		header =
			preview.header_format === "IMAGE" && preview.header_example
				? `<img src="${esc(preview.header_example)}" style="width:100%;border-radius:6px;margin-bottom:6px">`
				: `<div style="background:#d9d9d9;border-radius:6px;height:90px;display:flex;align-items:center;justify-content:center;margin-bottom:6px;color:#555">${esc(
						preview.header_format.toLowerCase()
				  )}</div>`;
	}
	const footer = preview.footer
		? `<div style="color:#8696a0;font-size:12px;margin-top:4px">${esc(preview.footer)}</div>`
		: "";
	const buttons = preview.buttons
		.map(
			(b) =>
				`<div style="background:#fff;border-radius:8px;margin-top:2px;padding:7px;text-align:center;color:#00a5f4;font-size:13px">${esc(
					b.text || b.type
				)}</div>`
		)
		.join("");
	const verdict = problems.length
		? `<div class="text-danger small" style="margin-top:8px">${__("{0} of Meta's rules not met yet", [problems.length])}</div>`
		: `<div class="text-success small" style="margin-top:8px">${__("Meets Meta's rules")}</div>`;
	return `<div class="whatsapp-preview" style="background:#efeae2;padding:14px;border-radius:10px;max-width:340px">
		<div style="background:#fff;border-radius:0 8px 8px 8px;padding:8px 10px;box-shadow:0 1px 0.5px rgba(0,0,0,.13);font-size:14px;line-height:1.35">
			${header}<div class="whatsapp-preview-body">${format(preview.body)}</div>${footer}
		</div>${buttons}
	</div>${verdict}`;
}

function submit_to_meta(frm) {
	const go = () =>
		frm
			.call({ doc: frm.doc, method: "submit_to_meta", freeze: true, freeze_message: __("Sending to Meta...") })
			.then(({ message }) => {
				frm.reload_doc();
				frappe.show_alert({
					message: __("Submitted: Meta reviews it (status {0}).", [message.status]),
					indicator: "green",
				});
			});
	frm.is_dirty() ? frm.save().then(go) : go();
}

function duplicate(frm) {
	frappe.prompt(
		[
			{ fieldname: "language", fieldtype: "Data", label: __("Language code"), reqd: 1, description: __("For example hi, mr, ta, en_GB") },
			{ fieldname: "template_name", fieldtype: "Data", label: __("Template name"), default: frm.doc.template_name },
		],
		(values) =>
			frm
				.call({ doc: frm.doc, method: "duplicate", args: values })
				.then(({ message }) => frappe.set_route("Form", "WhatsApp Template", message)),
		__("Duplicate {0}", [frm.doc.template_name]),
		__("Duplicate")
	);
}

function delete_at_meta(frm) {
	frappe.confirm(
		__("Delete {0} ({1}) at Meta? Messages already sent stay; the name cannot be used again for 30 days.", [
			frm.doc.template_name,
			frm.doc.language,
		]),
		() =>
			frm
				.call({ doc: frm.doc, method: "delete_at_meta", freeze: true })
				.then(() => frm.reload_doc())
	);
}
