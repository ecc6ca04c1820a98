# Copyright (c) 2026, marketing_engine maintainers and Contributors
# See license.txt

# import frappe
from frappe.tests.utils import FrappeTestCase


class TestWhatsAppAccount(FrappeTestCase):
	pass
