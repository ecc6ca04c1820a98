"""Sites installed before quiet hours had a switch hold the install time in both fields (Frappe
fills an empty Time field of a new Single with the current time), so quiet hours were silently
off. Put the documented 21:00-09:00 back; from now on "no quiet hours" is the switch turned off."""

import frappe
from frappe.utils import get_time

from marketing_engine.marketing_engine.doctype.marketing_settings.marketing_settings import (
	DEFAULT_QUIET_HOURS,
)


def execute():
	settings = frappe.get_single("Marketing Settings")
	start, end = settings.quiet_hours_start, settings.quiet_hours_end
	# Both were filled with the same clock reading, microseconds apart.
	if start and end and get_time(start).strftime("%H:%M") != get_time(end).strftime("%H:%M"):
		return
	settings.quiet_hours_enabled = 1
	settings.quiet_hours_start, settings.quiet_hours_end = DEFAULT_QUIET_HOURS
	settings.flags.ignore_mandatory = True
	settings.save(ignore_permissions=True)
