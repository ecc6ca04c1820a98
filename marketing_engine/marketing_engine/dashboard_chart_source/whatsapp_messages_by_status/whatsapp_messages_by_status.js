frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["WhatsApp Messages by Status"] = {
	method: "marketing_engine.roi.cards.messages_by_status",
	filters: [],
};
