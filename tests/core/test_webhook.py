import json

import pytest

from marketing_engine.engine.webhook import (
	AccountUpdate,
	IdentityChange,
	InboundMessage,
	PhoneQualityChange,
	PreferenceUpdate,
	StatusUpdate,
	TemplateCategoryChange,
	TemplateQualityChange,
	TemplateStatusChange,
	WebhookError,
	parse,
	sign,
	signature_matches,
	verify_subscription,
)

SECRET = "app-secret"


ASHA_PHONE = "919876543210"
ASHA_BSUID = "IN.1648738043044942"
RAVI_BSUID = "IN.2749849154155053"
PARENT_BSUID = "IN.ENT.11815799212886844830"
METADATA = {"display_phone_number": "918000000009", "phone_number_id": "111"}


def delivery(field, value, waba="222", time=None):
	entry = {"id": waba, "changes": [{"value": value, "field": field}]}
	if time is not None:
		entry["time"] = time
	return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


STATUS_BODY = delivery(
	"messages",
	{
		"messaging_product": "whatsapp",
		"metadata": {"display_phone_number": "918000000009", "phone_number_id": "111"},
		"statuses": [
			{
				"id": "wamid.A",
				"status": "failed",
				"timestamp": "1764000000",
				"recipient_id": "919876543210",
				"biz_opaque_callback_data": "WAM-0001",
				"errors": [{"code": 131026, "title": "Message undeliverable"}],
			},
			{
				"id": "wamid.B",
				"status": "read",
				"timestamp": "1764000001",
				"recipient_id": "919876543211",
				"pricing": {"billable": True, "pricing_model": "PMP", "category": "marketing"},
			},
		],
	},
)


def test_signature_accepts_the_exact_body_only():
	header = sign(STATUS_BODY, SECRET)
	assert header.startswith("sha256=") and len(header) == 71
	assert signature_matches(STATUS_BODY, header, SECRET)
	assert not signature_matches(STATUS_BODY + b" ", header, SECRET)
	assert not signature_matches(STATUS_BODY, header, "other-secret")
	assert not signature_matches(STATUS_BODY, None, SECRET)
	assert not signature_matches(STATUS_BODY, header.removeprefix("sha256="), SECRET)
	assert not signature_matches(STATUS_BODY, header, "")


def test_subscription_handshake():
	params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "12345"}
	assert verify_subscription(params, ["x", "tok"]) == "12345"
	with pytest.raises(WebhookError) as e:
		verify_subscription({**params, "hub.verify_token": "bad"}, ["tok"])
	assert e.value.status == 403
	with pytest.raises(WebhookError):
		verify_subscription({**params, "hub.verify_token": ""}, [""])
	with pytest.raises(WebhookError):
		verify_subscription({**params, "hub.mode": "unsubscribe"}, ["tok"])


def test_statuses_are_parsed_with_errors_pricing_and_callback_data():
	failed, read = parse(STATUS_BODY)
	assert isinstance(failed, StatusUpdate)
	assert (failed.message_id, failed.status, failed.callback_data) == ("wamid.A", "failed", "WAM-0001")
	assert failed.errors[0]["code"] == 131026
	assert failed.phone_number_id == "111"
	assert read.pricing_category == "marketing" and read.billable is True
	assert read.timestamp.timestamp() == 1764000001


def test_inbound_text_and_button_and_preferences():
	body = delivery(
		"messages",
		{
			"metadata": {"phone_number_id": "111"},
			"contacts": [{"wa_id": "919876543210", "profile": {"name": "Asha"}}],
			"messages": [
				{
					"from": "919876543210",
					"id": "wamid.IN1",
					"timestamp": "1764000000",
					"type": "text",
					"text": {"body": "STOP"},
				},
				{
					"from": "919876543210",
					"id": "wamid.IN2",
					"timestamp": "1764000001",
					"type": "button",
					"button": {"text": "Stop promotions", "payload": "Stop promotions"},
					"context": {"from": "918000000009", "id": "wamid.OUT"},
				},
			],
		},
	)
	text, button = parse(body)
	assert isinstance(text, InboundMessage) and text.text == "STOP" and text.profile_name == "Asha"
	assert button.button_payload == "Stop promotions" and button.context_message_id == "wamid.OUT"
	(pref,) = parse(
		delivery(
			"user_preferences",
			{
				"metadata": {"phone_number_id": "111"},
				"user_preferences": [
					{
						"wa_id": "919876543210",
						"category": "marketing_messages",
						"value": "stop",
						"timestamp": 1764000000,
					}
				],
			},
		)
	)
	assert isinstance(pref, PreferenceUpdate) and pref.value == "stop"


