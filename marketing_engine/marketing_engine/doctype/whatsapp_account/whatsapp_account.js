// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.ui.form.on("WhatsApp Account", {
	refresh(frm) {
		if (frm.is_new()) {
			frm.dashboard.set_headline_alert(
				__("Filling this in by hand is for a studio with its own Meta app. Otherwise use Connect WhatsApp: Meta's own signup, nothing to copy."),
				"blue"
			);
			frm.add_custom_button(__("Connect WhatsApp"), () => marketing_engine.connect_whatsapp()).addClass(
				"btn-primary"
			);
			return;
		}
		frm.add_custom_button(__("Check Health"), () =>
			frm.call({ doc: frm.doc, method: "check_health", freeze: true }).then(({ message }) => {
				frm.reload_doc();
				frappe.show_alert({
					message: __("Health: {0}", [message.health_status]),
					indicator: message.can_send ? "green" : "red",
				});
			})
		);
		frm.add_custom_button(__("Sync Templates"), () =>
			frm.call({ doc: frm.doc, method: "sync_templates", freeze: true }).then(({ message }) =>
				frappe.show_alert({
					message: __("{0} templates synced, {1} no longer on Meta", [message.synced, message.deleted]),
					indicator: "green",
				})
			)
		);
		const color = { AVAILABLE: "green", LIMITED: "orange", BLOCKED: "red", UNREACHABLE: "red" };
		if (frm.doc.health_status) {
			frm.dashboard.set_headline_alert(
				`${__("Health")}: ${frm.doc.health_status}. ${frappe.utils.escape_html(frm.doc.health_detail || "")}`,
				color[frm.doc.health_status] || "gray"
			);
		} else {
			frm.dashboard.set_headline_alert(__("Not checked yet: click Check Health."), "orange");
		}
		if (frm.doc.purpose === "Business" && frm.doc.payment_status === "No") {
			frm.dashboard.add_comment(
				`${__("Meta cannot bill this account: marketing is blocked.")} ${frappe.utils.escape_html(frm.doc.payment_detail || "")}`,
				"red",
				true
			);
		}
	},
});
