"""Realistic photo/video studio data at scale, for benchmarking segments and campaigns.

Run on a dedicated bench site (it writes ~800,000 rows):

    bench --site marketing-engine-bench.localhost execute marketing_engine.benchmarks.seed.run \\
        --kwargs "{'customers': 100000}"

Rows go in through multi-row INSERTs, not document saves: saving 100,000 Customers through the
ORM takes hours, and the benchmark needs the shape of ERPNext's tables, not its validations.
Everything generated is recognisable (names start with ``BENCH-``; consents belong to BENCH
customers), so a re-run deletes it first and, with the same seed, writes the same data again.
"""

from __future__ import annotations

import csv
import io
import math
import random
import time
from bisect import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from itertools import accumulate

import frappe

from marketing_engine.engine.phone import InvalidPhoneNumber, normalize

PREFIX = "BENCH-"
ADMIN = "Administrator"
# Large enough to amortise round trips, small enough to stay far below max_allowed_packet (16 MB).
ROWS_PER_INSERT = 2000

FIRST_CUSTOMER_AT = datetime(2019, 1, 1)
FIRST_ORDER_ON = date(2020, 1, 1)
LAST_ACTIVITY_AT = datetime(2026, 11, 20, 20, 0)

CUSTOMER_GROUPS = {"BENCH-Individual": 85, "BENCH-Corporate": 8, "BENCH-VIP": 7}
TERRITORY = "BENCH-India"
# VIPs come back more often; the other groups' rate is lowered so the average stays as asked.
VIP_ORDER_RATE_FACTOR = 2.5

# Item Group -> (share of all orders, price range in INR, package descriptions)
SHOOTS = {
	"Wedding": (
		30,
		(150_000, 600_000),
		(
			"Wedding - 2 days, candid + traditional photography, cinematic film, 1 album",
			"Wedding - 3 days incl. haldi and mehendi, drone, 2 albums, highlight reel",
		),
	),
	"Pre-Wedding": (
		15,
		(40_000, 120_000),
		("Pre-wedding shoot - 1 day, 2 locations, 40 edited photos", "Pre-wedding film + photos, outdoor"),
	),
	"Maternity": (
		12,
		(15_000, 50_000),
		("Maternity shoot - studio, 2 outfits, 25 edited photos", "Maternity shoot - outdoor, couple"),
	),
	"Newborn": (
		10,
		(10_000, 40_000),
		("Newborn shoot - home session, props included", "Newborn shoot - studio, 20 edited photos"),
	),
	"Birthday": (
		13,
		(8_000, 30_000),
		("Birthday party coverage - 4 hours, candid", "First birthday - photos + short video"),
	),
	"Corporate Event": (
		10,
		(30_000, 200_000),
		("Corporate event coverage - full day, same-day edits", "Annual day / conference coverage"),
	),
	"Product Shoot": (
		10,
		(10_000, 100_000),
		("Product shoot - white background, 30 SKUs", "Catalogue shoot with model, 1 day"),
	),
}
ITEM_OF_GROUP = {group: f"{PREFIX}{group} Shoot" for group in SHOOTS}
ITEM_OF_GROUP["Product Shoot"] = f"{PREFIX}Product Shoot"
# Companies book event and product shoots; everyone else's weights are derived from that so
# the overall mix stays as in SHOOTS.
CORPORATE_SHOOT_MIX = {"Corporate Event": 55, "Product Shoot": 45}

# city -> (share of customers, state, pincode prefix, localities, name region)
CITIES = {
	"Mumbai": (
		20,
		"Maharashtra",
		"400",
		("Andheri West", "Bandra West", "Borivali East", "Powai", "Dadar", "Malad West", "Chembur"),
		"west",
	),
	"Delhi": (
		13,
		"Delhi",
		"110",
		("Lajpat Nagar", "Karol Bagh", "Rohini Sector 9", "Dwarka Sector 12", "Janakpuri", "Saket"),
		"north",
	),
	"Bengaluru": (
		11,
		"Karnataka",
		"560",
		("Koramangala", "Indiranagar", "Jayanagar 4th Block", "Whitefield", "HSR Layout", "Malleshwaram"),
		"south",
	),
	"Pune": (9, "Maharashtra", "411", ("Kothrud", "Baner", "Viman Nagar", "Hadapsar", "Aundh"), "west"),
	"Hyderabad": (
		8,
		"Telangana",
		"500",
		("Banjara Hills", "Kukatpally", "Madhapur", "Secunderabad", "Gachibowli"),
		"south",
	),
	"Chennai": (
		7,
		"Tamil Nadu",
		"600",
		("T. Nagar", "Adyar", "Anna Nagar", "Velachery", "Mylapore"),
		"tamil",
	),
	"Kolkata": (
		6,
		"West Bengal",
		"700",
		("Salt Lake", "Ballygunge", "Behala", "Dum Dum", "New Town"),
		"east",
	),
	"Ahmedabad": (5, "Gujarat", "380", ("Navrangpura", "Satellite", "Bopal", "Maninagar"), "west"),
	"Jaipur": (4, "Rajasthan", "302", ("Malviya Nagar", "Vaishali Nagar", "Mansarovar", "C-Scheme"), "north"),
	"Lucknow": (3, "Uttar Pradesh", "226", ("Gomti Nagar", "Hazratganj", "Aliganj", "Indira Nagar"), "north"),
	"Kochi": (3, "Kerala", "682", ("Edappally", "Kakkanad", "Fort Kochi", "Vyttila"), "kerala"),
	"Chandigarh": (3, "Chandigarh", "160", ("Sector 17", "Sector 22", "Sector 35", "Manimajra"), "north"),
	"Surat": (3, "Gujarat", "395", ("Adajan", "Vesu", "Athwa", "Varachha"), "west"),
	"Indore": (2, "Madhya Pradesh", "452", ("Vijay Nagar", "Palasia", "Rajwada"), "north"),
	"Nagpur": (2, "Maharashtra", "440", ("Dharampeth", "Sitabuldi", "Manish Nagar"), "west"),
	"Coimbatore": (1, "Tamil Nadu", "641", ("RS Puram", "Gandhipuram", "Peelamedu"), "tamil"),
}
# Real address books are not clean: a few customers typed the old or lower-case name.
CITY_SPELLINGS = {"Mumbai": ("Bombay", "mumbai"), "Bengaluru": ("Bangalore",), "Kolkata": ("Calcutta",)}
OLD_CITY_SPELLING_SHARE = 0.02

