"""The app's modules moved into packages by concern (channel, campaigns, drips, roi). Number
cards keep the dotted path of the method they call; a card edited on the site (so newer than the
file) would keep calling the old path and show an error, so its path moves too. Scheduled jobs
are re-synced from hooks.py by every migrate, and a queued job of an old path fails once: the
scheduler's minute starts its successor (a sending campaign's job key expires, its claims are
recovered)."""

import frappe

MOVED = {
	"marketing_engine.dashboard.": "marketing_engine.roi.cards.",
}


def execute():
	for old, new in MOVED.items():
		frappe.db.sql(
			"update `tabNumber Card` set method = replace(method, %s, %s) where method like %s",
			(old, new, f"{old}%"),
		)
