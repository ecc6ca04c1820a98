// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.query_reports["WhatsApp ROI"] = {
	filters: [
		{
			fieldname: "from_date",
			label: __("From Date"),
			fieldtype: "Date",
			description: __("Campaigns started, and sequence messages sent, from this day"),
		},
		{
			fieldname: "to_date",
			label: __("To Date"),
			fieldtype: "Date",
		},
		{
			fieldname: "campaign",
			label: __("Campaign"),
			fieldtype: "Link",
			options: "WhatsApp Campaign",
		},
		{
			fieldname: "drip_sequence",
			label: __("Drip Sequence"),
			fieldtype: "Link",
			options: "Drip Sequence",
		},
		{
			fieldname: "ad",
			label: __("Ad"),
			fieldtype: "Link",
			options: "WhatsApp Ad",
		},
	],

	formatter(value, row, column, data, default_formatter) {
		const shown = default_formatter(value, row, column, data);
		if (
			["roi", "incremental_roi"].includes(column.fieldname) &&
			value != null &&
			value !== ""
		) {
			// 100x, 2.5x: one decimal, dropped when it is zero (as the summary writes it).
			const ratio = format_number(value, null, 1).replace(/[.,]0$/, "");
			return `<div style="text-align: right">${ratio}x</div>`;
		}
		// The drill-down: the bookings are the Sales Orders that carry the row's ERPNext Campaign.
		if (column.fieldname === "bookings" && data && data.erpnext_campaign && value) {
			const campaign = encodeURIComponent(data.erpnext_campaign);
			const url = `/app/sales-order?campaign=${campaign}&docstatus=1`;
			return `<div style="text-align: right"><a href="${url}">${format_number(
				value,
				null,
				0
			)}</a></div>`;
		}
		return shown;
	},
};