# region -> (male first names, female first names, surnames)
NAMES = {
	"north": (
		"Rahul Amit Rohit Vikas Ankit Saurabh Gaurav Manish Arjun Karan Harpreet Gurpreet Aman Nikhil".split(),
		"Priya Neha Pooja Anjali Simran Ritika Shalini Kavya Nidhi Swati Ishita Tanvi Megha Aditi".split(),
		"Sharma Verma Gupta Singh Kumar Agarwal Chauhan Malhotra Kapoor Saxena Srivastava Mishra Yadav"
		" Bansal Sethi Gill Sandhu".split(),
	),
	"west": (
		"Rohan Aditya Siddharth Omkar Tejas Chirag Hardik Parth Nilesh Sagar Yash Mihir".split(),
		"Sneha Shruti Pallavi Rutuja Komal Dhara Hetal Krupa Manasi Janhavi Riddhi".split(),
		"Patil Deshmukh Kulkarni Joshi Shinde Jadhav Patel Shah Mehta Desai Chavan Pawar Thakkar Parikh".split(),
	),
	"south": (
		"Karthik Praveen Srinivas Naveen Harsha Venkatesh Abhishek Suresh Ravi".split(),
		"Divya Lakshmi Sowmya Keerthi Sindhu Deepika Bhavana Anusha Harini".split(),
		"Reddy Rao Gowda Naidu Shetty Hegde Kamath Chowdary Varma Murthy".split(),
	),
	"tamil": (
		"Arun Senthil Vignesh Prakash Balaji Saravanan Ganesh Dinesh Hari".split(),
		"Meena Priyanka Revathi Nandhini Gayathri Janani Kavitha".split(),
		"Iyer Iyengar Subramanian Krishnan Raman Natarajan Pillai Sundaram".split(),
	),
	"kerala": (
		"Anoop Jithin Sreejith Nithin Akhil Vishnu Joseph Thomas".split(),
		"Anjana Aswathy Reshma Sreelakshmi Neethu Maria Ann".split(),
		"Nair Menon Pillai Kurian Varghese Thomas Mathew Panicker".split(),
	),
	"east": (
		"Sourav Arnab Subhajit Debashish Anirban Ritwik Sayan Abhijit".split(),
		"Moumita Sreya Payel Ananya Rupa Tanushree Debolina".split(),
		"Banerjee Chatterjee Mukherjee Ghosh Bose Das Sen Dutta Roy".split(),
	),
}
BUSINESS_KINDS = (
	"Industries Pvt Ltd",
	"Enterprises",
	"Jewellers",
	"Textiles Pvt Ltd",
	"Foods LLP",
	"Realty",
	"Pharma Pvt Ltd",
	"Motors",
	"Fashions",
	"Infotech Pvt Ltd",
	"Sweets",
)
EMAIL_DOMAINS = {"gmail.com": 70, "yahoo.co.in": 12, "outlook.com": 8, "rediffmail.com": 5, "hotmail.com": 5}
BUILDINGS = (
	"Sai Krupa",
	"Shanti Niketan",
	"Green Park",
	"Sunshine",
	"Royal Palms",
	"Lakeview",
	"Shree Ganesh",
	"Silver Oak",
	"Gokul Dham",
	"Orchid",
	"Blue Bell",
	"Panchsheel",
)
BUILDING_KINDS = ("Apartments", "Society", "Residency", "Heights", "Towers", "CHS")

# How studios' customers end up in ERPNext: typed by hand, pasted from WhatsApp, imported.
MOBILE_FORMATS = {
	"{n}": 40,  # 9812345678
	"+91 {a} {b}": 20,  # +91 98123 45678
	"0{n}": 10,  # 09812345678
	"+91{n}": 15,  # +919812345678
	"{a}-{b}": 10,  # 98123-45678
	"91 {n}": 5,  # 91 9812345678
}
MOBILE_STARTS = ("9", "9", "9", "8", "8", "7", "7", "6")
# Shares of customers; the rest have a valid mobile of their own.
NO_MOBILE_SHARE = 0.02
INVALID_MOBILE_SHARE = 0.01
SHARED_MOBILE_SHARE = 0.005
INVALID_MOBILES = ("12345", "99999", "98765", "0000000000", "1111111", "NA")

