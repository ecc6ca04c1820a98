// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.listview_settings["WhatsApp Account"] = {
	onload(listview) {
		if (!frappe.model.can_create("WhatsApp Account")) return;
		listview.page
			.add_inner_button(__("Connect WhatsApp"), () => marketing_engine.connect_whatsapp())
			.addClass("btn-primary");
	},
};
