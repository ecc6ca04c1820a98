// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.listview_settings["WhatsApp Template"] = {
	get_indicator(doc) {
		const colors = { DRAFT: "gray", PENDING: "orange", APPROVED: "green", REJECTED: "red", PAUSED: "orange" };
		return [__(doc.status), colors[doc.status] || "gray", `status,=,${doc.status}`];
	},
	onload(listview) {
		if (!frappe.model.can_create("WhatsApp Template")) return;
		listview.page.add_inner_button(__("Start from a Ready-made Draft"), () => library_dialog(listview));
	},
};

function library_dialog(listview) {
	frappe.call({ method: "marketing_engine.api.templates.library" }).then(({ message }) => {
		const dialog = new frappe.ui.Dialog({
			title: __("Ready-made template drafts"),
			fields: [
				{
					fieldtype: "Link",
					fieldname: "account",
					label: __("WhatsApp Account"),
					options: "WhatsApp Account",
					reqd: 1,
					default: message.default_account,
					get_query: () => ({ filters: { purpose: "Business" } }),
				},
				{
					fieldtype: "Select",
					fieldname: "key",
					label: __("Draft"),
					reqd: 1,
					options: message.drafts.map((d) => ({ value: d.key, label: `${d.title}: ${d.use}` })),
				},
			],
			// One click: made and sent to Meta; a draft that needs the studio's own picture opens
			// instead, with the rule that waits for it on its field.
			primary_action_label: __("Submit to Meta"),
			primary_action(values) {
				add(values, 1);
			},
			secondary_action_label: __("Open as a Draft"),
			secondary_action() {
				add(dialog.get_values(), 0);
			},
		});
		const add = (values, submit) => {
			if (!values) return;
			frappe
				.call({
					method: "marketing_engine.api.templates.add_from_library",
					args: { ...values, submit },
					freeze: true,
				})
				.then(({ message }) => {
					dialog.hide();
					if (message.submitted) {
						frappe.show_alert({
							message: __("{0} sent to Meta for review ({1}).", [message.name, message.status]),
							indicator: "green",
						});
						listview.refresh();
					} else {
						frappe.set_route("Form", "WhatsApp Template", message.name);
					}
				});
		};
		dialog.show();
	});
}
