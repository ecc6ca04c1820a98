"""Fixtures shared by the bench tests: sandbox accounts on a Graph API simulator, ERPNext
records a booking needs, a Frappe web server for webhooks, and in-process webhook requests."""

import os
import socket
import subprocess
import sys
import time

import frappe
import requests
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, get_bench_path, nowdate
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from marketing_engine.background import plain_redis
from marketing_engine.channel.webhooks import applier_key
from marketing_engine.engine.simulator import SANDBOX_BUSINESS, SANDBOX_SYSTEM, GraphAPISimulator, SimNumber
from marketing_engine.engine.webhook import SIGNATURE_HEADER, sign

WEBHOOK_PATH = "/api/method/marketing_engine.api.webhook.whatsapp"
SYSTEM_ACCOUNT = "_ME Test System"
BUSINESS_ACCOUNT = "_ME Test Business"
TEST_CUSTOMER_GROUP = "_ME Test Customer Group"
TEST_TERRITORY = "_ME Test Territory"


def sandbox_numbers() -> tuple[SimNumber, SimNumber]:
	"""Fresh copies of the sandbox numbers, so a test can change one without touching others."""
	return (SimNumber(**SANDBOX_SYSTEM.__dict__), SimNumber(**SANDBOX_BUSINESS.__dict__))


def make_account(name: str, number: SimNumber, purpose: str, base_url: str, healthy: bool = True) -> str:
	if frappe.db.exists("WhatsApp Account", name):
		frappe.delete_doc("WhatsApp Account", name, force=True, ignore_permissions=True)
	frappe.get_doc(
		{
			"doctype": "WhatsApp Account",
			"account_name": name,
			"purpose": purpose,
			"enabled": 1,
			"phone_number_id": number.phone_number_id,
			"waba_id": number.waba_id,
			"access_token": number.access_token,
			"app_secret": number.app_secret,
			"webhook_verify_token": f"verify-{purpose.lower()}",
			"base_url": base_url,
			"health_status": "AVAILABLE" if healthy else "",
			"can_send": int(healthy),
		}
	).insert(ignore_permissions=True)
	return name


def configure_channel(base_url: str) -> dict:
	"""System and Business sandbox accounts on ``base_url``, their templates synced, and Marketing
	Settings pointing at them with the booking confirmation template."""
	system, business = sandbox_numbers()
	make_account(SYSTEM_ACCOUNT, system, "System", base_url)
	make_account(BUSINESS_ACCOUNT, business, "Business", base_url)
	for account in (SYSTEM_ACCOUNT, BUSINESS_ACCOUNT):
		frappe.get_doc("WhatsApp Account", account).sync_templates()
	settings = frappe.get_single("Marketing Settings")
	settings.default_country = "India"
	settings.default_system_account = SYSTEM_ACCOUNT
	settings.default_business_account = BUSINESS_ACCOUNT
	settings.quiet_hours_enabled = 0
	settings.frequency_cap_messages = 0  # tests message one audience many times; the cap has its own
	settings.opt_in_policy = "Recorded opt-in only"
	settings.booking_confirmation_template = template_name(SYSTEM_ACCOUNT, "booking_confirmation")
	settings.booking_confirmation_variables = []
	settings.save(ignore_permissions=True)
	return {"system": system, "business": business}


def make_customer_group(name: str) -> str:
	if not frappe.db.exists("Customer Group", name):
		frappe.get_doc(
			{
				"doctype": "Customer Group",
				"customer_group_name": name,
				"parent_customer_group": "All Customer Groups",
			}
		).insert(ignore_permissions=True)
	return name


def group_segment(name: str, group: str) -> str:
	"""A dynamic segment of one customer group, made once."""
	if not frappe.db.exists("Segment", name):
		frappe.get_doc(
			{
				"doctype": "Segment",
				"segment_name": name,
				"rules": [{"criterion": "Customer Group", "operator": "is", "value": group}],
			}
		).insert()
	return name


def before_tests():
	"""Complete ERPNext's setup on a fresh test site and make the groups a Customer needs."""
	from erpnext.setup.utils import before_tests as erpnext_before_tests

	erpnext_before_tests()
	for doctype, name, parent in (
		("Customer Group", TEST_CUSTOMER_GROUP, "All Customer Groups"),
		("Territory", TEST_TERRITORY, "All Territories"),
	):
		if not frappe.db.exists(doctype, name):
			doc = frappe.new_doc(doctype)
			doc.update(
				{
					frappe.scrub(doctype) + "_name": name,
					"parent_" + frappe.scrub(doctype): parent,
					"is_group": 0,
				}
			)
			doc.insert(ignore_permissions=True)
	frappe.db.commit()