def test_statuses_carry_bsuids_from_the_status_and_from_contacts():
	"""Delivered and read statuses name the user in ``contacts``; a send to a BSUID may have no
	``recipient_id`` at all (Status messages webhook reference, Business-scoped user IDs)."""
	to_phone, to_bsuid = parse(
		delivery(
			"messages",
			{
				"metadata": METADATA,
				"contacts": [
					{"wa_id": ASHA_PHONE, "user_id": ASHA_BSUID, "profile": {"username": "asha.k"}},
					{"user_id": RAVI_BSUID, "parent_user_id": PARENT_BSUID, "profile": {"username": "ravi"}},
				],
				"statuses": [
					{
						"id": "wamid.A",
						"status": "delivered",
						"timestamp": "1764000000",
						"recipient_id": ASHA_PHONE,
					},
					{
						"id": "wamid.B",
						"status": "read",
						"timestamp": "1764000001",
						"recipient_user_id": RAVI_BSUID,
					},
				],
			},
		)
	)
	assert (to_phone.recipient_id, to_phone.recipient_user_id, to_phone.username) == (
		ASHA_PHONE,
		ASHA_BSUID,
		"asha.k",
	)
	assert to_phone.recipient_parent_user_id is None
	assert to_bsuid.recipient_id is None
	assert (to_bsuid.recipient_user_id, to_bsuid.recipient_parent_user_id) == (RAVI_BSUID, PARENT_BSUID)
	assert to_bsuid.username == "ravi"
	assert to_bsuid.identity.address == RAVI_BSUID


def test_a_failed_status_has_no_contacts_and_keeps_what_the_status_says():
	(failed,) = parse(
		delivery(
			"messages",
			{
				"metadata": METADATA,
				"statuses": [
					{
						"id": "wamid.F",
						"status": "failed",
						"timestamp": "1764000000",
						"recipient_user_id": RAVI_BSUID,
						"recipient_parent_user_id": PARENT_BSUID,
						"errors": [{"code": 131026, "title": "Message undeliverable"}],
					}
				],
			},
		)
	)
	assert (failed.recipient_id, failed.recipient_user_id, failed.recipient_parent_user_id) == (
		None,
		RAVI_BSUID,
		PARENT_BSUID,
	)
	assert failed.username is None and failed.errors[0]["code"] == 131026


def test_a_lone_contact_that_names_someone_else_is_not_used():
	(status,) = parse(
		delivery(
			"messages",
			{
				"metadata": METADATA,
				"contacts": [{"wa_id": "919999999999", "user_id": RAVI_BSUID}],
				"statuses": [
					{"id": "wamid.A", "status": "read", "timestamp": "1764000000", "recipient_id": ASHA_PHONE}
				],
			},
		)
	)
	assert status.recipient_id == ASHA_PHONE and status.recipient_user_id is None


def test_messages_are_matched_to_their_own_contact():
	"""A username user has no ``from`` and no ``wa_id``: only ``from_user_id`` and the contact's
	``user_id`` tie the message to the name and username."""
	by_phone, by_bsuid = parse(
		delivery(
			"messages",
			{
				"metadata": METADATA,
				"contacts": [
					{"profile": {"name": "Ravi", "username": "ravi"}, "user_id": RAVI_BSUID},
					{"profile": {"name": "Asha"}, "wa_id": ASHA_PHONE, "user_id": ASHA_BSUID},
				],
				"messages": [
					{
						"from": ASHA_PHONE,
						"from_user_id": ASHA_BSUID,
						"id": "wamid.1",
						"timestamp": "1764000000",
						"type": "text",
						"text": {"body": "Hi"},
					},
					{
						"from_user_id": RAVI_BSUID,
						"from_parent_user_id": PARENT_BSUID,
						"id": "wamid.2",
						"timestamp": "1764000001",
						"type": "text",
						"text": {"body": "Hello"},
					},
				],
			},
		)
	)
	assert (by_phone.wa_id, by_phone.user_id, by_phone.profile_name, by_phone.username) == (
		ASHA_PHONE,
		ASHA_BSUID,
		"Asha",
		None,
	)
	assert (by_bsuid.wa_id, by_bsuid.user_id, by_bsuid.parent_user_id) == (None, RAVI_BSUID, PARENT_BSUID)
	assert (by_bsuid.profile_name, by_bsuid.username) == ("Ravi", "ravi")
	assert by_bsuid.identity.address == RAVI_BSUID


