// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Marketing Settings", {
	setup(frm) {
		// Pickers offer only what can be used where they are.
		frm.set_query("default_system_account", () => ({ filters: { purpose: "System" } }));
		frm.set_query("default_business_account", () => ({ filters: { purpose: "Business" } }));
		frm.set_query("booking_confirmation_template", () => ({
			query: "marketing_engine.api.pickers.templates",
			filters: { purpose: "System", category: "UTILITY" },
		}));
	},
});