def saved_settings() -> dict:
	return frappe.get_single("Marketing Settings").as_dict()


def restore_settings(before: dict) -> None:
	"""Put Marketing Settings back as they were (for tests that had to commit their changes)."""
	settings = frappe.get_single("Marketing Settings")
	for df in settings.meta.fields:
		if df.fieldtype not in ("Section Break", "Column Break", "Table"):
			settings.set(df.fieldname, before.get(df.fieldname))
	settings.booking_confirmation_variables = []
	settings.flags.ignore_mandatory = True
	settings.save(ignore_permissions=True)


def template_name(account: str, template: str) -> str:
	return frappe.db.get_value("WhatsApp Template", {"account": account, "template_name": template})


def review_request_campaign(name: str, segment: str, shoot: str = "your shoot", **values):
	"""A committed draft campaign with the review_request template to ``segment``, replacing an
	earlier one of the same name and its messages."""
	if frappe.db.exists("WhatsApp Campaign", name):
		frappe.db.delete("WhatsApp Message", {"campaign": name})
		frappe.delete_doc("WhatsApp Campaign", name, force=True)
	campaign = frappe.get_doc(
		{
			"doctype": "WhatsApp Campaign",
			"campaign_name": name,
			"segments": [{"segment": segment}],
			"template": template_name(BUSINESS_ACCOUNT, "review_request"),
			"variables": [
				{"variable": "1", "value_type": "Document Field", "value": "first_name"},
				{"variable": "2", "value_type": "Fixed Text", "value": shoot},
			],
			**values,
		}
	).insert()
	frappe.db.commit()
	return campaign


def non_group(doctype: str) -> str:
	return frappe.get_all(doctype, filters={"is_group": 0}, pluck="name", limit=1)[0]


def make_customer(mobile: str | None, name: str | None = None, group: str | None = None) -> str:
	"""A Customer as Desk's quick entry makes one: the mobile number becomes its primary Contact."""
	name = name or f"_ME Test Customer {frappe.generate_hash(length=6)}"
	customer = frappe.get_doc(
		{
			"doctype": "Customer",
			"customer_name": name,
			"customer_type": "Individual",
			"customer_group": group or TEST_CUSTOMER_GROUP,
			"territory": TEST_TERRITORY,
			"mobile_no": mobile,
		}
	).insert(ignore_permissions=True)
	return customer.name


def make_item_group(name: str) -> str:
	if not frappe.db.exists("Item Group", name):
		frappe.get_doc(
			{
				"doctype": "Item Group",
				"item_group_name": name,
				"parent_item_group": "All Item Groups",
				"is_group": 0,
			}
		).insert(ignore_permissions=True)
	return name


def make_service_item(item_group: str | None = None) -> str:
	item_group = item_group or non_group("Item Group")
	code = f"_ME Test {item_group} Shoot"
	if not frappe.db.exists("Item", code):
		frappe.get_doc(
			{
				"doctype": "Item",
				"item_code": code,
				"item_name": f"{item_group} Shoot",
				"item_group": item_group,
				"stock_uom": "Nos",
				"is_stock_item": 0,
			}
		).insert(ignore_permissions=True)
	return code


def make_sales_order(
	customer: str, rate: float = 75000, submit: bool = True, item_group: str | None = None, on=None
):
	company = (
		frappe.defaults.get_defaults().get("company") or frappe.get_all("Company", pluck="name", limit=1)[0]
	)
	on = on or nowdate()
	order = frappe.get_doc(
		{
			"doctype": "Sales Order",
			"customer": customer,
			"company": company,
			"transaction_date": on,
			"delivery_date": add_days(on, 30),
			"items": [{"item_code": make_service_item(item_group), "qty": 1, "rate": rate}],
		}
	)
	order.insert(ignore_permissions=True)
	if submit:
		order.submit()
	return order


def use_test_customer_defaults() -> dict:
	"""The site's default customer group and territory set to the tests' own (the Customer
	ERPNext makes from a booked Lead takes them); returns what they were, for restore_defaults."""
	before = {key: frappe.db.get_default(key) for key in ("customer_group", "territory")}
	frappe.db.set_default("customer_group", TEST_CUSTOMER_GROUP)
	frappe.db.set_default("territory", TEST_TERRITORY)
	return before


def restore_defaults(before: dict) -> None:
	for key, value in before.items():
		frappe.db.set_default(key, value) if value else frappe.defaults.clear_default(key)


