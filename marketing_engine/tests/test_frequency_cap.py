"""The frequency cap in audiences reads each person's ``marketing_capped_until``, kept from their
messages: exact against a count of the messages themselves, moved by a status webhook that fails
a marketing message, and recomputed for everyone when the cap changes, however it was changed."""

import frappe
from frappe.tests.utils import FrappeTestCase
from frappe.utils import add_days, add_to_date, get_datetime, now_datetime

from marketing_engine.campaigns.audience import build_audience, preview
from marketing_engine.channel.consent import record_opt_in
from marketing_engine.channel.frequency_cap import computed_for, refresh_frequency_caps
from marketing_engine.engine.consent import OptInSource
from marketing_engine.tests.test_webhook import status
from marketing_engine.tests.utils import (
	SYSTEM_ACCOUNT,
	configure_channel,
	group_segment,
	make_customer,
	make_customer_group,
	sandbox_numbers,
	start_simulator,
	webhook_request,
)

GROUP = "_ME Cap Group"
AUDIENCE = "_ME Cap Audience"
# Marketing messages each person got, as days ago (a negative status: it failed).
HISTORY = {
	"+919812400001": [1, 2],  # two this week: capped until the older one is a week old
	"+919812400002": [1, 8],  # one of them before the window
	"+919812400003": [1, 2, 3],  # three: the second newest decides
	"+919812400004": [1, -2],  # the failed one does not count
	"+919812400005": [3],
	"+919812400006": [],
}


class TestFrequencyCap(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.simulator = start_simulator(sandbox_numbers())
		configure_channel(cls.simulator.base_url)
		make_customer_group(GROUP)
		for phone in HISTORY:
			name = f"_ME Cap Client {phone[-2:]}"
			customer = frappe.db.exists("Customer", name) or make_customer(phone, name=name, group=GROUP)
			record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
		group_segment(AUDIENCE, GROUP)
		frappe.db.commit()

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		super().tearDownClass()

	def setUp(self):
		self.now = now_datetime()
		self.messages = {}
		for phone, days_ago in HISTORY.items():
			for n, days in enumerate(days_ago):
				self.messages[(phone, n)] = frappe.get_doc(
					{
						"doctype": "WhatsApp Message",
						"direction": "Outbound",
						"status": "Failed" if days < 0 else "Read",
						"phone": phone,
						"account": SYSTEM_ACCOUNT,
						"category": "MARKETING",
						"message_id": f"wamid.CAP{frappe.generate_hash(length=10)}",
						"submitted_at": add_days(self.now, -abs(days)),
					}
				).insert(ignore_permissions=True)
		self.set_cap(2, 7)

	def tearDown(self):
		frappe.db.rollback()  # the messages, the caps and the cap they were computed for
		frappe.clear_document_cache("Marketing Settings", "Marketing Settings")

	def set_cap(self, messages: int, days: int) -> None:
		# As an import or a patch would: no save, no hook. Audiences still see the new cap.
		frappe.db.set_single_value(
			"Marketing Settings", {"frequency_cap_messages": messages, "frequency_cap_days": days}
		)
		frappe.clear_document_cache("Marketing Settings", "Marketing Settings")

	def capped_until(self) -> dict[str, object]:
		return dict(
			frappe.db.sql(
				"select name, marketing_capped_until from `tabWhatsApp Consent` where name in %s",
				(list(HISTORY),),
			)
		)

	def capped_in_preview(self) -> int:
		return preview(build_audience([AUDIENCE])).excluded.get("frequency_cap", 0)

	def counted(self, limit: int, days: int) -> set[str]:
		"""Who the cap holds back, counted from the messages themselves (what the send path does)."""
		return set(
			frappe.db.sql(
				"""select phone from `tabWhatsApp Message` where phone in %s and category='MARKETING'
				and direction='Outbound' and status in ('Queued', 'Accepted', 'Sent', 'Delivered', 'Read')
				and submitted_at >= %s group by phone having count(*) >= %s""",
				(list(HISTORY), add_days(self.now, -days), limit),
				pluck=True,
			)
		)

	def test_each_person_is_capped_until_their_limit_th_newest_message_is_out_of_the_window(self):
		self.assertEqual(self.capped_in_preview(), 2)  # the preview brought the column up to date
		until = self.capped_until()
		self.assertEqual(
			{phone for phone, moment in until.items() if moment and get_datetime(moment) > self.now},
			self.counted(2, 7),
		)
		self.assertEqual(self.counted(2, 7), {"+919812400001", "+919812400003"})
		for phone in ("+919812400001", "+919812400003"):
			second_newest = add_days(self.now, -2)
			self.assertLess(abs((get_datetime(until[phone]) - add_days(second_newest, 7)).total_seconds()), 2)
		self.assertIsNone(until["+919812400006"])

	def test_a_failed_status_webhook_uncaps_the_person_at_once(self):
		self.assertEqual(self.capped_in_preview(), 2)
		message = self.messages[("+919812400001", 0)]
		message.db_set("status", "Sent")
		response = webhook_request(
			"POST", status(message.message_id, "failed", int(self.now.timestamp())), secret=self.secret()
		)
		self.assertEqual(response.status_code, 200)
		self.assertEqual(frappe.db.get_value("WhatsApp Message", message.name, "status"), "Failed")
		self.assertIsNone(self.capped_until()["+919812400001"])
		self.assertEqual(self.capped_in_preview(), 1)

	def test_a_changed_cap_recomputes_everyone_before_the_next_audience(self):
		self.assertEqual(self.capped_in_preview(), 2)
		self.set_cap(1, 7)
		self.assertEqual(self.capped_in_preview(), len(self.counted(1, 7)))
		self.assertEqual(self.capped_in_preview(), 5)  # everyone messaged this week but 6
		self.set_cap(3, 30)
		self.assertEqual(self.capped_in_preview(), 1)
		self.set_cap(0, 7)  # off
		self.assertEqual(self.capped_in_preview(), 0)
		self.assertEqual(computed_for(), "off")
		self.assertEqual(set(self.capped_until().values()), {None})

	def test_a_batch_of_sends_moves_only_its_own_people(self):
		self.assertEqual(self.capped_in_preview(), 2)
		frappe.get_doc(
			{
				"doctype": "WhatsApp Message",
				"direction": "Outbound",
				"status": "Accepted",
				"phone": "+919812400005",
				"account": SYSTEM_ACCOUNT,
				"category": "MARKETING",
				"submitted_at": add_to_date(self.now, minutes=-1),
			}
		).insert(ignore_permissions=True)
		before = self.capped_until()
		refresh_frequency_caps(["+919812400005"])  # what the send path does after each batch
		after = self.capped_until()
		self.assertIsNotNone(after["+919812400005"])
		self.assertEqual(
			{k: v for k, v in after.items() if k != "+919812400005"},
			{k: v for k, v in before.items() if k != "+919812400005"},
		)
		self.assertEqual(self.capped_in_preview(), 3)

	def secret(self) -> str:
		from marketing_engine.marketing_engine.doctype.whatsapp_account.whatsapp_account import get_account

		return get_account(SYSTEM_ACCOUNT).get_app_secret()
