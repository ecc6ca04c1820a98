import frappe

from marketing_engine.numbers import backfill, delete_derived_custom_fields, make_custom_fields

ROLES = ("Marketing Manager", "Marketing User")


def before_install():
	# The DocTypes' permissions name these roles, so they must exist before the DocTypes sync.
	ensure_roles()


def after_install():
	ensure_roles()
	set_default_settings()
	make_custom_fields()
	backfill()


def after_migrate():
	ensure_roles()
	make_custom_fields()


def before_uninstall():
	delete_derived_custom_fields()


def ensure_roles():
	for role in ROLES:
		if not frappe.db.exists("Role", role):
			frappe.get_doc({"doctype": "Role", "role_name": role, "desk_access": 1}).insert(
				ignore_permissions=True
			)


def set_default_settings():
	settings = frappe.get_single("Marketing Settings")
	if not settings.default_country and frappe.db.exists("Country", "India"):
		settings.default_country = "India"
	settings.flags.ignore_mandatory = True
	settings.save(ignore_permissions=True)
