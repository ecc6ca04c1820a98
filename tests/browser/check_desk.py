"""Walk through the WhatsApp channel in Desk with a real browser and take screenshots.

Needs a running site (``bench serve --port 8000``) with ERPNext set up and the app installed,
Debian's Chromium and the ``playwright`` Python package (its browser download is not needed):

    python tests/browser/check_desk.py --url http://127.0.0.1:8000 --out screenshots

It starts the Graph API simulator, creates sandbox accounts, a customer and a submitted Sales
Order through the REST API, and then uses the Desk UI: Check Health, Sync Templates, Send
WhatsApp -> Booking Confirmation, the message log, the consent record and the Customer's
connections; then a dynamic segment's preview, a CSV import's report, and a campaign's message
preview, blocked estimate, estimate, send and progress (a `bench worker --queue long` must be
running for the send). Records it creates start with "_ME Desk".
"""

import argparse
import json
import os
import time
from datetime import date, timedelta

import requests
from debian_chromium import CHROMIUM, CHROMIUM_FLAGS  # beside this script
from playwright.sync_api import sync_playwright

from marketing_engine.engine.simulator import SANDBOX_BUSINESS, SANDBOX_SYSTEM, GraphAPISimulator, SimNumber

PHONE = "+919811122233"


class Site:
	def __init__(self, url: str, password: str):
		self.url = url.rstrip("/")
		self.http = requests.Session()
		self.http.post(
			f"{self.url}/api/method/login", data={"usr": "Administrator", "pwd": password}
		).raise_for_status()

	def call(self, method: str, **kwargs):
		r = self.http.post(f"{self.url}/api/method/{method}", json=kwargs)
		if not r.ok:
			raise RuntimeError(f"{method}: {r.status_code} {r.text[:500]}")
		return r.json().get("message")

	def upsert(self, doc: dict) -> dict:
		name = doc.get("name")
		if name and self.call("frappe.client.get_count", doctype=doc["doctype"], filters={"name": name}):
			return self.call("frappe.client.get", doctype=doc["doctype"], name=name)
		return self.call("frappe.client.insert", doc=doc)

	def first(self, doctype: str, filters: dict) -> str:
		return self.call("frappe.client.get_list", doctype=doctype, filters=filters, limit_page_length=1)[0][
			"name"
		]


EXPO_CSV = (
	b"Name,Mobile No.,Email,City,Consent,Tags\n"
	b"Priya Shah,98200 11111,priya@example.com,Mumbai,yes,expo\n"
	b"Rahul Jain,+91 98200 22222,,Pune,yes,expo\n"
	b"Bad Number,12345,,Mumbai,yes,expo\n"
	b"Priya Again,9820011111,,Mumbai,yes,expo\n"
	b"No Consent,98200 33333,,Mumbai,no,expo\n"
	b"Spreadsheet,9.19820E+11,,Delhi,yes,expo\n"
)


