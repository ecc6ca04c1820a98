"""``bench --site <site> marketing-engine sandbox``: everything to try the app without a WABA.

It starts the Graph API simulator (or reuses one already answering on the port), points two
sandbox WhatsApp Accounts at it (the platform's System number and the studio's Business number),
checks their health and syncs their templates, and with ``--demo`` loads a small studio: customers
with numbers and consent, addresses, bookings, invoices, a completed project and two inquiries.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

import frappe
import requests
from frappe.utils import add_days, get_bench_path, getdate, nowdate

from marketing_engine.channel.consent import (
	record_opt_in,
	record_opt_out,
)
from marketing_engine.channel.people import person_actor
from marketing_engine.channel.webhooks import WEBHOOK_PATH
from marketing_engine.engine.consent import OptInSource, OptOutSource
from marketing_engine.engine.simulator import SANDBOX_APP, SANDBOX_BUSINESS, SANDBOX_PORT, SANDBOX_SYSTEM

SYSTEM, BUSINESS = "Sandbox System", "Sandbox Business"
SANDBOX_REVIEW_DELAY = 5  # seconds
DEMO_GROUP = "Sandbox Studio Clients"
DEMO_PEOPLE = (
	# name, mobile, city, birthday, consent, shoots (item group, amount, days ago)
	(
		"Asha Rao",
		"98200 10001",
		"Mumbai",
		date(1992, 3, 12),
		"in",
		[("Wedding", 185000, 400), ("Maternity", 35000, 200)],
	),
	("Rahul Mehta", "98200 10002", "Mumbai", date(1988, 7, 2), "in", [("Pre-Wedding", 45000, 90)]),
	("Priya Shah", "98200 10003", "Pune", date(1995, 11, 26), "in", [("Wedding", 220000, 30)]),
	("Kabir Singh", "98200 10004", "Mumbai", date(1990, 1, 5), "in", [("Corporate", 60000, 150)]),
	("Meera Iyer", "98200 10005", "Bengaluru", date(1993, 5, 20), "in", [("Maternity", 30000, 220)]),
	("Dev Patel", "98200 10006", "Mumbai", date(1985, 9, 9), "out", [("Wedding", 150000, 700)]),
	("Nisha Kapoor", "98200 10007", "Pune", date(1997, 2, 14), "none", [("Birthday", 15000, 60)]),
	("Arjun Nair", "98200 10008", "Mumbai", date(1991, 12, 1), "in", []),
)
SHOOTS = ("Wedding", "Pre-Wedding", "Maternity", "Birthday", "Corporate")


def start(port: int = SANDBOX_PORT, demo: bool = False, web_url: str | None = None) -> dict:
	url = f"http://127.0.0.1:{port}"
	web_url = (web_url or site_web_url()).rstrip("/")
	reused = simulator_answers(url)
	if not reused:
		start_simulator(port, web_url)
	accounts = connect_accounts(url)
	made = load_demo() if demo else {}
	frappe.db.commit()
	return {
		"simulator": url,
		"port": port,
		"web_url": web_url,
		"reused": reused,
		"accounts": accounts,
		**made,
	}


def stop(port: int = SANDBOX_PORT) -> bool:
	"""Stop the simulator this command started (the pid file says which)."""
	pid_file = pid_path(port)
	if not os.path.exists(pid_file):
		return False
	with open(pid_file) as f:
		pid = int(f.read().strip())
	try:
		os.kill(pid, signal.SIGTERM)
	except ProcessLookupError:
		pass
	os.remove(pid_file)
	return True


def site_web_url() -> str:
	"""Where the simulator's webhooks reach this site: bench's own web server on this machine."""
	port = frappe.conf.webserver_port or 8000
	return f"http://127.0.0.1:{port}"


def simulator_answers(url: str) -> bool:
	try:
		return requests.get(f"{url}/_simulator/stats", timeout=1).ok
	except requests.RequestException:
		return False


def start_simulator(port: int, web_url: str) -> None:
	log = open(os.path.join(get_bench_path(), "logs", f"marketing_engine_simulator_{port}.log"), "a")
	process = subprocess.Popen(
		[
			sys.executable,
			"-m",
			"marketing_engine.engine.simulator",
			"--port",
			str(port),
			"--webhook-url",
			web_url.rstrip("/") + WEBHOOK_PATH,
			"--webhook-header",
			f"X-Frappe-Site-Name:{frappe.local.site}",
			# Templates written in Desk are approved a few seconds after they are submitted.
			"--review-delay",
			str(SANDBOX_REVIEW_DELAY),
		],
		stdout=log,
		stderr=subprocess.STDOUT,
		start_new_session=True,  # it outlives this command
	)
	with open(pid_path(port), "w") as f:
		f.write(str(process.pid))
	for _ in range(50):
		if simulator_answers(f"http://127.0.0.1:{port}"):
			return
		time.sleep(0.2)
	raise RuntimeError(f"The simulator did not start; see {log.name}")


def pid_path(port: int) -> str:
	return os.path.join(get_bench_path(), "logs", f"marketing_engine_simulator_{port}.pid")


def connect_accounts(base_url: str) -> dict:
	"""The two sandbox accounts, checked and synced, and Marketing Settings pointing at them."""
	result = {}
	for name, number, purpose in (
		(SYSTEM, SANDBOX_SYSTEM, "System"),
		(BUSINESS, SANDBOX_BUSINESS, "Business"),
	):
		account = (
			frappe.get_doc("WhatsApp Account", name)
			if frappe.db.exists("WhatsApp Account", name)
			else frappe.new_doc("WhatsApp Account")
		)
		account.update(
			{
				"account_name": name,
				"purpose": purpose,
				"enabled": 1,
				"display_phone_number": number.display_phone_number,
				"phone_number_id": number.phone_number_id,
				"waba_id": number.waba_id,
				"access_token": number.access_token,
				"app_secret": number.app_secret,
				"webhook_verify_token": f"sandbox-{purpose.lower()}",
				"base_url": base_url,
			}
		)
		account.save(ignore_permissions=True)
		health = account.check_health()
		synced = account.sync_templates()
		result[name] = {"health": health["health_status"], "templates": synced["synced"]}
	settings = frappe.get_single("Marketing Settings")
	settings.default_system_account = SYSTEM
	settings.default_business_account = BUSINESS
	# Connect WhatsApp: the simulator plays the platform's Meta app and its signup popup.
	settings.meta_app_id = SANDBOX_APP.app_id
	settings.meta_app_secret = SANDBOX_APP.app_secret
	settings.signup_config_id = SANDBOX_APP.config_id
	settings.graph_base_url = base_url
	settings.signup_stand_in = 1
	if not settings.booking_confirmation_template:
		settings.booking_confirmation_template = frappe.db.get_value(
			"WhatsApp Template", {"account": SYSTEM, "template_name": "booking_confirmation"}
		)
	settings.flags.ignore_mandatory = True
	settings.save(ignore_permissions=True)
	return result


def load_demo() -> dict:
	"""A small studio: enough to try segments, campaigns, sequences and the ROI report."""
	company = (
		frappe.defaults.get_defaults().get("company")
		or (frappe.get_all("Company", pluck="name", limit=1) or [None])[0]
	)
	if not company:
		frappe.throw("Finish ERPNext's setup wizard first: the demo needs a company to book in.")
	group = ensure(
		"Customer Group",
		DEMO_GROUP,
		{"customer_group_name": DEMO_GROUP, "parent_customer_group": "All Customer Groups"},
	)
	territory = frappe.get_all("Territory", filters={"is_group": 0}, pluck="name", limit=1)[0]
	for shoot in SHOOTS:
		ensure(
			"Item Group",
			shoot,
			{"item_group_name": shoot, "parent_item_group": "All Item Groups", "is_group": 0},
		)
		ensure(
			"Item",
			f"{shoot} Shoot",
			{
				"item_code": f"{shoot} Shoot",
				"item_name": f"{shoot} Shoot",
				"item_group": shoot,
				"stock_uom": "Nos",
				"is_stock_item": 0,
			},
		)
	ensure_fiscal_years(
		company, [add_days(nowdate(), -days) for *_, shoots in DEMO_PEOPLE for _, _, days in shoots]
	)
	customers = []
	for name, mobile, city, birthday, consent, shoots in DEMO_PEOPLE:
		if frappe.db.exists("Customer", name):
			customers.append(name)
			continue
		customer = frappe.get_doc(
			{"doctype": "Customer", "customer_name": name, "customer_type": "Individual", "customer_group": group,
			"territory": territory, "mobile_no": mobile, "birthday": birthday}
		).insert(ignore_permissions=True)  # fmt: skip
		address = frappe.get_doc(
			{"doctype": "Address", "address_title": name, "address_type": "Billing", "address_line1": "12 Studio Road",
			"city": city, "country": "India", "is_primary_address": 1,
			"links": [{"link_doctype": "Customer", "link_name": customer.name}]}
		).insert(ignore_permissions=True)  # fmt: skip
		frappe.db.set_value("Customer", customer.name, "customer_primary_address", address.name)
		number = frappe.db.get_value("Customer", customer.name, "whatsapp_number")
		if consent in ("in", "out"):
			record_opt_in(
				number,
				OptInSource.FORM,
				detail="Sandbox demo: booking form",
				links={"customer": customer.name},
			)
		if consent == "out":
			record_opt_out(
				number,
				OptOutSource.STOP_KEYWORD,
				detail="Sandbox demo: replied STOP",
				actor=person_actor(("Customer", customer.name), None),
			)
		for shoot, amount, days_ago in shoots:
			book(company, customer.name, shoot, amount, add_days(nowdate(), -days_ago))
		customers.append(customer.name)
	project = f"Sandbox: {DEMO_PEOPLE[2][0]} wedding album"
	if not frappe.db.exists("Project", {"project_name": project}):
		frappe.get_doc(
			{"doctype": "Project", "project_name": project, "customer": DEMO_PEOPLE[2][0], "status": "Completed", "company": company}
		).insert(ignore_permissions=True)  # fmt: skip
	for first, mobile in (("Tara", "98200 10021"), ("Vikram", "98200 10022")):
		if not frappe.db.exists("Lead", {"first_name": first, "mobile_no": mobile}):
			frappe.get_doc(
				{"doctype": "Lead", "first_name": first, "mobile_no": mobile, "status": "Open", "company": company,
				"inquiry_details": "Sandbox demo: asked about a pre-wedding shoot"}
			).insert(ignore_permissions=True)  # fmt: skip
	segment = ensure(
		"Segment",
		"Sandbox: Clients in Mumbai",
		{
			"segment_name": "Sandbox: Clients in Mumbai",
			"rules": [{"criterion": "City", "operator": "is", "value": "Mumbai"}],
		},
	)
	return {"customers": len(customers), "segment": segment, "project": project}


def ensure_fiscal_years(company: str, dates: list) -> None:
	"""The demo's bookings go back two years: a fresh site has only this fiscal year, so the
	earlier ones are added with the same start day and month."""
	from erpnext.accounts.utils import FiscalYearError, get_fiscal_year

	current = frappe.get_all(
		"Fiscal Year", fields=["year_start_date"], order_by="year_start_date desc", limit=1
	)
	if not current:
		return
	start = getdate(current[0].year_start_date)
	for day in sorted(dates):
		try:
			get_fiscal_year(day, company=company)
			continue
		except FiscalYearError:
			pass
		year_start = start.replace(year=getdate(day).year)
		if year_start > getdate(day):
			year_start = year_start.replace(year=year_start.year - 1)
		year_end = add_days(year_start.replace(year=year_start.year + 1), -1)
		label = f"{year_start.year}-{year_start.year + 1}" if year_start.month != 1 else str(year_start.year)
		if not frappe.db.exists("Fiscal Year", label):
			frappe.get_doc(
				{"doctype": "Fiscal Year", "year": label, "year_start_date": year_start, "year_end_date": year_end,
				"companies": [{"company": company}]}
			).insert(ignore_permissions=True)  # fmt: skip


def book(company: str, customer: str, shoot: str, amount: float, on) -> None:
	from erpnext.selling.doctype.sales_order.sales_order import make_sales_invoice

	order = frappe.get_doc(
		{"doctype": "Sales Order", "customer": customer, "company": company, "transaction_date": on,
		"delivery_date": add_days(on, 14), "items": [{"item_code": f"{shoot} Shoot", "qty": 1, "rate": amount}]}
	).insert(ignore_permissions=True)  # fmt: skip
	order.submit()
	invoice = make_sales_invoice(order.name)
	invoice.set_posting_time = 1
	invoice.posting_date = on
	invoice.insert(ignore_permissions=True)
	invoice.submit()


def ensure(doctype: str, name: str, values: dict) -> str:
	if not frappe.db.exists(doctype, name):
		frappe.get_doc({"doctype": doctype, **values}).insert(ignore_permissions=True)
	return name


def next_steps(result: dict, site: str) -> str:
	web = result["web_url"]
	stop = f"bench --site {site} marketing-engine sandbox --stop"
	if result["port"] != SANDBOX_PORT:
		stop += f" --port {result['port']}"
	lines = [
		f"Graph API simulator: {result['simulator']} ({'already running' if result['reused'] else 'started'})",
		*(
			f"  {name}: health {a['health']}, {a['templates']} templates synced"
			for name, a in result["accounts"].items()
		),
	]
	if result.get("customers"):
		lines.append(
			f"Demo studio: {result['customers']} customers, segment {result['segment']}, project {result['project']}"
		)
	lines += [
		"",
		f"Open {web}/app/marketing (site {site}): the workspace, its checklist and figures.",
		"Make a campaign with the diwali_offer template and a Tracked Link to /book, or enable a drip sequence.",
		f"Pretend to be a customer: POST {result['simulator']}/_simulator/inbound with "
		'{"from": "919820010001", "text": "Is Sunday free?"}',
		"Workers must run for sending (bench start, or bench worker --queue long,short).",
		f"Stop the simulator: {stop}",
	]
	return "\n".join(lines)
