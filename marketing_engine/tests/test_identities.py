"""Meta's business-scoped user IDs (BSUIDs): a person who adopts a WhatsApp username may reach the
studio with no phone number at all. Their STOP must still stop marketing, their number must be
learned whenever Meta sends it beside the ID, and messages can go to the ID itself."""

import json
import time

import frappe
from frappe.tests.utils import FrappeTestCase

from marketing_engine.campaigns.audience import build_audience, preview
from marketing_engine.channel.consent import record_opt_in
from marketing_engine.channel.messaging import send_template
from marketing_engine.channel.routing import route
from marketing_engine.engine.consent import OptInSource
from marketing_engine.engine.routing import Block
from marketing_engine.tests.utils import (
	configure_channel,
	group_segment,
	make_customer,
	make_customer_group,
	sandbox_numbers,
	start_simulator,
	template_name,
	webhook_request,
)

BUSINESS_NUMBER_ID = "100000000000002"


def delivery(value: dict, field: str = "messages") -> bytes:
	body = {
		"object": "whatsapp_business_account",
		"entry": [
			{
				"id": "200000000000002",
				"changes": [{"value": {"metadata": _metadata(), **value}, "field": field}],
			}
		],
	}
	return json.dumps(body).encode()


def _metadata() -> dict:
	return {"display_phone_number": "918000000002", "phone_number_id": BUSINESS_NUMBER_ID}


def text_from(user_id: str, text: str, *, wa_id: str | None = None, username: str = "asha.clicks") -> bytes:
	"""An inbound text as Meta sends it now: ``from`` only when the number may be shared."""
	contact = {"profile": {"name": "Asha", "username": username}, "user_id": user_id}
	message = {
		"from_user_id": user_id,
		"id": f"wamid.BSUID{frappe.generate_hash(length=10)}",
		"timestamp": str(int(time.time())),
		"type": "text",
		"text": {"body": text},
	}
	if wa_id:
		contact["wa_id"] = message["from"] = wa_id
	return delivery({"contacts": [contact], "messages": [message]})


def status_with_both(message_id: str, wa_id: str, user_id: str) -> bytes:
	return delivery(
		{
			"contacts": [{"wa_id": wa_id, "user_id": user_id}],
			"statuses": [
				{
					"id": message_id,
					"status": "delivered",
					"timestamp": str(int(time.time())),
					"recipient_id": wa_id,
					"recipient_user_id": user_id,
				}
			],
		}
	)


def preference_of(user_id: str, value: str) -> bytes:
	return delivery(
		{
			"contacts": [{"profile": {"name": "Asha"}, "user_id": user_id}],
			"user_preferences": [
				{
					"user_id": user_id,
					"detail": "User requested to stop marketing messages",
					"category": "marketing_messages",
					"value": value,
					"timestamp": int(time.time()),
				}
			],
		},
		field="user_preferences",
	)


def system_message(kind: str, old_phone: str | None = None, **system) -> bytes:
	"""Meta's notice of a number or ID change: ``from`` is the number the person had."""
	message = {
		"id": f"wamid.SYS{frappe.generate_hash(length=10)}",
		"timestamp": str(int(time.time())),
		"type": "system",
		"system": {"type": kind, "body": "changed", **system},
	}
	if old_phone:
		message["from"] = old_phone
	return delivery({"messages": [message]})


