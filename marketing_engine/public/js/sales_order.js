// The "Send WhatsApp" action on a submitted Sales Order: a booking confirmation through the
// platform's system account, logged as a WhatsApp Message.
frappe.ui.form.on("Sales Order", {
	refresh(frm) {
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
