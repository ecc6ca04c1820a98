// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.ui.form.on("WhatsApp Webhook Event", {
	refresh(frm) {
		const color = { Pending: "orange", Processed: "green", Failed: "red" };
		frm.page.set_indicator(__(frm.doc.status), color[frm.doc.status]);
		if (frm.doc.status === "Failed") {
			frm.dashboard.set_headline_alert(
				__("Applying this webhook failed {0} times; it is retried with back-off. The error is below.", [
					frm.doc.attempts,
				]),
				"red"
			);
			frm.add_custom_button(__("Retry Now"), () =>
				frm.call({ doc: frm.doc, method: "retry" }).then(() => {
					frappe.show_alert({ message: __("Queued to be applied again"), indicator: "green" });
					setTimeout(() => frm.reload_doc(), 2000);
				})
			);
		}
	},
});