def test_a_message_known_only_by_its_contact_takes_the_contacts_ids():
	(message,) = parse(
		delivery(
			"messages",
			{
				"metadata": METADATA,
				"contacts": [{"profile": {"name": "Ravi", "username": "ravi"}, "user_id": RAVI_BSUID}],
				"messages": [
					{"id": "wamid.3", "timestamp": "1764000000", "type": "text", "text": {"body": "x"}}
				],
			},
		)
	)
	assert (message.wa_id, message.user_id, message.username) == (None, RAVI_BSUID, "ravi")


def test_stop_from_a_username_user_without_a_phone():
	"""The two ways a username user says stop: a STOP message and Meta's marketing preference."""
	stop_text, stop_preference = parse(
		json.dumps(
			{
				"object": "whatsapp_business_account",
				"entry": [
					{
						"id": "222",
						"changes": [
							{
								"field": "messages",
								"value": {
									"metadata": METADATA,
									"contacts": [
										{
											"profile": {"name": "Ravi", "username": "ravi"},
											"user_id": RAVI_BSUID,
										}
									],
									"messages": [
										{
											"from_user_id": RAVI_BSUID,
											"id": "wamid.S",
											"timestamp": "1764000000",
											"type": "text",
											"text": {"body": "STOP"},
										}
									],
								},
							},
							{
								"field": "user_preferences",
								"value": {
									"metadata": METADATA,
									"contacts": [
										{
											"profile": {"name": "Ravi", "username": "ravi"},
											"user_id": RAVI_BSUID,
										}
									],
									"user_preferences": [
										{
											"user_id": RAVI_BSUID,
											"detail": "User requested to stop marketing messages",
											"category": "marketing_messages",
											"value": "stop",
											"timestamp": 1764000001,
										}
									],
								},
							},
						],
					}
				],
			}
		).encode()
	)
	assert isinstance(stop_text, InboundMessage) and stop_text.text == "STOP"
	assert (stop_text.wa_id, stop_text.user_id, stop_text.username) == (None, RAVI_BSUID, "ravi")
	assert isinstance(stop_preference, PreferenceUpdate)
	assert (stop_preference.wa_id, stop_preference.user_id, stop_preference.username) == (
		None,
		RAVI_BSUID,
		"ravi",
	)
	assert (stop_preference.category, stop_preference.value) == ("marketing_messages", "stop")
	assert stop_preference.phone_number_id == "111"
	assert stop_preference.identity.address == RAVI_BSUID


def test_preference_of_a_user_with_a_phone_keeps_both_ids():
	(pref,) = parse(
		delivery(
			"user_preferences",
			{
				"metadata": METADATA,
				"contacts": [{"profile": {"name": "Asha"}, "wa_id": ASHA_PHONE, "user_id": ASHA_BSUID}],
				"user_preferences": [
					{"wa_id": ASHA_PHONE, "category": "marketing_messages", "value": "resume", "timestamp": 1}
				],
			},
		)
	)
	assert (pref.wa_id, pref.user_id, pref.value) == (ASHA_PHONE, ASHA_BSUID, "resume")