BIRTHDAY_SHARE_OF_PEOPLE = 0.76  # companies have none, so about 70% of all customers
ADDRESS_SHARE = 0.95
CONSENT_SHARE = 0.60
OPT_OUT_SHARE = 0.05
OPT_IN_SOURCES = {"Form": 50, "CSV": 30, "Manual": 20}
ORDER_DOCSTATUS = {1: 94, 2: 3, 0: 3}
INVOICE_DOCSTATUS = {1: 97.5, 2: 2, 0: 0.5}
RETURN_SHARE = 0.03


@dataclass(slots=True)
class Person:
	customer_name: str
	first_name: str | None
	last_name: str | None
	customer_type: str
	customer_group: str
	gender: str | None
	city: str
	mobile_no: str | None
	email_id: str | None
	birthday: date | None


@dataclass(slots=True)
class Order:
	customer: int
	on: date
	at: datetime
	shoot: str
	amount: int
	docstatus: int
	billed: bool = False
	name: str = ""


@dataclass(slots=True)
class Invoice:
	customer: int
	on: date
	at: datetime
	amount: int
	docstatus: int
	return_against: Invoice | None = None
	returned: bool = False
	name: str = ""


class WeightedChoice:
	"""rng.choices with precomputed cumulative weights: the generator draws millions of times."""

	def __init__(self, weights: dict):
		self.options = list(weights)
		self.cumulative = list(accumulate(weights.values()))
		self.total = self.cumulative[-1]

	def pick(self, rng: random.Random):
		return self.options[bisect(self.cumulative, rng.random() * self.total)]


def run(
	customers: int = 100_000,
	seed: int = 7,
	orders_per_customer: float = 1.6,
	invoices_per_customer: float = 1.6,
) -> dict:
	"""Replace the generated data with ``customers`` customers and their addresses, consents,
	sales orders and invoices; return (and print) row counts and seconds per step."""
	started = time.perf_counter()
	seconds: dict[str, float] = {}
	counts: dict[str, int] = {}

	def timed(step: str, action):
		step_started = time.perf_counter()
		result = action()
		# Steps such as "generate sales" are timed in parts; their parts add up.
		seconds[step] = round(seconds.get(step, 0) + time.perf_counter() - step_started, 2)
		return result

	company = timed("setup", ensure_masters)
	counts["deleted"] = timed("delete previous", purge)
	frappe.db.commit()

	people = timed("generate customers", lambda: generate_people(customers, seed))
	created = timed("generate customers", lambda: customer_creation_times(customers, seed))
	addresses = timed("generate addresses", lambda: generate_addresses(people, created, seed))
	customer_rows, whatsapp_numbers = timed(
		"generate customers", lambda: customer_rows_of(people, created, addresses)
	)
	counts["Customer"] = timed("insert Customer", lambda: insert_rows("Customer", customer_rows))
	address_rows, link_rows = addresses
	counts["Address"] = timed("insert Address", lambda: insert_rows("Address", address_rows))
	counts["Dynamic Link"] = timed("insert Dynamic Link", lambda: insert_rows("Dynamic Link", link_rows))
	frappe.db.commit()

	orders, invoices = timed(
		"generate sales",
		lambda: generate_sales(
			people,
			created,
			seed,
			orders_per_customer=orders_per_customer,
			invoices_per_customer=invoices_per_customer,
		),
	)
	order_rows, order_item_rows = timed(
		"generate sales", lambda: sales_order_rows(orders, people, addresses[0], company)
	)
	invoice_rows = timed(
		"generate sales", lambda: sales_invoice_rows(invoices, people, addresses[0], company)
	)
	counts["Sales Order"] = timed("insert Sales Order", lambda: insert_rows("Sales Order", order_rows))
	counts["Sales Order Item"] = timed(
		"insert Sales Order Item", lambda: insert_rows("Sales Order Item", order_item_rows)
	)
	counts["Sales Invoice"] = timed(
		"insert Sales Invoice", lambda: insert_rows("Sales Invoice", invoice_rows)
	)
	frappe.db.commit()

	consent_rows, log_rows = timed(
		"generate consents", lambda: generate_consents(whatsapp_numbers, created, seed)
	)
	counts["WhatsApp Consent"] = timed(
		"insert WhatsApp Consent", lambda: insert_rows("WhatsApp Consent", consent_rows)
	)
	counts["WhatsApp Consent Log"] = timed(
		"insert WhatsApp Consent Log", lambda: insert_rows("WhatsApp Consent Log", log_rows)
	)
	frappe.db.commit()

	seconds["total"] = round(time.perf_counter() - started, 2)
	report = {"customers": customers, "seed": seed, "counts": counts, "seconds": seconds}
	print_report(report)
	return report


def print_report(report: dict):
	print(f"Seeded {report['customers']:,} customers (seed {report['seed']})")
	for table, count in report["counts"].items():
		print(f"  {table:<24}{count:>10,}")
	for step, took in report["seconds"].items():
		print(f"  {step:<32}{took:>8.2f} s")


# Masters
# -------


