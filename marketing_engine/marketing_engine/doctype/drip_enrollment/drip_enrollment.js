// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Drip Enrollment", {
	refresh(frm) {
		const color = { Active: "blue", Completed: "green", Stopped: "red" };
		frm.page.set_indicator(__(frm.doc.status), color[frm.doc.status]);
		if (frm.doc.status === "Stopped") {
			frm.dashboard.set_headline_alert(
				frappe.utils.escape_html(`${__(frm.doc.stop_reason || "")}: ${frm.doc.stop_detail || ""}`),
				"orange"
			);
		}
		if (frm.doc.status === "Active") {
			frm.add_custom_button(__("Unenroll"), () =>
				frappe.confirm(__("Stop this sequence for {0}?", [frappe.utils.escape_html(frm.doc.person_name)]), () =>
					frm.call({ doc: frm.doc, method: "unenroll" }).then(() => frm.reload_doc())
				)
			);
		}
	},
});