def test_number_change_and_bsuid_change_system_messages():
	"""System messages webhook reference: no contacts; ``system`` has the new ids and the previous
	BSUIDs; a BSUID change has no phone number."""
	number, user_id = parse(
		delivery(
			"messages",
			{
				"metadata": METADATA,
				"messages": [
					{
						"from": ASHA_PHONE,
						"id": "wamid.N",
						"timestamp": "1764000000",
						"type": "system",
						"system": {
							"body": f"User Asha changed from {ASHA_PHONE} to 919800000000",
							"wa_id": "919800000000",
							"type": "user_changed_number",
							"user_id": "IN.999",
							"parent_user_id": "IN.ENT.999",
							"previous_user_id": ASHA_BSUID,
							"previous_parent_user_id": PARENT_BSUID,
						},
					},
					{
						"id": "wamid.U",
						"timestamp": "1764000001",
						"type": "system",
						"system": {
							"body": "User Ravi changed their business-scoped user ID",
							"type": "user_changed_user_id",
							"user_id": "IN.888",
							"previous_user_id": RAVI_BSUID,
						},
					},
				],
			},
		)
	)
	assert isinstance(number, IdentityChange) and number.kind == "user_changed_number"
	assert (number.wa_id, number.new_wa_id) == (ASHA_PHONE, "919800000000")
	assert (number.user_id, number.previous_user_id) == ("IN.999", ASHA_BSUID)
	assert (number.parent_user_id, number.previous_parent_user_id) == ("IN.ENT.999", PARENT_BSUID)
	assert number.message_id == "wamid.N" and number.phone_number_id == "111"
	assert number.timestamp.timestamp() == 1764000000
	assert isinstance(user_id, IdentityChange) and user_id.kind == "user_changed_user_id"
	assert (user_id.wa_id, user_id.new_wa_id) == (None, None)
	assert (user_id.user_id, user_id.previous_user_id) == ("IN.888", RAVI_BSUID)


def test_number_change_of_older_api_versions():
	(change,) = parse(
		delivery(
			"messages",
			{
				"metadata": METADATA,
				"messages": [
					{
						"id": "wamid.O",
						"timestamp": "1764000000",
						"type": "system",
						"system": {
							"body": "changed",
							"customer": ASHA_PHONE,
							"new_wa_id": "919800000000",
							"type": "customer_changed_number",
						},
					}
				],
			},
		)
	)
	assert change.kind == "user_changed_number"
	assert (change.wa_id, change.new_wa_id) == (ASHA_PHONE, "919800000000")


def test_template_status_update():
	(event,) = parse(
		delivery(
			"message_template_status_update",
			{
				"event": "paused",
				"message_template_id": 1234567890,
				"message_template_name": "festive_offer",
				"message_template_language": "en_US",
				"reason": "LOW_QUALITY",
				"message_template_category": "MARKETING",
				"other_info": {"title": "FIRST_PAUSE", "description": "Paused for 3 hours for low quality"},
			},
			time=1764000000,
		)
	)
	assert isinstance(event, TemplateStatusChange)
	assert (event.event, event.template_id, event.template_name, event.language) == (
		"PAUSED",
		"1234567890",
		"festive_offer",
		"en_US",
	)
	assert event.reason == "LOW_QUALITY" and event.category == "MARKETING"
	assert event.detail == "FIRST_PAUSE: Paused for 3 hours for low quality"
	assert event.waba_id == "222" and event.timestamp.timestamp() == 1764000000
	(disabled,) = parse(
		delivery(
			"message_template_status_update",
			{
				"event": "DISABLED",
				"message_template_id": 1,
				"message_template_name": "t",
				"message_template_language": "en",
				"reason": "NONE",
				"disable_info": {"disable_date": "1764000000"},
			},
		)
	)
	assert disabled.detail == "Disabled on 1764000000" and disabled.timestamp is None


def test_template_category_update_done_and_impending():
	(done,) = parse(
		delivery(
			"template_category_update",
			{
				"message_template_id": 278077987957091,
				"message_template_name": "welcome_template",
				"message_template_language": "en_US",
				"previous_category": "UTILITY",
				"new_category": "MARKETING",
			},
		)
	)
	assert isinstance(done, TemplateCategoryChange)
	assert (done.template_id, done.previous_category, done.new_category) == (
		"278077987957091",
		"UTILITY",
		"MARKETING",
	)
	assert not done.impending
	(coming,) = parse(
		delivery(
			"template_category_update",
			{
				"message_template_id": 1,
				"message_template_name": "welcome_template",
				"message_template_language": "en_US",
				"new_category": "utility",
				"correct_category": "MARKETING",
				"category_update_timestamp": 1746169200,
			},
		)
	)
	assert coming.impending and (coming.new_category, coming.correct_category) == ("UTILITY", "MARKETING")