def book_lead(lead: str, rate: float):
	"""The studio quotes a Lead and books it, as Desk does (Lead -> Quotation -> Sales Order):
	``(quotation, order)``, both submitted."""
	from erpnext.crm.doctype.lead.lead import make_quotation
	from erpnext.selling.doctype.quotation.quotation import make_sales_order as order_from_quotation

	quotation = make_quotation(lead)
	quotation.append("items", {"item_code": make_service_item(), "qty": 1, "rate": rate})
	quotation.insert()
	quotation.submit()
	order = order_from_quotation(quotation.name)
	order.delivery_date = add_days(nowdate(), 30)
	order.insert()
	order.submit()
	return quotation, order


def campaign_efficiency_row(erpnext_campaign: str) -> dict:
	"""ERPNext's Campaign Efficiency report, all time, the row of one Campaign."""
	from erpnext.crm.report.campaign_efficiency.campaign_efficiency import execute

	_columns, rows = execute(frappe._dict(from_date="2000-01-01", to_date=add_days(nowdate(), 1)))
	return next(r for r in rows if r["campaign_name"] == erpnext_campaign)


def make_invoice(order) -> str:
	"""A submitted Sales Invoice for ``order``, made the way Desk makes it."""
	from erpnext.selling.doctype.sales_order.sales_order import make_sales_invoice

	invoice = make_sales_invoice(order.name)
	invoice.insert(ignore_permissions=True)
	invoice.submit()
	return invoice.name


def make_address(customer: str, city: str, state: str = "Maharashtra") -> str:
	address = frappe.get_doc(
		{
			"doctype": "Address",
			"address_title": customer,
			"address_type": "Billing",
			"address_line1": "1 Studio Lane",
			"city": city,
			"state": state,
			"country": "India",
			"is_primary_address": 1,
			"links": [{"link_doctype": "Customer", "link_name": customer}],
		}
	).insert(ignore_permissions=True)
	frappe.db.set_value("Customer", customer, "customer_primary_address", address.name)
	return address.name


def webhook_request(method: str, body: bytes = b"", secret: str | None = None, apply: bool = True, **kwargs):
	"""Call the webhook endpoint in this process with a real werkzeug request; with ``apply``,
	then do what the applier job does with what it stored, inside this test's transaction."""
	from marketing_engine.api.webhook import whatsapp

	headers = dict(kwargs.pop("headers", {}))
	if secret is not None:
		headers[SIGNATURE_HEADER] = sign(body, secret)
	environ = EnvironBuilder(
		method=method,
		path=WEBHOOK_PATH,
		data=body,
		headers=headers,
		content_type="application/json",
		**kwargs,
	).get_environ()
	frappe.local.request = Request(environ)
	try:
		response = whatsapp()
	finally:
		frappe.local.request = None
	if apply and method == "POST" and response.status_code == 200:
		apply_stored_webhooks()
	return response


def apply_stored_webhooks() -> int:
	"""The applier job's work on the kept webhooks (``ingest_journal`` and ``apply_batch``
	without their commits), so that in-process tests stay inside their own transaction."""
	from marketing_engine.channel.inbound import apply_events
	from marketing_engine.channel.webhooks import BATCH_SIZE, claim, ingest_journal, mark_processed, parse

	ingest_journal(commit=False)
	rows = claim(BATCH_SIZE)
	apply_events([(row.account, parse(row)) for row in rows])
	mark_processed([row.name for row in rows])
	return len(rows)


def free_port() -> int:
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


class WebServer:
	"""This site served by Frappe's own web server in a child process, so that the simulator's
	webhooks arrive over real HTTP. Only committed data is visible to it."""

	def __init__(self):
		self.port = free_port()
		self.url = f"http://127.0.0.1:{self.port}"
		self.process = None

	def start(self, timeout: float = 60) -> "WebServer":
		site = frappe.local.site
		command = [
			sys.executable, "-m", "frappe.utils.bench_helper", "frappe",
			"--site", site, "serve", "--port", str(self.port), "--noreload",
		]  # fmt: skip
		log = open(
			os.path.join(get_bench_path(), "logs", f"marketing_engine_test_server_{self.port}.log"), "w"
		)
		self.process = subprocess.Popen(
			command, cwd=os.path.join(get_bench_path(), "sites"), stdout=log, stderr=subprocess.STDOUT
		)
		deadline = time.time() + timeout
		while time.time() < deadline:
			try:
				if requests.get(f"{self.url}/api/method/ping", timeout=2).ok:
					return self
			except requests.RequestException:
				time.sleep(0.3)
		self.stop()
		raise RuntimeError(f"Frappe web server on port {self.port} did not start; see {log.name}")

	def stop(self):
		if self.process:
			self.process.terminate()
			self.process.wait(timeout=20)
			self.process = None

	@property
	def webhook_url(self) -> str:
		return self.url + WEBHOOK_PATH