def ensure_masters() -> dict:
	"""The few tree records and items the bulk rows link to, created through the ORM (they are
	nested sets, and there are only a dozen). Kept between runs; they carry no customer data."""
	for group in SHOOTS:
		if not frappe.db.exists("Item Group", group):
			frappe.get_doc(
				{
					"doctype": "Item Group",
					"item_group_name": group,
					"parent_item_group": "All Item Groups",
					"is_group": 0,
				}
			).insert(ignore_permissions=True)
		item_code = ITEM_OF_GROUP[group]
		if not frappe.db.exists("Item", item_code):
			frappe.get_doc(
				{
					"doctype": "Item",
					"item_code": item_code,
					"item_name": item_code.removeprefix(PREFIX),
					"item_group": group,
					"is_stock_item": 0,
					"include_item_in_manufacturing": 0,
					"stock_uom": "Nos",
					"description": SHOOTS[group][2][0],
				}
			).insert(ignore_permissions=True)
	for group in CUSTOMER_GROUPS:
		if not frappe.db.exists("Customer Group", group):
			frappe.get_doc(
				{
					"doctype": "Customer Group",
					"customer_group_name": group,
					"parent_customer_group": "All Customer Groups",
					"is_group": 0,
				}
			).insert(ignore_permissions=True)
	if not frappe.db.exists("Territory", TERRITORY):
		frappe.get_doc(
			{
				"doctype": "Territory",
				"territory_name": TERRITORY,
				"parent_territory": "All Territories",
				"is_group": 0,
			}
		).insert(ignore_permissions=True)

	company = frappe.db.get_single_value("Global Defaults", "default_company") or frappe.db.get_value(
		"Company", {}, "name"
	)
	if not company:
		frappe.throw("Complete ERPNext's setup wizard first: sales documents need a company.")
	currency, receivable = frappe.db.get_value(
		"Company", company, ["default_currency", "default_receivable_account"]
	)
	price_list = frappe.db.get_value("Price List", {"selling": 1, "currency": currency}, "name")
	return {
		"name": company,
		"currency": currency,
		"receivable_account": receivable,
		"price_list": price_list,
	}


def purge() -> int:
	"""Delete what an earlier run generated. Consent rows are named by phone, so they are found
	through their BENCH customer."""
	like = PREFIX + "%"
	statements = (
		("WhatsApp Consent Log", "name like %s"),
		("WhatsApp Consent", "customer like %s"),
		("Dynamic Link", "name like %s"),
		("Address", "name like %s"),
		("Sales Order Item", "name like %s"),
		("Sales Order", "name like %s"),
		("Sales Invoice", "name like %s"),
		("Customer", "name like %s"),
	)
	deleted = 0
	for doctype, condition in statements:
		frappe.db.sql(f"delete from `tab{doctype}` where {condition}", like)
		deleted += frappe.db.sql("select row_count()")[0][0]
	return deleted


def insert_rows(doctype: str, rows: list[dict], chunk_size: int = ROWS_PER_INSERT) -> int:
	"""Multi-row INSERTs; columns left out take the table defaults (docstatus 0, checks 0, ...)."""
	if not rows:
		return 0
	fields = list(rows[0])
	columns = ", ".join(f"`{field}`" for field in fields)
	placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
	for start in range(0, len(rows), chunk_size):
		chunk = rows[start : start + chunk_size]
		values = [row[field] for row in chunk for field in fields]
		frappe.db.sql(
			f"insert into `tab{doctype}` ({columns}) values {', '.join([placeholders] * len(chunk))}",
			values,
		)
	return len(rows)


def standard_columns(name: str, at: datetime, modified: datetime | None = None, docstatus: int = 0) -> dict:
	return {
		"name": name,
		"creation": at,
		"modified": modified or at,
		"owner": ADMIN,
		"modified_by": ADMIN,
		"docstatus": docstatus,
	}


# Customers, their numbers and addresses
# --------------------------------------


def generate_people(count: int, seed: int) -> list[Person]:
	"""The first N people are the same whatever ``count`` is, so :func:`wedding_expo_csv` can
	reuse existing customers' numbers without knowing how many were seeded."""
	rng = random.Random(f"{seed}:people")
	groups = WeightedChoice(CUSTOMER_GROUPS)
	cities = WeightedChoice({city: spec[0] for city, spec in CITIES.items()})
	formats = WeightedChoice(MOBILE_FORMATS)
	domains = WeightedChoice(EMAIL_DOMAINS)
	regions = list(NAMES)
	people: list[Person] = []
	valid_mobiles: list[str] = []
	for _ in range(count):
		group = groups.pick(rng)
		city = cities.pick(rng)
		# A third of a city's customers moved there from elsewhere, and their names show it.
		region = CITIES[city][4] if rng.random() < 0.67 else rng.choice(regions)
		male_names, female_names, surnames = NAMES[region]
		gender = "Male" if rng.random() < 0.45 else "Female"
		first_name = rng.choice(male_names if gender == "Male" else female_names)
		last_name = rng.choice(surnames)

		chance = rng.random()
		if chance < NO_MOBILE_SHARE:
			mobile = rng.choice((None, None, ""))
		elif chance < NO_MOBILE_SHARE + INVALID_MOBILE_SHARE:
			mobile = rng.choice(INVALID_MOBILES)
		elif chance < NO_MOBILE_SHARE + INVALID_MOBILE_SHARE + SHARED_MOBILE_SHARE and valid_mobiles:
			# Families and small firms share one phone, typed differently each time.
			mobile = format_mobile(digits_of(rng.choice(valid_mobiles)), formats.pick(rng))
		else:
			mobile = format_mobile(random_mobile_digits(rng), formats.pick(rng))
			valid_mobiles.append(mobile)

		if group == "BENCH-Corporate":
			customer_name = f"{last_name} {rng.choice(BUSINESS_KINDS)}"
			customer_type, person_gender, birthday = "Company", None, None
			first, last = None, None
		else:
			customer_name = f"{first_name} {last_name}"
			customer_type, person_gender, first, last = "Individual", gender, first_name, last_name
			birthday = random_birthday(rng) if rng.random() < BIRTHDAY_SHARE_OF_PEOPLE else None
		email = None
		if rng.random() < 0.6:
			email = f"{first_name.lower()}.{last_name.lower()}{rng.randint(1, 999)}@{domains.pick(rng)}"
		people.append(
			Person(
				customer_name=customer_name,
				first_name=first,
				last_name=last,
				customer_type=customer_type,
				customer_group=group,
				gender=person_gender,
				city=city,
				mobile_no=mobile,
				email_id=email,
				birthday=birthday,
			)
		)
	return people


