frappe.provide("frappe.dashboards.chart_sources");

frappe.dashboards.chart_sources["WhatsApp Messages by Status"] = {
	method: "marketing_engine.dashboard.messages_by_status",
	filters: [],
};