def start_simulator(
	numbers: tuple[SimNumber, ...], webhook_url: str | None = None, **kwargs
) -> GraphAPISimulator:
	for number in numbers:
		number.webhook_url = webhook_url
	return GraphAPISimulator(list(numbers), **kwargs).start()


class RQWorker:
	"""A real ``bench worker`` in a child process, to run jobs the way production does (campaign
	sends on the long queue, webhook batches on the short one), and to be killed in the middle of
	one."""

	def __init__(self, queue: str = "long"):
		self.queue = queue
		self.process = None

	def start(self) -> "RQWorker":
		log = open(
			os.path.join(get_bench_path(), "logs", f"marketing_engine_test_worker_{self.queue}.log"), "a"
		)
		self.process = subprocess.Popen(
			[sys.executable, "-m", "frappe.utils.bench_helper", "frappe", "worker", "--queue", self.queue],
			cwd=os.path.join(get_bench_path(), "sites"),
			stdout=log,
			stderr=subprocess.STDOUT,
			start_new_session=True,  # its own process group: the work horse dies with it
		)
		return self

	def kill(self):
		"""SIGKILL the worker and its work horse, as a crash or an OOM kill would: no clean-up
		runs. RQ starts each work horse in a session of its own, so it is found by parentage."""
		if self.process:
			for pid in [*descendants(self.process.pid), self.process.pid]:
				try:
					os.kill(pid, 9)
				except ProcessLookupError:
					pass
			self.process.wait(timeout=20)
			self.process = None

	def stop(self):
		if self.process:
			for pid in descendants(self.process.pid):  # a horse still sending stops too
				try:
					os.kill(pid, 15)
				except ProcessLookupError:
					pass
			os.killpg(self.process.pid, 15)
			try:
				self.process.wait(timeout=20)
			except subprocess.TimeoutExpired:
				self.kill()
			self.process = None


def descendants(pid: int) -> list[int]:
	children: dict[int, list[int]] = {}
	for entry in os.listdir("/proc"):
		if entry.isdigit():
			try:
				with open(f"/proc/{entry}/stat") as f:
					parent = int(f.read().rsplit(")", 1)[1].split()[1])
			except (OSError, IndexError, ValueError):
				continue
			children.setdefault(parent, []).append(int(entry))
	found, queue = [], [pid]
	while queue:
		for child in children.get(queue.pop(), []):
			found.append(child)
			queue.append(child)
	return found


def webhooks_applied(simulator, timeout: float = 30) -> bool:
	"""Every webhook the simulator sent has reached the site and been applied by the worker."""
	from marketing_engine.channel.webhooks import pending_count

	return simulator.wait_for_webhooks(timeout) and bool(wait_until(lambda: not pending_count(), timeout))


def drop_queued_jobs() -> None:
	"""Remove this site's jobs still waiting in the short and long queues (other sites' stay)."""
	from frappe.utils.background_jobs import get_queue

	for name in ("short", "long"):
		queue = get_queue(name)
		for job in queue.get_jobs():
			if (job.kwargs or {}).get("site") == frappe.local.site:
				job.delete()


def kept_webhooks() -> int:
	"""Webhooks the site has kept: rows, and journal records not yet made rows."""
	from marketing_engine.channel.webhooks import journal_directory
	from marketing_engine.engine import journal

	frappe.db.rollback()
	records = journal.count_records(journal_directory())
	return frappe.db.count("WhatsApp Webhook Event") + records


def wait_until(condition, timeout: float = 60, interval: float = 0.2):
	"""Poll ``condition`` with a fresh database snapshot each time; returns its last value."""
	deadline = time.time() + timeout
	while True:
		frappe.db.rollback()
		value = condition()
		if value or time.time() > deadline:
			return value
		time.sleep(interval)


class LiveChannelTestCase(FrappeTestCase):
	"""Sandbox accounts on a simulator whose webhooks reach this site through Frappe's own web
	server in a child process. The server only sees committed data, so these tests commit; the
	settings they change are put back afterwards."""

	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.server = WebServer().start()
		# A fresh start: an earlier class's worker may have been stopped holding the applier's key,
		# and jobs it left queued would hold up this class's worker.
		plain_redis().delete(applier_key())
		drop_queued_jobs()
		cls.webhook_worker = RQWorker("short").start()  # applies the webhooks the server stores
		cls.numbers = sandbox_numbers()
		cls.simulator = start_simulator(cls.numbers, cls.server.webhook_url, status_delay=0.05)
		cls.settings_before = saved_settings()
		configure_channel(cls.simulator.base_url)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		cls.server.stop()
		cls.webhook_worker.stop()
		frappe.db.rollback()
		restore_settings(cls.settings_before)
		frappe.db.commit()
		super().tearDownClass()
