// The return of a WhatsApp Campaign or a Drip Sequence on its own form: the same figures as the
// WhatsApp ROI report ("Cost ₹500 → Revenue ₹50,000 (100x)"), with the holdout comparison.

// Both forms load this file, so it may run twice: the handlers are registered once.
if (!window.marketing_engine_roi_handlers) {
	window.marketing_engine_roi_handlers = true;
	["WhatsApp Campaign", "Drip Sequence"].forEach((doctype) => {
		frappe.ui.form.on(doctype, {
			refresh(frm) {
				marketing_engine_refresh_roi(frm);
			},
		});
	});
}

function marketing_engine_refresh_roi(frm) {
	if (frm.is_new() || (frm.doctype === "WhatsApp Campaign" && frm.doc.status === "Draft")) return;
	frappe
		.call({
			method: "marketing_engine.roi.figures.figures_of",
			args: { doctype: frm.doctype, name: frm.doc.name },
		})
		.then(({ message: f }) => f && marketing_engine_render_roi(frm, f));
}

// While a campaign sends, its progress arrives every second: the cost and replies under Return
// follow it, a few seconds apart rather than on every update.
var marketing_engine_refresh_roi_soon = frappe.utils.throttle(marketing_engine_refresh_roi, 3000);

function marketing_engine_render_roi(frm, f) {
	const money = (v) => format_currency(v || 0, "INR");
	const n = (v) => format_number(v || 0, null, 0);
	const roi = f.roi === null || f.roi === undefined ? "-" : `${format_number(f.roi, null, 1)}x`;
	const holdout = f.holdout_people
		? `<p>${__(
				"Holdout: {0} people held back earned {1} each; the {2} messaged earned {3} each: {4} incremental ({5}x on the cost).",
				[
					n(f.holdout_people),
					money(f.holdout_revenue_per_person),
					n(f.messaged_people),
					money(f.messaged_revenue_per_person),
					money(f.incremental_revenue),
					f.incremental_roi === null ? "-" : format_number(f.incremental_roi, null, 1),
				]
		  )}</p>`
		: "";
	const link = f.erpnext_campaign
		? `<a href="/app/sales-order?campaign=${encodeURIComponent(f.erpnext_campaign)}">${__("{0} bookings", [
				n(f.bookings),
		  ])}</a>`
		: __("{0} bookings", [n(f.bookings)]);
	frm.get_field("roi_html").$wrapper.html(`
		<div class="whatsapp-roi">
			<h4>${__("Cost {0} → Revenue {1} ({2} ROI)", [money(f.cost), money(f.revenue), roi])}</h4>
			<p class="text-muted">${link} · ${__("{0} sent, {1} clicked, {2} replied; {3} per recipient", [
				n(f.sent),
				n(f.clicked),
				n(f.replied),
				money(f.revenue_per_recipient),
			])}</p>
			${holdout}
		</div>`);
}
