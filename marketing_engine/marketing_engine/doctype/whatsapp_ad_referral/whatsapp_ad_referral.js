// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

// frappe.ui.form.on("WhatsApp Ad Referral", {
// 	refresh(frm) {

// 	},
// });