def random_mobile_digits(rng: random.Random) -> str:
	return rng.choice(MOBILE_STARTS) + str(rng.randrange(100_000_000, 1_000_000_000))


def format_mobile(digits: str, pattern: str) -> str:
	return pattern.format(n=digits, a=digits[:5], b=digits[5:])


def digits_of(mobile: str) -> str:
	"""The 10-digit national number of a mobile written in any MOBILE_FORMATS pattern."""
	digits = "".join(ch for ch in mobile if ch.isdigit())
	return digits[-10:]


def random_birthday(rng: random.Random) -> date:
	return date(1971, 1, 1) + timedelta(days=rng.randrange(0, 35 * 365))


def customer_creation_times(count: int, seed: int) -> list[datetime]:
	"""Sorted, so BENCH-CUST-000001 is the oldest customer as with a naming series; denser in
	recent years because studios grow (density rises linearly over the period)."""
	rng = random.Random(f"{seed}:creation")
	span = (LAST_ACTIVITY_AT - FIRST_CUSTOMER_AT).total_seconds()
	times = sorted(math.sqrt(rng.random()) * span for _ in range(count))
	return [during_business_hours(FIRST_CUSTOMER_AT + timedelta(seconds=offset), rng) for offset in times]


def during_business_hours(moment: datetime, rng: random.Random) -> datetime:
	return datetime.combine(moment.date(), clock(10)) + timedelta(seconds=rng.randrange(0, 10 * 3600))


def customer_name_of(index: int) -> str:
	return f"{PREFIX}CUST-{index + 1:06d}"


def address_name_of(index: int) -> str:
	# Numbered like the customer it belongs to, so gaps show who has no address.
	return f"{PREFIX}ADDR-{index + 1:06d}"


def generate_addresses(people: list[Person], created: list[datetime], seed: int) -> tuple[list, list]:
	rng = random.Random(f"{seed}:addresses")
	address_rows, link_rows = [], []
	for index, person in enumerate(people):
		if rng.random() >= ADDRESS_SHARE:
			continue
		_share, state, pincode_prefix, localities, _region = CITIES[person.city]
		city = person.city
		if city in CITY_SPELLINGS and rng.random() < OLD_CITY_SPELLING_SHARE:
			city = rng.choice(CITY_SPELLINGS[city])
		flat = rng.choice(("{}-{}", "Flat {1}", "House No. {1}")).format(
			rng.choice("ABCDE"), rng.randint(1, 24) * 100 + rng.randint(1, 12)
		)
		name = address_name_of(index)
		at = created[index]
		address_rows.append(
			{
				**standard_columns(name, at),
				"address_title": person.customer_name,
				"address_type": "Billing",
				"address_line1": f"{flat}, {rng.choice(BUILDINGS)} {rng.choice(BUILDING_KINDS)}",
				"address_line2": rng.choice(localities),
				"city": city,
				"state": state,
				"country": "India",
				"pincode": f"{pincode_prefix}{rng.randint(1, 99):03d}",
				"is_primary_address": 1,
			}
		)
		link_rows.append(
			{
				**standard_columns(f"{PREFIX}DL-{index + 1:06d}", at),
				"idx": 1,
				"parent": name,
				"parenttype": "Address",
				"parentfield": "links",
				"link_doctype": "Customer",
				"link_name": customer_name_of(index),
				"link_title": person.customer_name,
			}
		)
	return address_rows, link_rows


def customer_rows_of(
	people: list[Person], created: list[datetime], addresses: tuple[list, list]
) -> tuple[list[dict], list[str | None]]:
	"""Customer rows, and each customer's WhatsApp number (None when it cannot be messaged)."""
	address_of = {row["name"]: row for row in addresses[0]}
	rows, numbers = [], []
	for index, person in enumerate(people):
		number = whatsapp_number(person.mobile_no)
		numbers.append(number)
		address = address_of.get(address_name_of(index))
		at = created[index]
		rows.append(
			{
				**standard_columns(customer_name_of(index), at),
				"customer_name": person.customer_name,
				"customer_type": person.customer_type,
				"customer_group": person.customer_group,
				"territory": TERRITORY,
				"gender": person.gender,
				"first_name": person.first_name,
				"last_name": person.last_name,
				"mobile_no": person.mobile_no,
				"email_id": person.email_id,
				"birthday": person.birthday,
				"whatsapp_number": number,
				"whatsapp_region": "IN" if number else None,
				"customer_primary_address": address["name"] if address else None,
				"primary_address": address_display(address) if address else None,
				"language": "en",
			}
		)
	return rows, numbers


def whatsapp_number(mobile: str | None) -> str | None:
	# The app's own normaliser, so the numbers match what marketing_engine.channel.numbers.backfill sets.
	try:
		return normalize(mobile, "IN")
	except InvalidPhoneNumber:
		return None


def address_display(address: dict) -> str:
	return "<br>".join(
		(
			address["address_line1"],
			address["address_line2"],
			address["city"],
			f"{address['state']}, PIN: {address['pincode']}",
			"India",
		)
	)