def test_template_quality_update():
	(event,) = parse(
		delivery(
			"message_template_quality_update",
			{
				"previous_quality_score": "GREEN",
				"new_quality_score": "red",
				"message_template_id": 42,
				"message_template_name": "review_request",
				"message_template_language": "en",
			},
			time=1764000000,
		)
	)
	assert isinstance(event, TemplateQualityChange)
	assert (event.template_id, event.template_name, event.previous_score, event.new_score) == (
		"42",
		"review_request",
		"GREEN",
		"RED",
	)
	assert event.waba_id == "222"


def test_phone_number_quality_update():
	(event,) = parse(
		delivery(
			"phone_number_quality_update",
			{
				"display_phone_number": "918000000009",
				"event": "DOWNGRADE",
				"old_limit": "TIER_10K",
				"current_limit": "TIER_1K",
				"max_daily_conversations_per_business": "TIER_1K",
			},
			time=1764000000,
		)
	)
	assert isinstance(event, PhoneQualityChange)
	assert (event.display_phone_number, event.event, event.current_limit, event.old_limit) == (
		"918000000009",
		"DOWNGRADE",
		"TIER_1K",
		"TIER_10K",
	)
	# current_limit is going away; its successor stands in for it.
	(later,) = parse(
		delivery(
			"phone_number_quality_update",
			{
				"display_phone_number": "918000000009",
				"event": "FLAGGED",
				"max_daily_conversations_per_business": "TIER_250",
			},
		)
	)
	assert later.current_limit == "TIER_250" and later.old_limit is None


