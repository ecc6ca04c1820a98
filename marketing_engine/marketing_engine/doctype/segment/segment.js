// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

frappe.ui.form.on("Segment", {
	refresh(frm) {
		if (frm.is_new()) return;
		frm.add_custom_button(__("Preview"), () => marketing_engine_show_segment_preview(frm));
		if (frm.doc.segment_type === "Static") {
			frm.add_custom_button(__("Members"), () =>
				frappe.set_route("List", "Segment Member", { segment: frm.doc.name })
			);
			if (frm.doc.import_report) {
				frm.add_custom_button(__("Download Import Report"), () => window.open(frm.doc.import_report));
			}
			frm.add_custom_button(__("Import CSV"), () => {
				if (frm.is_dirty()) {
					frappe.msgprint(__("Save the segment with its CSV file attached first."));
					return;
				}
				frm.call({ doc: frm.doc, method: "import_members", freeze: true, freeze_message: __("Importing...") }).then(
					({ message }) => {
						marketing_engine_show_import_report(message);
						frm.reload_doc();
					}
				);
			});
		}
		marketing_engine_show_segment_preview(frm);
	},
});

function marketing_engine_show_segment_preview(frm) {
	// One preview at a time: a refresh while one runs shows its answer rather than asking again.
	if (frm.__me_preview_running) return;
	frm.__me_preview_running = true;
	frm.get_field("preview_html").$wrapper.html(`<p class="text-muted">${__("Counting...")}</p>`);
	frm.call({ doc: frm.doc, method: "get_preview", args: { sample_size: 10 } })
		.then(({ message }) => frm.get_field("preview_html").$wrapper.html(marketing_engine_audience_html(message)))
		.always(() => (frm.__me_preview_running = false));
}

function marketing_engine_audience_html(preview) {
	const esc = frappe.utils.escape_html;
	const excluded = preview.excluded
		.map((e) => `<tr><td>${esc(e.label)}</td><td class="text-right">${format_number(e.count, null, 0)}</td></tr>`)
		.join("");
	const sample = preview.sample
		.map(
			(s) =>
				`<tr><td>${esc(s.display_name || "")}</td><td>${esc(s.phone || "")}</td><td>${esc(
					s.contact_doctype
				)}: ${esc(s.contact_name)}</td></tr>`
		)
		.join("");
	return `
		<div class="segment-preview">
			<h4>${__("{0} eligible of {1} members", [
				`<b>${format_number(preview.eligible, null, 0)}</b>`,
				format_number(preview.total, null, 0),
			])}</h4>
			${excluded ? `<table class="table table-sm"><thead><tr><th>${__("Excluded because")}</th><th class="text-right">${__("Members")}</th></tr></thead><tbody>${excluded}</tbody></table>` : ""}
			${sample ? `<table class="table table-sm"><thead><tr><th>${__("Sample")}</th><th>${__("Number")}</th><th>${__("Record")}</th></tr></thead><tbody>${sample}</tbody></table>` : ""}
		</div>`;
}

function marketing_engine_show_import_report(report) {
	const esc = frappe.utils.escape_html;
	const table = (title, entries, not_shown) => {
		if (!entries.length) return "";
		const rows = entries
			.map((e) => `<tr><td>${e.line}</td><td>${esc(e.reason)}</td><td><code>${esc(e.raw)}</code></td></tr>`)
			.join("");
		const more = not_shown ? `<p>${__("{0} more not shown: download the report from the segment", [not_shown])}</p>` : "";
		return `<h5>${title}</h5><table class="table table-sm"><thead><tr><th>${__("Line")}</th><th>${__(
			"Reason"
		)}</th><th>${__("Row")}</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
	};
	frappe.msgprint({
		title: __("CSV import"),
		indicator: report.rejected ? "orange" : "green",
		wide: true,
		message: `<p>${esc(report.summary)}</p>
			${table(__("Rejected rows"), report.errors, report.errors_not_shown)}
			${table(__("Kept, with a warning"), report.warnings, report.warnings_not_shown)}`,
	});
}