# Sales
# -----


def generate_sales(
	people: list[Person],
	created: list[datetime],
	seed: int,
	*,
	orders_per_customer: float,
	invoices_per_customer: float,
) -> tuple[list[Order], list[Invoice]]:
	"""Orders, and invoices that bill a customer's oldest submitted orders first (so recent
	orders are the open ones) plus direct invoices without an order, as small studios do."""
	rng = random.Random(f"{seed}:sales")
	vip_share = CUSTOMER_GROUPS["BENCH-VIP"] / sum(CUSTOMER_GROUPS.values())
	base_rate = orders_per_customer / (1 - vip_share + vip_share * VIP_ORDER_RATE_FACTOR)
	# Each submitted invoice has a RETURN_SHARE chance of a credit note, which is an invoice too.
	invoice_rate = invoices_per_customer / (1 + RETURN_SHARE * INVOICE_DOCSTATUS[1] / 100)
	shoots_of = {
		"BENCH-Corporate": WeightedChoice(CORPORATE_SHOOT_MIX),
		"other": WeightedChoice(shoot_weights_of_people()),
	}
	order_docstatus = WeightedChoice(ORDER_DOCSTATUS)
	invoice_docstatus = WeightedChoice(INVOICE_DOCSTATUS)
	last_day = LAST_ACTIVITY_AT.date()
	orders: list[Order] = []
	invoices: list[Invoice] = []
	for index, person in enumerate(people):
		vip = person.customer_group == "BENCH-VIP"
		shoots = shoots_of.get(person.customer_group, shoots_of["other"])
		first_day = max(created[index].date(), FIRST_ORDER_ON)
		window = (last_day - first_day).days

		customer_orders = []
		for _ in range(poisson(rng, base_rate * (VIP_ORDER_RATE_FACTOR if vip else 1))):
			shoot = shoots.pick(rng)
			on = first_day + timedelta(days=rng.randint(0, window))
			customer_orders.append(
				Order(
					customer=index,
					on=on,
					at=during_business_hours(datetime.combine(on, clock()), rng),
					shoot=shoot,
					amount=price_of(shoot, rng, vip),
					docstatus=order_docstatus.pick(rng),
				)
			)
		customer_orders.sort(key=lambda order: order.on)
		orders.extend(customer_orders)

		billable = [order for order in customer_orders if order.docstatus == 1]
		for number in range(poisson(rng, invoice_rate)):
			docstatus = invoice_docstatus.pick(rng)
			if number < len(billable):
				order = billable[number]
				# A draft or cancelled invoice leaves its order to be billed.
				order.billed = docstatus == 1
				amount = order.amount
				on = min(order.on + timedelta(days=rng.randint(0, 45)), last_day)
			else:
				amount = price_of(shoots.pick(rng), rng, vip)
				on = first_day + timedelta(days=rng.randint(0, window))
			invoice = Invoice(
				customer=index,
				on=on,
				at=during_business_hours(datetime.combine(on, clock()), rng),
				amount=amount,
				docstatus=docstatus,
			)
			invoices.append(invoice)
			if invoice.docstatus == 1 and rng.random() < RETURN_SHARE:
				invoice.returned = True
				# Refunds are partial more often than not: a cancelled album, a missed event.
				refund = -round_to(amount * rng.choice((1, 0.5, 0.25, 0.1)), 100)
				return_on = min(on + timedelta(days=rng.randint(1, 60)), last_day)
				invoices.append(
					Invoice(
						customer=index,
						on=return_on,
						at=during_business_hours(datetime.combine(return_on, clock()), rng),
						amount=refund,
						docstatus=1,
						return_against=invoice,
					)
				)

	# Names follow the date, as a naming series would; ties keep generation order (stable sort).
	orders.sort(key=lambda order: order.at)
	for number, order in enumerate(orders, 1):
		order.name = f"{PREFIX}SO-{number:07d}"
	invoices.sort(key=lambda invoice: invoice.at)
	for number, invoice in enumerate(invoices, 1):
		invoice.name = f"{PREFIX}SINV-{number:07d}"
	return orders, invoices


def shoot_weights_of_people() -> dict[str, float]:
	"""Shoot weights for non-corporate customers such that, with companies booking only
	CORPORATE_SHOOT_MIX, all orders together follow SHOOTS."""
	corporate_share = CUSTOMER_GROUPS["BENCH-Corporate"] / sum(CUSTOMER_GROUPS.values())
	overall_total = sum(spec[0] for spec in SHOOTS.values())
	mix_total = sum(CORPORATE_SHOOT_MIX.values())
	weights = {}
	for shoot, spec in SHOOTS.items():
		overall = spec[0] / overall_total
		from_companies = corporate_share * CORPORATE_SHOOT_MIX.get(shoot, 0) / mix_total
		weights[shoot] = max(overall - from_companies, 0) / (1 - corporate_share)
	return weights


def poisson(rng: random.Random, mean: float) -> int:
	# Knuth's method: exact and fast for the small means used here.
	limit, count, product = math.exp(-mean), 0, rng.random()
	while product > limit:
		count += 1
		product *= rng.random()
	return count


def price_of(shoot: str, rng: random.Random, vip: bool) -> int:
	"""Most bookings sit near the cheaper packages; VIPs take the premium ones."""
	low, high = SHOOTS[shoot][1]
	mode = low + (high - low) * (0.75 if vip else 0.25)
	return round_to(rng.triangular(low, high, mode), 500)