def campaign_walkthrough(site, page, shot, open_form, customer_group, territory):
	"""Segments, the CSV import report, a campaign's preview, estimate, safety rail and progress."""
	group = "_ME Desk Clients"
	if not site.call("frappe.client.get_count", doctype="Customer Group", filters={"name": group}):
		site.call(
			"frappe.client.insert",
			doc={
				"doctype": "Customer Group",
				"customer_group_name": group,
				"parent_customer_group": "All Customer Groups",
			},
		)
	for i in range(12):
		name = f"_ME Desk Client {i:02d}"
		phone = f"+9198333{i:05d}"
		if not site.call("frappe.client.get_count", doctype="Customer", filters={"name": name}):
			site.call(
				"frappe.client.insert",
				doc={
					"doctype": "Customer",
					"customer_name": name,
					"customer_group": group,
					"territory": territory,
					"mobile_no": phone,
				},
			)
		if i < 9 and not site.call(
			"frappe.client.get_count", doctype="WhatsApp Consent", filters={"name": phone}
		):
			site.call(
				"frappe.client.insert", doc={"doctype": "WhatsApp Consent", "phone": phone, "customer": name}
			)
			site.http.post(
				f"{site.url}/api/method/run_doc_method",
				data={
					"dt": "WhatsApp Consent",
					"dn": phone,
					"method": "record_opt_in",
					"args": json.dumps({"source": "Form", "detail": "studio website form"}),
				},
			).raise_for_status()
	segment = "_ME Desk Clients (dynamic)"
	if not site.call("frappe.client.get_count", doctype="Segment", filters={"name": segment}):
		site.call(
			"frappe.client.insert",
			doc={
				"doctype": "Segment",
				"segment_name": segment,
				"rules": [{"criterion": "Customer Group", "operator": "is", "value": group}],
			},
		)
	open_form(f"segment/{segment}")
	page.wait_for_selector(".segment-preview", timeout=15000)
	shot("segment-dynamic-preview")

	expo = "_ME Desk Leads from Wedding Expo"
	upload = site.http.post(
		f"{site.url}/api/method/upload_file",
		files={"file": ("wedding-expo.csv", EXPO_CSV, "text/csv")},
		data={"is_private": 1},
	)
	upload.raise_for_status()
	if site.call("frappe.client.get_count", doctype="Segment", filters={"name": expo}):
		site.call(
			"frappe.client.set_value",
			doctype="Segment",
			name=expo,
			fieldname="member_csv",
			value=upload.json()["message"]["file_url"],
		)
	else:
		site.call(
			"frappe.client.insert",
			doc={
				"doctype": "Segment",
				"segment_name": expo,
				"segment_type": "Static",
				"member_csv": upload.json()["message"]["file_url"],
			},
		)
	open_form(f"segment/{expo}")
	page.get_by_role("button", name="Import CSV").click()
	page.wait_for_selector(".modal.show .msgprint table", timeout=15000)
	page.wait_for_timeout(500)
	shot("segment-csv-import-report")
	page.keyboard.press("Escape")

	name = "_ME Desk Festive Offer"
	if site.call("frappe.client.get_count", doctype="WhatsApp Campaign", filters={"name": name}):
		site.call("frappe.client.delete", doctype="WhatsApp Campaign", name=name)
	template = site.first(
		"WhatsApp Template", {"account": "_ME Desk Business", "template_name": "festive_offer"}
	)
	site.call(
		"frappe.client.insert",
		doc={
			"doctype": "WhatsApp Campaign",
			"campaign_name": name,
			"segments": [{"segment": segment}, {"segment": expo}],
			"template": template,
			"header_url": "https://studio.example/diwali.jpg",
			"variables": [
				{"variable": "name", "value_type": "Document Field", "value": "first_name"},
				{"variable": "offer", "value_type": "Fixed Text", "value": "20% off family portraits"},
				{"variable": "campaign", "value_type": "Document Field", "value": "campaign"},
			],
		},
	)
	open_form(f"whatsapp-campaign/{name}")
	page.wait_for_selector(".whatsapp-preview", timeout=15000)
	shot("campaign-draft-with-preview")

	# The safety rail: no healthy business account, no sending.
	site.call(
		"frappe.client.set_value",
		doctype="WhatsApp Account",
		name="_ME Desk Business",
		fieldname="health_status",
		value="BLOCKED",
	)
	open_form(f"whatsapp-campaign/{name}")
	page.get_by_role("button", name="Estimate and Send").click()
	page.wait_for_selector(".modal.show .alert-danger", timeout=15000)
	page.wait_for_timeout(500)
	shot("campaign-blocked-without-healthy-waba")
	page.keyboard.press("Escape")
	site.call(
		"frappe.client.set_value",
		doctype="WhatsApp Account",
		name="_ME Desk Business",
		fieldname="health_status",
		value="AVAILABLE",
	)

	open_form(f"whatsapp-campaign/{name}")
	page.get_by_role("button", name="Estimate and Send").click()
	page.wait_for_selector(".modal.show tfoot", timeout=15000)
	page.wait_for_timeout(500)
	shot("campaign-estimate-dialog")
	page.locator(".modal.show .btn-primary", has_text="Send Now").click()
	for _ in range(60):
		status = site.call(
			"frappe.client.get_value", doctype="WhatsApp Campaign", filters={"name": name}, fieldname="status"
		)["status"]
		if status == "Completed":
			break
		time.sleep(1)
	time.sleep(3)  # status webhooks
	site.http.post(
		f"{site.url}/api/method/run_doc_method",
		data={"dt": "WhatsApp Campaign", "dn": name, "method": "refresh_results"},
	).raise_for_status()
	open_form(f"whatsapp-campaign/{name}")
	page.wait_for_timeout(1000)
	shot("campaign-completed-progress")
	page.goto(f"{site.url}/app/whatsapp-message?campaign={name.replace(' ', '%20')}")
	page.wait_for_timeout(2000)
	shot("campaign-messages")


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--url", default="http://127.0.0.1:8000")
	parser.add_argument("--password", default="admin")
	parser.add_argument("--out", default="screenshots")
	parser.add_argument("--chromium", default=CHROMIUM)
	args = parser.parse_args()
	os.makedirs(args.out, exist_ok=True)
	site = Site(args.url, args.password)

	numbers = [SimNumber(**SANDBOX_SYSTEM.__dict__), SimNumber(**SANDBOX_BUSINESS.__dict__)]
	for n in numbers:
		n.webhook_url = f"{site.url}/api/method/marketing_engine.api.webhook.whatsapp"
	sim = GraphAPISimulator(numbers, status_delay=0.5).start()
	for number, purpose in zip(numbers, ("System", "Business"), strict=True):
		name = f"_ME Desk {purpose}"
		if site.call("frappe.client.get_count", doctype="WhatsApp Account", filters={"name": name}):
			site.call(
				"frappe.client.set_value",
				doctype="WhatsApp Account",
				name=name,
				fieldname="base_url",
				value=sim.base_url,
			)
		else:
			site.call(
				"frappe.client.insert",
				doc={
					"doctype": "WhatsApp Account",
					"account_name": name,
					"purpose": purpose,
					"phone_number_id": number.phone_number_id,
					"waba_id": number.waba_id,
					"access_token": number.access_token,
					"app_secret": number.app_secret,
					"webhook_verify_token": f"desk-{purpose.lower()}",
					"base_url": sim.base_url,
				},
			)

	customer_group = site.first("Customer Group", {"is_group": 0})
	territory = site.first("Territory", {"is_group": 0})
	customer = site.upsert(
		{
			"doctype": "Customer",
			"name": "_ME Desk Asha Rao",
			"customer_name": "_ME Desk Asha Rao",
			"customer_group": customer_group,
			"territory": territory,
			"mobile_no": PHONE,
		}
	)["name"]
	item = site.upsert(
		{
			"doctype": "Item",
			"name": "_ME Desk Wedding Shoot",
			"item_code": "_ME Desk Wedding Shoot",
			"item_name": "Wedding Shoot",
			"item_group": site.first("Item Group", {"is_group": 0}),
			"stock_uom": "Nos",
			"is_stock_item": 0,
		}
	)["name"]
	order = site.call(
		"frappe.client.insert",
		doc={
			"doctype": "Sales Order",
			"customer": customer,
			"delivery_date": str(date.today() + timedelta(days=30)),
			"items": [{"item_code": item, "qty": 1, "rate": 125000}],
		},
	)
	order = site.call("frappe.client.submit", doc=order)

	shots = []
	with sync_playwright() as p:
		browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_FLAGS)
		page = browser.new_page(viewport={"width": 1400, "height": 1000})
		page.goto(f"{site.url}/login")
		page.fill("#login_email", "Administrator")
		page.fill("#login_password", args.password)
		page.click(".btn-login")
		page.wait_for_url("**/app**")

		def shot(name: str):
			path = os.path.join(args.out, f"{len(shots) + 1:02d}-{name}.png")
			page.screenshot(path=path, full_page=False)
			shots.append(path)

		def open_form(route: str):
			page.goto(f"{site.url}/app/{route}")
			page.wait_for_selector(".page-title", state="visible")
			page.wait_for_timeout(1200)

		for purpose in ("system", "business"):
			open_form(f"whatsapp-account/_ME Desk {purpose.title()}")
			if purpose == "business":
				shot("business-account-not-checked")
			page.get_by_role("button", name="Check Health").click()
			page.wait_for_selector("text=Health: AVAILABLE", timeout=15000)
			page.wait_for_timeout(800)
			page.get_by_role("button", name="Sync Templates").click()
			page.wait_for_selector("text=templates synced", timeout=15000)
			shot(f"{purpose}-account-healthy-and-synced")

		page.goto(f"{site.url}/app/whatsapp-template")
		page.wait_for_timeout(2000)
		shot("templates-list")

		template = site.first(
			"WhatsApp Template", {"account": "_ME Desk System", "template_name": "booking_confirmation"}
		)
		settings = site.call("frappe.client.get", doctype="Marketing Settings", name="Marketing Settings")
		settings.update(
			default_system_account="_ME Desk System",
			default_business_account="_ME Desk Business",
			booking_confirmation_template=template,
			booking_confirmation_variables=[],
		)
		site.call("frappe.client.save", doc=settings)
		open_form("marketing-settings")
		shot("marketing-settings")

		open_form(f"sales-order/{order['name']}")
		page.get_by_role("button", name="Send WhatsApp").click()
		page.get_by_text("Booking Confirmation", exact=True).click()
		alert = page.locator(".desk-alert", has_text="Booking confirmation handed to WhatsApp")
		alert.wait_for(timeout=15000)
		page.wait_for_timeout(1000)  # the alert slides in from the right
		shot("sales-order-confirmation-sent")

		time.sleep(3)  # the simulator's status webhooks: sent, delivered, read
		message = site.call(
			"frappe.client.get_list",
			doctype="WhatsApp Message",
			filters={"reference_name": order["name"]},
			fields=["name", "status"],
		)[0]
		open_form(f"whatsapp-message/{message['name']}")
		shot("whatsapp-message-read")
		page.goto(f"{site.url}/app/whatsapp-message")
		page.wait_for_timeout(2000)
		shot("whatsapp-message-list")

		# The customer taps "Stop promotions": the consent record shows the opt-out at once.
		sim.user_taps_button(numbers[1].phone_number_id, PHONE, "Stop promotions")
		sim.wait_for_webhooks(10)
		open_form(f"whatsapp-consent/{PHONE}")
		shot("consent-opted-out-by-button")

		open_form(f"customer/{customer}")
		page.get_by_role("tab", name="Dashboard").click()  # Customer keeps its connections there
		page.wait_for_timeout(1500)
		shot("customer-connections")

		campaign_walkthrough(site, page, shot, open_form, customer_group, territory)
		browser.close()
	sim.stop()
	print(json.dumps({"message_status": message["status"], "screenshots": shots}, indent=1))


if __name__ == "__main__":
	main()
