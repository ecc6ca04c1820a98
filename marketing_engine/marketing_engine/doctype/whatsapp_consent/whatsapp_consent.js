// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.ui.form.on("WhatsApp Consent", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Record Opt-in"), () => {
			frappe.prompt(
				[
					{
						fieldname: "source",
						fieldtype: "Select",
						label: __("How did they agree?"),
						options: ["Manual", "Form", "CSV"],
						default: "Manual",
						reqd: 1,
					},
					{ fieldname: "detail", fieldtype: "Small Text", label: __("Detail (where, what was said)") },
				],
				(values) =>
					frm.call({ doc: frm.doc, method: "record_opt_in", args: values }).then(() => frm.reload_doc()),
				__("Record WhatsApp marketing opt-in")
			);
		}, __("Consent"));
		frm.add_custom_button(__("Record Opt-out"), () => {
			frappe.prompt(
				[{ fieldname: "detail", fieldtype: "Small Text", label: __("Detail") }],
				(values) =>
					frm.call({ doc: frm.doc, method: "record_opt_out", args: values }).then(() => frm.reload_doc()),
				__("Record WhatsApp marketing opt-out")
			);
		}, __("Consent"));
		const color = { "Opted In": "green", "Opted Out": "red", "No Consent": "orange" };
		const by =
			frm.doc.status === "Opted In"
				? frm.doc.opt_in_actor
				: frm.doc.status === "Opted Out"
				? frm.doc.opt_out_actor
				: "";
		frm.dashboard.set_headline_alert(
			by
				? __("WhatsApp marketing: {0}, by {1}", [__(frm.doc.status), frappe.utils.escape_html(by)])
				: __("WhatsApp marketing: {0}", [__(frm.doc.status)]),
			color[frm.doc.status]
		);
	},
});
