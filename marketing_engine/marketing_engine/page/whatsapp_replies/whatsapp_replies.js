// The replies inbox: who wrote back, what they wrote, what they answered; mark handled, or answer
// freely while WhatsApp's 24-hour window is open.

frappe.pages["whatsapp-replies"].on_page_load = function (wrapper) {
	const page = frappe.ui.make_app_page({ parent: wrapper, title: __("WhatsApp Replies"), single_column: true });
	const state = { handled: 0 };
	const handled = page.add_field({
		fieldname: "handled",
		fieldtype: "Select",
		label: __("Show"),
		options: [
			{ value: "0", label: __("To handle") },
			{ value: "1", label: __("Handled") },
		],
		default: "0",
		change() {
			state.handled = handled.get_value();
			load();
		},
	});
	page.set_primary_action(__("Refresh"), () => load(), "refresh");
	const $list = $('<div class="whatsapp-replies"></div>').appendTo(page.main);
	frappe.realtime.on("whatsapp_reply", () => load());

	function load() {
		frappe
			.call({ method: "marketing_engine.api.replies.get_replies", args: { handled: state.handled } })
			.then(({ message }) => render(message || []));
	}

	function render(rows) {
		const esc = frappe.utils.escape_html;
		if (!rows.length) {
			$list.html(`<p class="text-muted" style="padding: 15px">${__("No replies here.")}</p>`);
			return;
		}
		$list.html(
			rows
				.map((r) => {
					const who = r.contact_name
						? `<a href="/app/${frappe.router.slug(r.contact_doctype)}/${encodeURIComponent(r.contact_name)}">${esc(
								r.person || r.contact_name
						  )}</a>`
						: esc(r.person || r.phone || r.user_id || "");
					const via = r.drip_sequence
						? __("a step of {0}", [esc(r.drip_sequence)])
						: r.answered_campaign
						? __("campaign {0}", [esc(r.answered_campaign)])
						: "";
					const answered = r.answered
						? `<div class="text-muted small">${__("In answer to")} ${via}: ${esc((r.answered_body || "").slice(0, 160))}</div>`
						: "";
					const window = r.can_answer
						? `<span class="text-muted small">${__("Can answer freely until {0}", [
								frappe.datetime.str_to_user(r.window_closes_at),
						  ])}</span>`
						: `<span class="text-muted small">${__("24-hour window closed: only a template can go")}</span>`;
					return `<div class="reply-row frappe-card" style="padding: 12px; margin-bottom: 10px" data-name="${esc(r.name)}">
						<div><b>${who}</b> <span class="text-muted small">${esc(r.phone || r.user_id || "")} · ${frappe.datetime.comment_when(
						r.received_at
					)}</span></div>
						<div style="margin: 6px 0; white-space: pre-wrap">${esc(r.body || `[${r.message_type}]`)}</div>
						${answered}
						<div style="margin-top: 8px">
							${r.can_answer ? `<button class="btn btn-xs btn-primary reply-answer">${__("Answer")}</button>` : ""}
							<button class="btn btn-xs btn-default reply-handled">${r.handled ? __("Mark as not handled") : __("Mark handled")}</button>
							<a class="btn btn-xs btn-default" href="/app/whatsapp-message/${encodeURIComponent(r.name)}">${__("Open")}</a>
							${window}
						</div>
					</div>`;
				})
				.join("")
		);
		$list.find(".reply-handled").on("click", function () {
			const name = $(this).closest(".reply-row").data("name");
			frappe
				.call({
					method: "marketing_engine.api.replies.set_handled",
					args: { message: name, handled: state.handled == 1 ? 0 : 1 },
				})
				.then(() => load());
		});
		$list.find(".reply-answer").on("click", function () {
			const name = $(this).closest(".reply-row").data("name");
			frappe.prompt(
				[{ fieldname: "text", fieldtype: "Small Text", label: __("Message"), reqd: 1 }],
				({ text }) =>
					frappe
						.call({ method: "marketing_engine.api.replies.answer", args: { message: name, text }, freeze: true })
						.then(({ message }) => {
							frappe.show_alert({
								message: message.error ? message.error : __("Sent"),
								indicator: message.error ? "red" : "green",
							});
							load();
						}),
				__("Answer on WhatsApp"),
				__("Send")
			);
		});
	}

	load();
};
