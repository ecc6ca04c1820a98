"""Uninstalling and reinstalling the app leaves a working site both times.

It runs the real bench commands in a child process, as an administrator would."""

import os
import subprocess
import sys

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import get_bench_path, get_time

APP_DOCTYPES = (
	"WhatsApp Account",
	"WhatsApp Template",
	"WhatsApp Message",
	"WhatsApp Consent",
	"WhatsApp Consent Log",
	"Marketing Settings",
)


def bench(*args: str) -> subprocess.CompletedProcess:
	command = [
		sys.executable,
		"-m",
		"frappe.utils.bench_helper",
		"frappe",
		"--site",
		frappe.local.site,
		*args,
	]
	return subprocess.run(
		command, cwd=os.path.join(get_bench_path(), "sites"), capture_output=True, text=True, timeout=600
	)


class TestUninstallReinstall(FrappeTestCase):
	def see_changes_of_other_processes(self):
		frappe.db.rollback()  # a new transaction, a new snapshot (REPEATABLE READ)
		frappe.clear_cache()

	def test_uninstall_then_reinstall(self):
		# The child process drops tables: this connection must hold no locks on them.
		frappe.db.rollback()

		removed = bench("uninstall-app", "marketing_engine", "--yes", "--no-backup")
		self.assertEqual(removed.returncode, 0, removed.stdout + removed.stderr)
		self.see_changes_of_other_processes()
		self.assertNotIn("marketing_engine", frappe.get_installed_apps())
		for doctype in APP_DOCTYPES:
			self.assertFalse(frappe.db.exists("DocType", doctype), doctype)
		self.assertFalse(frappe.db.table_exists("WhatsApp Message"))
		# ERPNext is untouched and keeps none of our indexes or derived fields.
		self.assertTrue(frappe.db.exists("DocType", "Sales Order"))
		self.assertFalse(frappe.db.has_index("tabSales Invoice", "me_customer_spend"))
		self.assertFalse(frappe.db.exists("Custom Field", {"dt": "Customer", "fieldname": "whatsapp_number"}))
		# Birthdays are the studio's data: they stay.
		self.assertTrue(frappe.db.exists("Custom Field", {"dt": "Customer", "fieldname": "birthday"}))

		installed = bench("install-app", "marketing_engine")
		self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
		self.see_changes_of_other_processes()
		self.assertIn("marketing_engine", frappe.get_installed_apps())
		for doctype in APP_DOCTYPES:
			self.assertTrue(frappe.db.exists("DocType", doctype), doctype)
		self.assertTrue(frappe.db.table_exists("WhatsApp Message"))
		for role in ("Marketing Manager", "Marketing User"):
			self.assertTrue(frappe.db.exists("Role", role))
		self.assertEqual(frappe.db.get_single_value("Marketing Settings", "default_country"), "India")
		# Quiet hours as the README says, not the install time in both fields.
		settings = frappe.get_single("Marketing Settings")
		self.assertEqual(settings.quiet_hours_enabled, 1)
		self.assertEqual(settings.quiet_hours, (get_time("21:00"), get_time("09:00")))
		self.assertEqual(frappe.db.get_single_value("Marketing Settings", "frequency_cap_messages"), 2)
		items = [i for g in frappe.get_meta("Customer").get_dashboard_data().transactions for i in g["items"]]
		self.assertIn("WhatsApp Consent", items)
		self.assertTrue(frappe.db.has_index("tabSales Invoice", "me_customer_spend"))
		self.assertTrue(frappe.db.exists("Custom Field", {"dt": "Customer", "fieldname": "whatsapp_number"}))
		self.assertTrue(frappe.db.exists("WhatsApp Rate Card", {"enabled": 1}))
