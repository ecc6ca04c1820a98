// The "Send WhatsApp" action on a submitted Sales Order: a booking confirmation through the
// platform's system account, logged as a WhatsApp Message.
frappe.ui.form.on("Sales Order", {
	refresh(frm) {
		if (frm.doc.docstatus === 0) return;
		marketing_engine_show_conversions(frm);
		if (frm.doc.docstatus !== 1) return;
		frm.add_custom_button(
			__("Booking Confirmation"),
			() =>
				frappe
					.call({
						method: "marketing_engine.api.sales_order.send_booking_confirmation",
						args: { sales_order: frm.doc.name },
						freeze: true,
						freeze_message: __("Sending on WhatsApp..."),
					})
					.then(({ message }) => {
						const link = frappe.utils.get_form_link("WhatsApp Message", message.message, true);
						if (message.status === "Failed") {
							frappe.msgprint({
								title: __("WhatsApp message failed"),
								message: `${frappe.utils.escape_html(message.error)}<br>${link}`,
								indicator: "red",
							});
						} else {
							frappe.show_alert({
								message: __("Booking confirmation handed to WhatsApp ({0}): {1}", [
									__(message.status),
									link,
								]),
								indicator: "green",
							});
						}
					}),
			__("Send WhatsApp")
		);
	},
});

// A booking from a Click-to-WhatsApp ad is reported to Meta as a Purchase: when, or why not.
function marketing_engine_show_conversions(frm) {
	frappe
		.xcall("marketing_engine.roi.conversions.conversions_of_order", { sales_order: frm.doc.name })
		.then((rows) => {
			if (!rows || !rows.length || frm.doc.name !== frm.docname) return;
			const lines = rows.map((row) => {
				const label = __(row.event_name);
				const link = frappe.utils.get_form_link("WhatsApp Conversion", row.name, true, label);
				let said;
				if (row.status === "Sent") {
					said = __("{0} sent to Meta at {1}", [link, frappe.datetime.str_to_user(row.sent_at)]);
				} else if (row.status === "Queued") {
					said = __("{0} queued for Meta", [link]);
					if (row.reason) said += `: ${frappe.utils.escape_html(row.reason)}`;
				} else {
					said = __("{0} not sent to Meta: {1}", [link, frappe.utils.escape_html(row.reason || row.status)]);
				}
				if (row.order_cancelled_at) said += " " + __("(order cancelled: Meta takes no event back)");
				return said;
			});
			const failed = rows.some((row) => row.status === "Failed");
			const sent = rows.every((row) => row.status === "Sent");
			const color = failed ? "red" : sent ? "green" : "blue";
			frm.dashboard.set_headline_alert(lines.join("<br>"), color);
		});
}