def test_account_update_with_restrictions_violation_and_ban():
	(event,) = parse(
		delivery(
			"account_update",
			{
				"event": "ACCOUNT_RESTRICTION",
				"phone_number": "918000000009",
				"violation_info": {"violation_type": "SCAM"},
				"ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE", "waba_ban_date": "2026-12-01"},
				"restriction_info": [
					{
						"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING",
						"expiration": "2026-04-19T13:59:20+0000",
					}
				],
			},
			time=1764000000,
		)
	)
	assert isinstance(event, AccountUpdate)
	assert event.event == "ACCOUNT_RESTRICTION" and event.phone_number == "918000000009"
	assert event.restrictions == [
		{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": "2026-04-19T13:59:20+0000"}
	]
	assert (event.violation_type, event.ban_state) == ("SCAM", "SCHEDULE_FOR_DISABLE")
	assert event.detail == (
		"Violation: SCAM; Ban state: SCHEDULE_FOR_DISABLE on 2026-12-01; "
		"Restricted: RESTRICTED_BIZ_INITIATED_MESSAGING until 2026-04-19T13:59:20+0000"
	)
	(plain,) = parse(delivery("account_update", {"event": "VERIFIED_ACCOUNT"}))
	assert plain.event == "VERIFIED_ACCOUNT" and plain.restrictions == [] and plain.detail is None


def test_events_keep_the_order_of_entries_and_changes():
	raw = json.dumps(
		{
			"object": "whatsapp_business_account",
			"entry": [
				{
					"id": "222",
					"time": 1764000000,
					"changes": [
						{"field": "phone_number_quality_update", "value": {"event": "FLAGGED"}},
						{
							"field": "business_capability_update",
							"value": {"max_daily_conversation_per_phone": 1000},
						},
						{
							"field": "messages",
							"value": {
								"metadata": METADATA,
								"statuses": [
									{"id": "w", "status": "sent", "timestamp": "1", "recipient_id": "1"}
								],
							},
						},
					],
				},
				{
					"id": "333",
					"changes": [{"field": "account_update", "value": {"event": "DISABLED_UPDATE"}}],
				},
			],
		}
	).encode()
	events = parse(raw)
	assert [type(e).__name__ for e in events] == ["PhoneQualityChange", "StatusUpdate", "AccountUpdate"]
	assert events[0].waba_id == "222" and events[2].waba_id == "333"


@pytest.mark.parametrize(
	"raw",
	[
		b"not json",
		b"\xff\xfe",
		b"[]",
		json.dumps({"object": "page", "entry": []}).encode(),
		json.dumps({"object": "whatsapp_business_account"}).encode(),
		delivery("messages", {"statuses": [{"status": "sent"}]}),  # no id
		delivery("messages", {"messages": [{"id": "x", "timestamp": "nope", "from": "1"}]}),
		delivery("messages", {"statuses": "sent"}),
		delivery("messages", {"messages": [{"id": "x", "timestamp": "1", "type": "text"}]}),  # from nobody
		delivery("messages", {"contacts": {"wa_id": "1"}, "messages": []}),
		delivery("messages", ["not", "an", "object"]),
		delivery("user_preferences", {"user_preferences": [{"value": "stop", "timestamp": 1}]}),
		delivery(
			"messages",
			{
				"messages": [
					{
						"id": "x",
						"type": "system",
						"system": {"type": "user_changed_user_id"},
						"timestamp": "never",
					}
				]
			},
		),
		delivery("message_template_status_update", {"message_template_name": "t"}),  # no event
		delivery("message_template_quality_update", {"message_template_name": "t"}),
		delivery("phone_number_quality_update", {"display_phone_number": "1"}),
		delivery("account_update", {"restriction_info": []}),
		delivery("account_update", {"event": "X"}, time="yesterday"),
	],
)
def test_malformed_payloads_are_refused(raw):
	with pytest.raises(WebhookError) as e:
		parse(raw)
	assert e.value.status == 400


def test_unknown_fields_are_ignored():
	assert parse(delivery("business_capability_update", {"max_daily_conversation_per_phone": 1})) == []
	assert parse(delivery("security", ["anything"])) == []


def ad_message(referral, message_id="wamid.AD1"):
	return delivery(
		"messages",
		{
			"metadata": METADATA,
			"contacts": [{"wa_id": ASHA_PHONE, "user_id": ASHA_BSUID, "profile": {"name": "Asha"}}],
			"messages": [
				{
					"from": ASHA_PHONE,
					"from_user_id": ASHA_BSUID,
					"id": message_id,
					"timestamp": "1764000000",
					"type": "text",
					"text": {"body": "Hi, is the monsoon offer still on?"},
					**({"referral": referral} if referral is not None else {}),
				}
			],
		},
	)


def test_a_click_to_whatsapp_referral_is_parsed_with_its_ad_and_click_id():
	(message,) = parse(
		ad_message(
			{
				"source_url": "https://fb.me/3cr4Wqqkk",
				"source_id": "120212345678901234",
				"source_type": "ad",
				"body": "Book a monsoon portrait session this weekend",
				"headline": "  Monsoon portraits  ",
				"media_type": "video",
				"video_url": "https://video.example/ad.mp4",
				"thumbnail_url": "https://img.example/thumb.jpg",
				"ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-GABDLOPaOdRMv-_zfUQ2a",
				"welcome_message": {"text": "Hi! Ask us about portraits"},
			}
		)
	)
	referral = message.referral
	assert isinstance(message, InboundMessage) and message.text.startswith("Hi, is the monsoon")
	assert referral.source_id == "120212345678901234" and referral.source_type == "ad"
	assert referral.headline == "Monsoon portraits"  # trimmed
	assert referral.media_type == "video" and referral.media_url == "https://video.example/ad.mp4"
	assert referral.ctwa_clid.startswith("ARAkLkA8") and referral.source_url == "https://fb.me/3cr4Wqqkk"
	assert referral.welcome_message == "Hi! Ask us about portraits"


def test_a_post_referral_without_click_id_and_an_image_ad():
	(post,) = parse(ad_message({"source_id": "987", "source_type": "post", "source_url": "https://fb.me/p"}))
	assert post.referral.source_type == "post" and post.referral.ctwa_clid is None
	assert post.referral.headline is None and post.referral.media_url is None
	(image,) = parse(
		ad_message({"source_id": "55", "media_type": "image", "image_url": "https://img.example/a.jpg"})
	)
	assert image.referral.source_type == "ad"  # Meta names ads "ad"; missing means an ad
	assert image.referral.media_url == "https://img.example/a.jpg"


@pytest.mark.parametrize("referral", [None, {}, {"source_id": "  "}, "an ad", ["120"], {"headline": "No id"}])
def test_a_message_without_a_usable_referral_has_none(referral):
	(message,) = parse(ad_message(referral))
	assert message.referral is None


def test_referral_strings_are_cut_to_what_is_stored():
	(message,) = parse(ad_message({"source_id": "1" * 500, "headline": "h" * 500, "body": "b" * 5000}))
	assert len(message.referral.source_id) == 140 and len(message.referral.headline) == 140
	assert len(message.referral.body) == 1000