def round_to(amount: float, step: int) -> int:
	return int(round(amount / step) * step)


def sales_order_rows(
	orders: list[Order], people: list[Person], address_rows: list[dict], company: dict
) -> tuple[list[dict], list[dict]]:
	has_address = {row["name"] for row in address_rows}
	currency = company["currency"]
	order_rows, item_rows = [], []
	for number, order in enumerate(orders, 1):
		person = people[order.customer]
		address = address_name_of(order.customer)
		delivery_on = order.on + timedelta(days=30)
		completed = order.docstatus == 1 and order.billed
		status = {0: "Draft", 2: "Cancelled"}.get(
			order.docstatus, "Completed" if completed else "To Deliver and Bill"
		)
		amount = order.amount
		order_rows.append(
			{
				**standard_columns(order.name, order.at, docstatus=order.docstatus),
				# Omitted, title would be the literal column default '{customer_name}'.
				"title": person.customer_name,
				"customer": customer_name_of(order.customer),
				"customer_name": person.customer_name,
				"order_type": "Sales",
				"transaction_date": order.on,
				"delivery_date": delivery_on,
				"company": company["name"],
				"currency": currency,
				"conversion_rate": 1,
				"selling_price_list": company["price_list"],
				"price_list_currency": currency,
				"plc_conversion_rate": 1,
				"total_qty": 1,
				"total": amount,
				"base_total": amount,
				"net_total": amount,
				"base_net_total": amount,
				"grand_total": amount,
				"base_grand_total": amount,
				"rounded_total": amount,
				"base_rounded_total": amount,
				"customer_address": address if address in has_address else None,
				"customer_group": person.customer_group,
				"territory": TERRITORY,
				"status": status,
				"delivery_status": "Fully Delivered" if completed else "Not Delivered",
				"billing_status": "Fully Billed" if completed else "Not Billed",
				"per_delivered": 100 if completed else 0,
				"per_billed": 100 if completed else 0,
				"party_account_currency": currency,
				"language": "en",
			}
		)
		item_code = ITEM_OF_GROUP[order.shoot]
		item_rows.append(
			{
				**standard_columns(f"{PREFIX}SOI-{number:07d}", order.at, docstatus=order.docstatus),
				"idx": 1,
				"parent": order.name,
				"parenttype": "Sales Order",
				"parentfield": "items",
				"item_code": item_code,
				"item_name": item_code.removeprefix(PREFIX),
				"item_group": order.shoot,
				"description": SHOOTS[order.shoot][2][number % 2],
				"qty": 1,
				"stock_qty": 1,
				"uom": "Nos",
				"stock_uom": "Nos",
				"conversion_factor": 1,
				"price_list_rate": amount,
				"base_price_list_rate": amount,
				"rate": amount,
				"amount": amount,
				"base_rate": amount,
				"base_amount": amount,
				"net_rate": amount,
				"net_amount": amount,
				"base_net_rate": amount,
				"base_net_amount": amount,
				"stock_uom_rate": amount,
				"billed_amt": amount if completed else 0,
				"delivered_qty": 1 if completed else 0,
				# The column defaults to 1, which means nothing for a service.
				"reserve_stock": 0,
				"delivery_date": delivery_on,
				"transaction_date": order.on,
			}
		)
	return order_rows, item_rows


def sales_invoice_rows(
	invoices: list[Invoice], people: list[Person], address_rows: list[dict], company: dict
) -> list[dict]:
	has_address = {row["name"] for row in address_rows}
	currency = company["currency"]
	rows = []
	for invoice in invoices:
		person = people[invoice.customer]
		address = address_name_of(invoice.customer)
		if invoice.docstatus != 1:
			status = "Draft" if invoice.docstatus == 0 else "Cancelled"
		elif invoice.return_against:
			status = "Return"
		else:
			status = "Credit Note Issued" if invoice.returned else "Paid"
		amount = invoice.amount
		rows.append(
			{
				**standard_columns(invoice.name, invoice.at, docstatus=invoice.docstatus),
				"title": person.customer_name,
				"customer": customer_name_of(invoice.customer),
				"customer_name": person.customer_name,
				"company": company["name"],
				"posting_date": invoice.on,
				"posting_time": invoice.at.time(),
				"due_date": invoice.on,
				"is_return": 1 if invoice.return_against else 0,
				"return_against": invoice.return_against.name if invoice.return_against else None,
				"currency": currency,
				"conversion_rate": 1,
				"selling_price_list": company["price_list"],
				"price_list_currency": currency,
				"plc_conversion_rate": 1,
				"total_qty": -1 if invoice.return_against else 1,
				"total": amount,
				"base_total": amount,
				"net_total": amount,
				"base_net_total": amount,
				"grand_total": amount,
				"base_grand_total": amount,
				"rounded_total": amount,
				"base_rounded_total": amount,
				"outstanding_amount": 0,
				"debit_to": company["receivable_account"],
				"party_account_currency": currency,
				"customer_address": address if address in has_address else None,
				"customer_group": person.customer_group,
				"territory": TERRITORY,
				"status": status,
				"language": "en",
			}
		)
	return rows


# Consent
# -------


