"""Templates written in Desk: Meta's rules refused on their fields before anything leaves, a
template submitted to the simulator (header example through the Resumable Upload API), approved
and rejected by Meta's status webhook through Frappe's web server and a real worker, edited within
Meta's limits, deleted unless a campaign still relies on it, duplicated into another language, kept
apart from templates synced from Meta, and used by a campaign once approved."""

import collections

import frappe
import requests
from frappe.utils import add_days, now_datetime

from marketing_engine.channel.consent import record_opt_in
from marketing_engine.engine.consent import OptInSource
from marketing_engine.engine.simulator import SANDBOX_APP
from marketing_engine.tests.utils import (
	BUSINESS_ACCOUNT,
	LiveChannelTestCase,
	RQWorker,
	group_segment,
	make_customer,
	make_customer_group,
	wait_until,
	webhooks_applied,
)

GROUP = "_ME Builder Clients"
AUDIENCE = "_ME Builder Audience"
PREFIX = "me_builder_"
# The smallest PNG there is: a header example for the upload.
PNG = bytes.fromhex(
	"89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
	"0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class TestTemplateBuilder(LiveChannelTestCase):
	@classmethod
	def setUpClass(cls):
		super().setUpClass()
		make_customer_group(GROUP)
		for i in range(3):
			phone = f"+91981250{i:04d}"
			name = f"_ME Builder Client{i}"
			customer = frappe.db.exists("Customer", name) or make_customer(phone, name=name, group=GROUP)
			record_opt_in(phone, OptInSource.FORM, links={"customer": customer})
		group_segment(AUDIENCE, GROUP)
		# A studio on its own Meta app gives its App ID, which uploads of header examples need.
		frappe.db.set_value("WhatsApp Account", BUSINESS_ACCOUNT, "meta_app_id", SANDBOX_APP.app_id)
		frappe.db.commit()
		cls.waba = cls.numbers[1].waba_id

	def tearDown(self):
		frappe.db.rollback()
		for campaign in frappe.get_all(
			"WhatsApp Campaign", {"campaign_name": ("like", "_ME Builder%")}, pluck="name"
		):
			frappe.db.delete("WhatsApp Message", {"campaign": campaign})
			frappe.delete_doc("WhatsApp Campaign", campaign, force=True)
		for name in frappe.get_all(
			"WhatsApp Template", {"template_name": ("like", f"{PREFIX}%")}, pluck="name"
		):
			frappe.db.delete("WhatsApp Message", {"template": name})
			frappe.delete_doc("WhatsApp Template", name, force=True)
		frappe.db.commit()

	# -- helpers ---------------------------------------------------------------------------------
	def draft(self, suffix: str, **values) -> "frappe.model.document.Document":
		doc = frappe.get_doc(
			{
				"doctype": "WhatsApp Template",
				"template_name": f"{PREFIX}{suffix}_{frappe.generate_hash(length=6).lower()}",
				"language": "en",
				"account": BUSINESS_ACCOUNT,
				"category": "MARKETING",
				"status": "DRAFT",
				"body": "Hi {{1}}, our monsoon portrait week is open for {{2}}. Reply to book a slot.",
				"buttons": [{"button_type": "QUICK_REPLY", "text": "Stop promotions"}],
				**values,
			}
		).insert()
		for row in doc.examples:
			row.example = {"1": "Asha", "2": "families"}.get(row.variable, "example")
		doc.save()
		frappe.db.commit()
		return doc

	def at_meta(self, doc) -> dict | None:
		"""The template as the simulator's WABA lists it."""
		listed = requests.get(
			f"{self.simulator.base_url}/v23.0/{self.waba}/message_templates",
			params={"name": doc.template_name, "limit": 100},
			headers={"Authorization": f"Bearer {self.numbers[1].access_token}"},
			timeout=10,
		).json()["data"]
		return next(
			(t for t in listed if t["name"] == doc.template_name and t["language"] == doc.language), None
		)

	def review(self, doc, event: str, reason: str | None = None) -> None:
		response = requests.post(
			f"{self.simulator.base_url}/_simulator/template_review",
			json={
				"waba_id": self.waba,
				"name": doc.template_name,
				"language": doc.language,
				"event": event,
				"reason": reason,
			},
			timeout=10,
		)
		self.assertTrue(response.ok, response.text)
		self.assertTrue(webhooks_applied(self.simulator))

	def fresh(self, doc):
		frappe.db.rollback()
		return frappe.get_doc("WhatsApp Template", doc.name)

	def notified(self, user: str, words: str) -> bool:
		return bool(
			frappe.db.exists("Notification Log", {"for_user": user, "subject": ("like", f"%{words}%")})
		)

	# -- Meta's rules ----------------------------------------------------------------------------
	def test_each_rule_is_refused_on_its_field_and_nothing_reaches_meta(self):
		doc = self.draft("rules")
		self.assertEqual(doc.check_rules()["problems"], [])
		cases = {
			"template_name": {"template_name": "Monsoon Offer!"},
			"body": {"body": "{{1}}, our monsoon portrait week is open. Reply to book a slot."},
			"footer": {"footer": "x" * 61},
			"header_text": {"header_format": "TEXT", "header_text": "Hi {{1}} and {{2}}"},
			"header_example": {"header_format": "IMAGE"},
			"language": {"language": "klingon"},
		}
		for field, change in cases.items():
			with self.subTest(field=field):
				candidate = frappe.get_doc(doc.as_dict())
				candidate.update(change)
				problems = candidate.check_rules()["problems"]
				self.assertIn(field, {p["field"] for p in problems}, problems)
				self.assertTrue(all(p["message"] for p in problems))
		three_urls = frappe.get_doc(doc.as_dict())
		for i in range(3):
			three_urls.append(
				"buttons", {"button_type": "URL", "text": f"Site {i}", "url": "https://studio.example"}
			)
		self.assertIn("buttons", {p["field"] for p in three_urls.check_rules()["problems"]})

		missing_example = frappe.get_doc("WhatsApp Template", doc.name)
		missing_example.examples[0].example = ""
		missing_example.save()
		self.assertIn("examples", {p["field"] for p in missing_example.check_rules()["problems"]})
		with self.assertRaises(frappe.ValidationError) as refused:
			missing_example.submit_to_meta()
		self.assertIn("Meta would reject this template", str(refused.exception))
		self.assertIsNone(self.at_meta(doc))
		self.assertEqual(self.fresh(doc).status, "DRAFT")

	# -- submitted, reviewed, used ---------------------------------------------------------------
	def test_submitted_approved_by_webhook_and_sent_by_a_campaign(self):
		doc = self.draft("approved")
		doc.submit_to_meta()
		frappe.db.commit()
		doc = self.fresh(doc)
		self.assertEqual(doc.status, "PENDING")
		self.assertTrue(doc.meta_template_id)
		self.assertEqual(doc.submitted_by, "Administrator")
		listed = self.at_meta(doc)
		self.assertEqual(listed["status"], "PENDING")
		self.assertEqual(str(listed["id"]), doc.meta_template_id)
		body = next(c for c in listed["components"] if c["type"] == "BODY")
		self.assertEqual(body["example"]["body_text"], [["Asha", "families"]])

		self.review(doc, "APPROVED")
		doc = self.fresh(doc)
		self.assertEqual(doc.status, "APPROVED")
		self.assertTrue(self.notified("Administrator", f"approved WhatsApp template {doc.name}"))

		worker = RQWorker().start()
		try:
			campaign = frappe.get_doc(
				{
					"doctype": "WhatsApp Campaign",
					"campaign_name": f"_ME Builder Monsoon {frappe.generate_hash(length=4)}",
					"segments": [{"segment": AUDIENCE}],
					"template": doc.name,
					"variables": [
						{"variable": "1", "value_type": "Document Field", "value": "first_name"},
						{"variable": "2", "value_type": "Fixed Text", "value": "families"},
					],
				}
			).insert()
			frappe.db.commit()
			self.assertIsNone(campaign.get_estimate()["problem"])
			campaign.confirm_send()
			frappe.db.commit()
			self.assertTrue(
				wait_until(
					lambda: frappe.db.get_value("WhatsApp Campaign", campaign.name, "status") == "Completed",
					timeout=60,
				)
			)
		finally:
			worker.stop()
		sent = collections.Counter(m.to for m in self.simulator.sent if m.template == doc.template_name)
		self.assertEqual(len(sent), 3)
		self.assertEqual(set(sent.values()), {1})

	def test_rejected_with_reasons_then_edited_back_to_review(self):
		doc = self.draft("rejected")
		doc.submit_to_meta()
		frappe.db.commit()
		self.review(doc, "REJECTED", "INVALID_FORMAT")
		doc = self.fresh(doc)
		self.assertEqual(doc.status, "REJECTED")
		self.assertIn("INVALID_FORMAT", doc.status_detail)
		self.assertTrue(self.notified("Administrator", f"rejected WhatsApp template {doc.name}"))

		doc.body = "Hi {{1}}, the monsoon portrait week is open for {{2}} this weekend. Reply to book."
		with self.assertRaises(frappe.ValidationError):
			doc.save()  # a change to a template Meta has goes to Meta only when confirmed
		doc = self.fresh(doc)
		doc.body = "Hi {{1}}, the monsoon portrait week is open for {{2}} this weekend. Reply to book."
		doc.edit_at_meta = 1
		doc.save()
		frappe.db.commit()
		doc = self.fresh(doc)
		self.assertEqual(doc.status, "PENDING")
		self.assertTrue(doc.last_edited_at)
		body = next(c for c in self.at_meta(doc)["components"] if c["type"] == "BODY")
		self.assertIn("this weekend", body["text"])
		self.review(doc, "APPROVED")
		self.assertEqual(self.fresh(doc).status, "APPROVED")

	def test_an_approved_template_is_edited_once_a_day_as_meta_allows(self):
		doc = self.draft("edits")
		doc.submit_to_meta()
		frappe.db.commit()
		self.review(doc, "APPROVED")
		doc = self.fresh(doc)
		doc.footer = "Reply to reach the studio"
		doc.edit_at_meta = 1
		doc.save()
		frappe.db.commit()
		self.review(doc, "APPROVED")
		doc = self.fresh(doc)
		doc.footer = "Reply to reach us"
		doc.edit_at_meta = 1
		with self.assertRaises(frappe.ValidationError) as refused:
			doc.save()
		self.assertIn("Meta refused the edit", str(refused.exception))
		frappe.db.rollback()
		self.assertEqual(self.fresh(doc).footer, "Reply to reach the studio")  # nothing half-saved
		with self.assertRaises(frappe.ValidationError):
			doc = self.fresh(doc)
			doc.category = "UTILITY"
			doc.edit_at_meta = 1
			doc.save()  # an approved template keeps its category

	def test_media_header_example_goes_through_the_resumable_upload(self):
		doc = self.draft("image", header_format="IMAGE")
		self.assertIn("header_example", {p["field"] for p in doc.check_rules()["problems"]})
		file = frappe.get_doc(
			{
				"doctype": "File",
				"file_name": f"{doc.template_name}.png",
				"content": PNG,
				"attached_to_doctype": "WhatsApp Template",
				"attached_to_name": doc.name,
				"is_private": 1,
			}
		).insert()
		doc.header_example = file.file_url
		doc.save()
		doc.submit_to_meta()
		frappe.db.commit()
		doc = self.fresh(doc)
		self.assertTrue(doc.header_handle)
		header = next(c for c in self.at_meta(doc)["components"] if c["type"] == "HEADER")
		self.assertEqual(header["format"], "IMAGE")
		self.assertEqual(header["example"]["header_handle"], [doc.header_handle])

	# -- delete, duplicate, sync ------------------------------------------------------------------
	def test_delete_is_refused_while_a_scheduled_campaign_uses_it(self):
		doc = self.draft("deleted")
		doc.submit_to_meta()
		frappe.db.commit()
		self.review(doc, "APPROVED")
		campaign = frappe.get_doc(
			{
				"doctype": "WhatsApp Campaign",
				"campaign_name": f"_ME Builder Later {frappe.generate_hash(length=4)}",
				"segments": [{"segment": AUDIENCE}],
				"template": doc.name,
				"variables": [
					{"variable": "1", "value_type": "Document Field", "value": "first_name"},
					{"variable": "2", "value_type": "Fixed Text", "value": "families"},
				],
				"send_mode": "Schedule",
				"scheduled_at": add_days(now_datetime(), 2),
			}
		).insert()
		campaign.confirm_send()
		frappe.db.commit()
		doc = self.fresh(doc)
		with self.assertRaises(frappe.ValidationError) as refused:
			doc.delete_at_meta()
		self.assertIn(campaign.name, str(refused.exception))
		self.assertIsNotNone(self.at_meta(doc))
		frappe.db.rollback()
		campaign.reload()
		campaign.cancel_campaign() if hasattr(campaign, "cancel_campaign") else frappe.db.set_value(
			"WhatsApp Campaign", campaign.name, "status", "Cancelled"
		)
		frappe.db.commit()
		doc = self.fresh(doc)
		doc.delete_at_meta()
		frappe.db.commit()
		self.assertEqual(self.fresh(doc).status, "DELETED")
		self.assertIsNone(self.at_meta(doc))
		# Meta keeps the name of a deleted approved template for 30 days: a new one is refused here.
		with self.assertRaises(frappe.ValidationError) as held:
			self.draft("again", template_name=doc.template_name)
		self.assertIn("30 days", str(held.exception))

	def test_duplicate_into_another_language_and_sync_keeps_drafts(self):
		doc = self.draft("bilingual")
		doc.submit_to_meta()
		frappe.db.commit()
		self.review(doc, "APPROVED")
		hindi = frappe.get_doc("WhatsApp Template", self.fresh(doc).duplicate("hi"))
		self.assertEqual(
			(hindi.status, hindi.language, hindi.template_name), ("DRAFT", "hi", doc.template_name)
		)
		self.assertFalse(hindi.meta_template_id)
		hindi.body = "नमस्ते {{1}}, {{2}} के लिए हमारा मानसून पोर्ट्रेट सप्ताह खुला है। बुक करने के लिए जवाब दें।"
		hindi.save()
		frappe.db.commit()
		spare = self.draft("spare")  # never submitted

		ours = {
			"account": BUSINESS_ACCOUNT,
			"template_name": ("in", (doc.template_name, spare.template_name)),
		}
		self.assertEqual(frappe.db.count("WhatsApp Template", ours), 3)
		frappe.get_doc("WhatsApp Account", BUSINESS_ACCOUNT).sync_templates()
		frappe.db.commit()
		self.assertEqual(frappe.db.count("WhatsApp Template", ours), 3)  # none made twice
		self.assertEqual(self.fresh(spare).status, "DRAFT")
		self.assertEqual(self.fresh(hindi).status, "DRAFT")
		self.assertEqual(self.fresh(doc).status, "APPROVED")

		hindi.reload()
		hindi.submit_to_meta()
		frappe.db.commit()
		self.assertEqual(self.at_meta(hindi)["language"], "hi")
		self.assertNotEqual(self.fresh(hindi).meta_template_id, self.fresh(doc).meta_template_id)

	def test_meta_moving_the_category_is_shown(self):
		doc = self.draft("category")
		doc.submit_to_meta()
		frappe.db.commit()
		self.review(doc, "APPROVED")
		response = requests.post(
			f"{self.simulator.base_url}/_simulator/template_category",
			json={
				"waba_id": self.waba,
				"name": doc.template_name,
				"language": "en",
				"new_category": "UTILITY",
			},
			timeout=10,
		)
		self.assertTrue(response.ok, response.text)
		self.assertTrue(webhooks_applied(self.simulator))
		doc = self.fresh(doc)
		self.assertEqual(doc.category, "UTILITY")
		self.assertIn("from MARKETING to UTILITY", doc.status_detail)

	def test_library_drafts_pass_meta_rules_and_fit_the_shipped_sequences(self):
		from marketing_engine.channel import templates

		for draft in templates.library_drafts():
			with self.subTest(draft=draft["key"]):
				name = templates.add_from_library(draft["key"], BUSINESS_ACCOUNT)
				doc = frappe.get_doc("WhatsApp Template", name)
				self.assertEqual(doc.status, "DRAFT")
				problems = {p["field"] for p in doc.check_rules()["problems"]}
				# Media headers wait for the studio's own picture; everything else is ready.
				self.assertLessEqual(problems, {"header_example"})
				self.assertEqual(templates.add_from_library(draft["key"], BUSINESS_ACCOUNT), name)
				if draft["sequence"]:
					self.assertTrue(frappe.db.exists("Drip Sequence", draft["sequence"]))
				frappe.delete_doc("WhatsApp Template", name, force=True)

	def test_a_library_draft_is_submitted_with_one_click(self):
		from marketing_engine.api.templates import add_from_library

		made = add_from_library("review_request", BUSINESS_ACCOUNT, submit=1)
		try:
			self.assertTrue(made["submitted"], made)
			doc = frappe.get_doc("WhatsApp Template", made["name"])
			self.assertEqual(doc.status, "PENDING")
			self.assertEqual(self.at_meta(doc)["status"], "PENDING")
			# A draft with a picture header waits for the studio's own picture, on its field.
			picture = add_from_library("portfolio_highlight", BUSINESS_ACCOUNT, submit=1)
			self.assertFalse(picture["submitted"])
			self.assertEqual({p["field"] for p in picture["problems"]}, {"header_example"})
			frappe.delete_doc("WhatsApp Template", picture["name"], force=True)
		finally:
			# Gone at Meta too, or a later sync would bring it back for the other library test.
			frappe.get_doc("WhatsApp Template", made["name"]).delete_at_meta()
			frappe.delete_doc("WhatsApp Template", made["name"], force=True)
			frappe.db.commit()

	def test_the_form_checks_an_unsaved_template_without_writing_it(self):
		import json

		from marketing_engine.api.templates import check_rules

		doc = self.draft("unsaved")
		typed = {
			**doc.as_dict(convert_dates_to_str=True),
			"template_name": "Monsoon Offer!",
			"body": "{{1}} hi",
		}
		answer = check_rules(json.dumps(typed))
		self.assertTrue({"template_name", "body"} <= {p["field"] for p in answer["problems"]}, answer)
		self.assertEqual([row["variable"] for row in answer["examples"]], ["1"])
		self.assertEqual(self.fresh(doc).template_name, doc.template_name)  # nothing saved
		frappe.set_user("Guest")
		try:
			with self.assertRaises(frappe.PermissionError):
				check_rules(json.dumps(typed))
		finally:
			frappe.set_user("Administrator")