class TestBusinessScopedUserIDs(FrappeTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		cls.simulator = start_simulator(sandbox_numbers())
		numbers = configure_channel(cls.simulator.base_url)
		cls.secret = numbers["business"].app_secret

	@classmethod
	def tearDownClass(cls):
		cls.simulator.stop()
		super().tearDownClass()

	def post(self, body: bytes):
		response = webhook_request("POST", body, secret=self.secret)
		self.assertEqual(response.status_code, 200, response.get_data(as_text=True))

	def outbound(self, phone: str) -> str:
		message_id = f"wamid.OUT{frappe.generate_hash(length=8)}"
		frappe.get_doc(
			{
				"doctype": "WhatsApp Message",
				"direction": "Outbound",
				"status": "Accepted",
				"phone": phone,
				"category": "MARKETING",
				"message_id": message_id,
			}
		).insert(ignore_permissions=True)
		return message_id

	def test_a_status_with_both_teaches_which_number_an_id_belongs_to(self):
		phone, user_id = "+919800000301", "IN.1648738043000301"
		record_opt_in(phone, OptInSource.FORM)
		message_id = self.outbound(phone)
		self.post(status_with_both(message_id, phone.lstrip("+"), user_id))
		self.assertEqual(frappe.db.get_value("WhatsApp Consent", phone, "user_id"), user_id)
		self.assertEqual(
			frappe.db.get_value("WhatsApp Message", {"message_id": message_id}, "user_id"), user_id
		)

	def test_username_users_stop_opts_out_the_number_it_belongs_to(self):
		phone, user_id = "+919800000302", "IN.1648738043000302"
		customer = make_customer(phone, name="_ME BSUID Asha Rao")
		record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
		self.post(status_with_both(self.outbound(phone), phone.lstrip("+"), user_id))
		self.assertTrue(route("MARKETING", phone).allowed)

		self.post(text_from(user_id, "STOP"))  # no phone number in the webhook at all

		consent = frappe.get_doc("WhatsApp Consent", phone)
		self.assertEqual((consent.status, consent.opt_out_source), ("Opted Out", "STOP Keyword"))
		self.assertEqual(consent.opt_out_actor, "_ME BSUID Asha Rao, on WhatsApp")  # not "Guest"
		self.assertEqual(route("MARKETING", phone).block, Block.OPTED_OUT)
		inbound = frappe.get_all(
			"WhatsApp Message",
			filters={"user_id": user_id, "direction": "Inbound"},
			fields=["phone", "contact_name", "profile_name"],
		)
		self.assertEqual(inbound, [{"phone": phone, "contact_name": customer, "profile_name": "Asha"}])

	def test_unknown_username_user_is_kept_under_the_id_then_merged_when_the_number_comes(self):
		phone, user_id = "+919800000303", "IN.1648738043000303"
		record_opt_in(phone, OptInSource.FORM)
		self.post(text_from(user_id, "Stop promotions"))

		# Nothing links the ID to a number yet: a consent record of its own, opted out.
		orphan = frappe.get_doc("WhatsApp Consent", user_id)
		self.assertEqual((orphan.phone, orphan.user_id, orphan.status), (None, user_id, "Opted Out"))
		self.assertEqual(route("MARKETING", user_id).block, Block.OPTED_OUT)
		self.assertTrue(route("MARKETING", phone).allowed)  # not known to be the same person yet

		# Meta sends both: the ID's decision moves to the number, history included.
		self.post(status_with_both(self.outbound(phone), phone.lstrip("+"), user_id))
		self.assertFalse(frappe.db.exists("WhatsApp Consent", user_id))
		consent = frappe.get_doc("WhatsApp Consent", phone)
		self.assertEqual((consent.status, consent.user_id, consent.username), ("Opted Out", user_id, None))
		events = frappe.get_all("WhatsApp Consent Log", filters={"consent": phone}, pluck="event")
		self.assertEqual(sorted(events), ["Opt-in", "Opt-out"])
		self.assertEqual(route("MARKETING", phone).block, Block.OPTED_OUT)

	def test_preference_stop_from_a_username_user(self):
		user_id = "IN.1648738043000304"
		self.post(preference_of(user_id, "stop"))
		consent = frappe.get_doc("WhatsApp Consent", user_id)
		self.assertEqual((consent.status, consent.opt_out_source), ("Opted Out", "Meta Preference"))
		self.assertEqual(route("MARKETING", user_id).block, Block.OPTED_OUT)

	def test_number_change_moves_consent_and_withdraws_it_from_the_old_number(self):
		old, new, user_id = "+919800000305", "+919800000306", "IN.1648738043000306"
		customer = make_customer(old, name="_ME BSUID Number Changer")
		record_opt_in(old, OptInSource.FORM, links={"customer": customer})
		self.post(
			system_message(
				"user_changed_number",
				old_phone=old.lstrip("+"),
				wa_id=new.lstrip("+"),
				user_id=user_id,
				previous_user_id="IN.1648738043000305",
			)
		)
		moved = frappe.get_doc("WhatsApp Consent", new)
		self.assertEqual((moved.status, moved.customer, moved.user_id), ("Opted In", customer, user_id))
		self.assertEqual(moved.opt_in_source, "Number Changed")
		left = frappe.get_doc("WhatsApp Consent", old)
		self.assertEqual((left.status, left.opt_out_source), ("Opted Out", "Number Changed"))
		comment = frappe.get_all(
			"Comment",
			filters={"reference_doctype": "Customer", "reference_name": customer},
			pluck="content",
		)
		self.assertTrue(any(new in c for c in comment), comment)

	def test_user_id_change_follows_the_person(self):
		phone, before, after = "+919800000307", "IN.1648738043000307", "IN.9948738043000307"
		record_opt_in(phone, OptInSource.FORM, user_id=before)
		self.post(system_message("user_changed_user_id", user_id=after, previous_user_id=before))
		self.assertEqual(frappe.db.get_value("WhatsApp Consent", phone, "user_id"), after)

	def test_a_message_goes_to_the_id_when_there_is_no_number(self):
		user_id = "IN.1648738043000308"
		message = send_template(
			template_name("_ME Test System", "booking_confirmation"),
			user_id,
			{"1": "Asha", "2": "SO-1", "3": "1 Dec", "4": "₹5,000"},
		)
		self.assertEqual((message.phone, message.user_id, message.status), (None, user_id, "Accepted"))
		sent = [m for m in self.simulator.sent if m.callback_data == message.name]
		self.assertEqual([(m.to, m.recipient) for m in sent], [(None, user_id)])

	def test_campaign_audience_reaches_a_customer_known_only_by_id(self):
		user_id = "IN.1648738043000309"
		group = make_customer_group("_ME BSUID Group")
		customer = make_customer(None, name="_ME BSUID No Number", group=group)
		record_opt_in(None, OptInSource.FORM, links={"customer": customer}, user_id=user_id)
		result = preview(build_audience([group_segment("_ME BSUID Audience", group)]))
		self.assertEqual(result.eligible, 1)
		self.assertEqual(result.sample[0]["phone"], user_id)
		self.assertEqual(result.sample[0]["region"], "IN")