def generate_consents(
	whatsapp_numbers: list[str | None], created: list[datetime], seed: int
) -> tuple[list[dict], list[dict]]:
	"""One consent per number (phone is unique), owned by the first customer who gave it, and a
	log row per opt-in and opt-out event."""
	rng = random.Random(f"{seed}:consent")
	sources = WeightedChoice(OPT_IN_SOURCES)
	# A number consented outside the benchmark (by hand on this site) keeps its own row.
	taken = set(frappe.get_all("WhatsApp Consent", pluck="name"))
	consent_rows, log_rows = [], []

	def log(consent: str, event: str, source: str, at: datetime):
		log_rows.append(
			{
				**standard_columns(f"{PREFIX}WCL-{len(log_rows) + 1:07d}", at),
				"consent": consent,
				"event": event,
				"source": source,
				"at": at,
			}
		)

	for index, number in enumerate(whatsapp_numbers):
		if not number or number in taken or rng.random() >= CONSENT_SHARE:
			continue
		taken.add(number)
		opted_in_at = between(created[index], LAST_ACTIVITY_AT, rng)
		source = sources.pick(rng)
		opted_out_at = None
		if rng.random() < OPT_OUT_SHARE:
			opted_out_at = between(opted_in_at, LAST_ACTIVITY_AT, rng)
		consent_rows.append(
			{
				**standard_columns(number, opted_in_at, opted_out_at),
				"phone": number,
				"status": "Opted Out" if opted_out_at else "Opted In",
				"marketing_opt_in": 0 if opted_out_at else 1,
				"customer": customer_name_of(index),
				"opt_in_source": source,
				"opted_in_at": opted_in_at,
				"opt_out_source": "STOP Keyword" if opted_out_at else None,
				"opted_out_at": opted_out_at,
			}
		)
		log(number, "Opt-in", source, opted_in_at)
		if opted_out_at:
			log(number, "Opt-out", "STOP Keyword", opted_out_at)
	# Logs are read newest first, by creation; keep their names in that order too.
	log_rows.sort(key=lambda row: row["at"])
	for number, row in enumerate(log_rows, 1):
		row["name"] = f"{PREFIX}WCL-{number:07d}"
	return consent_rows, log_rows


def between(start: datetime, end: datetime, rng: random.Random) -> datetime:
	if end <= start:
		return start
	return start + timedelta(seconds=rng.randrange(0, int((end - start).total_seconds()) + 1))


# Static list import
# ------------------

EXPO_CITIES = ("Mumbai", "Pune", "Thane", "Navi Mumbai", "Nashik", "mumbai", "")
EXPO_TAGS = ("wedding-expo-2026", "wedding-expo-2026;destination", "wedding-expo-2026;haldi")
EXPO_CONSENT_YES = ("yes", "Yes", "YES", "y", "true", "1")
EXPO_CONSENT_NO = ("no", "No", "", "n")
EXPO_BAD_NUMBERS = ("98765 4321", "N/A", "555-0199", "+91 12345", "call after 6pm", "9876")
EXPO_EXISTING_CUSTOMER_SHARE = 0.08


def wedding_expo_csv(rows: int = 2000, seed: int = 7) -> bytes:
	"""A "Leads from Wedding Expo" sheet as a studio exports it: mixed number formats, ~3% bad
	numbers, ~2% duplicates, ~5% without consent, some numbers of existing BENCH customers, and
	one line saved as Latin-1 inside an otherwise UTF-8 file."""
	rng = random.Random(f"{seed}:expo")
	# Numbers of the first seeded customers: the same whatever the seeded customer count was.
	customer_mobiles = [
		person.mobile_no
		for person in generate_people(min(rows * 2, 5000), seed)
		if person.mobile_no and whatsapp_number(person.mobile_no)
	]
	formats = WeightedChoice(MOBILE_FORMATS)
	regions = list(NAMES)
	latin1_line = rows // 2
	seen: list[str] = []
	lines: list[bytes] = [encode_csv_line(["Name", "Phone", "Email", "City", "Consent", "Tags"])]
	for line in range(rows):
		male_names, female_names, surnames = NAMES[rng.choice(regions)]
		first_name = rng.choice([*male_names, *female_names])
		last_name = rng.choice(surnames)
		chance = rng.random()
		if chance < 0.03:
			phone = rng.choice(EXPO_BAD_NUMBERS)
		elif chance < 0.05 and seen:
			# The same visitor filled the form twice (or a partner did), typed differently.
			phone = format_mobile(digits_of(rng.choice(seen)), formats.pick(rng))
		elif chance < 0.05 + EXPO_EXISTING_CUSTOMER_SHARE:
			phone = format_mobile(digits_of(rng.choice(customer_mobiles)), formats.pick(rng))
		else:
			phone = format_mobile(random_mobile_digits(rng), formats.pick(rng))
		if whatsapp_number(phone):
			seen.append(phone)
		consent = rng.choice(EXPO_CONSENT_NO) if rng.random() < 0.05 else rng.choice(EXPO_CONSENT_YES)
		email = f"{first_name.lower()}.{last_name.lower()}@gmail.com" if rng.random() < 0.7 else ""
		name = f"{first_name} {last_name}"
		encoding = "utf-8"
		if line == latin1_line:
			# Excel on Windows saves accented names as Latin-1: this line is not valid UTF-8.
			name, encoding = "José D'Souza", "latin-1"
		fields = [name, phone, email, rng.choice(EXPO_CITIES), consent, rng.choice(EXPO_TAGS)]
		lines.append(encode_csv_line(fields, encoding))
	return b"".join(lines)


def encode_csv_line(fields: list[str], encoding: str = "utf-8") -> bytes:
	buffer = io.StringIO()
	csv.writer(buffer).writerow(fields)
	return buffer.getvalue().encode(encoding)
