app_name = "marketing_engine"
app_title = "Marketing Engine"
app_publisher = "marketing_engine maintainers"
app_description = (
	"WhatsApp campaigns, consent, drip sequences, segments and ROI for service businesses on ERPNext"
)
app_email = "maintainers@users.noreply.b-seed-a0ab0feb.example"
app_license = "mit"
required_apps = ["erpnext"]

# Each DocType's controller carries its field types (Frappe writes them on export).
export_python_type_annotations = True

# Desk
# ----
# The Connect WhatsApp button (Meta's Embedded Signup) is offered on the WhatsApp Account list,
# its form and the workspace's checklist.
app_include_js = ["/assets/marketing_engine/js/connect_whatsapp.js"]
doctype_js = {
	"Sales Order": "public/js/sales_order.js",
	"Customer": "public/js/whatsapp_consent_panel.js",
	"Contact": "public/js/whatsapp_consent_panel.js",
	"WhatsApp Campaign": "public/js/roi_summary.js",
	"Drip Sequence": "public/js/roi_summary.js",
}

# Customer and Contact show their WhatsApp consent and messages under Connections.
override_doctype_dashboards = {
	"Customer": "marketing_engine.desk.customer",
	"Contact": "marketing_engine.desk.contact",
}

doc_events = {
	"Customer": {"validate": "marketing_engine.channel.numbers.set_whatsapp_number"},
	"Lead": {
		"before_insert": "marketing_engine.roi.attribution.lead_from_link",
		"after_insert": "marketing_engine.roi.attribution.tie_lead_to_customer",
		"validate": "marketing_engine.channel.numbers.set_whatsapp_number",
		"on_update": "marketing_engine.drips.enrolment.on_inquiry_update",
	},
	# Bookings: the campaign that earned them, in ERPNext's own fields, and an Attribution row.
	"Quotation": {"validate": "marketing_engine.roi.attribution.quotation_campaign"},
	"Contact": {
		"validate": "marketing_engine.channel.numbers.set_whatsapp_number",
		"on_update": "marketing_engine.channel.numbers.sync_customers_of_contact",
	},
	# Drip sequences: a completed project enrols, a booking or a moved inquiry ends.
	"Project": {"on_update": "marketing_engine.drips.enrolment.on_project_update"},
	"Sales Order": {
		"before_submit": "marketing_engine.roi.attribution.before_sales_order_submit",
		"on_submit": [
			"marketing_engine.roi.attribution.on_sales_order_submit",
			"marketing_engine.roi.conversions.on_sales_order_submit",  # reads the Attribution row
			"marketing_engine.drips.enrolment.on_sales_order_submit",
		],
		"on_cancel": [
			"marketing_engine.roi.attribution.on_sales_order_cancel",
			"marketing_engine.roi.conversions.on_sales_order_cancel",
		],
	},
	"Opportunity": {"on_update": "marketing_engine.drips.enrolment.on_inquiry_update"},
	# Someone who writes from a Click-to-WhatsApp ad: the "Ad Referral" sequences.
	"WhatsApp Ad Referral": {"after_insert": "marketing_engine.drips.enrolment.on_ad_referral"},
	# Audiences would recompute everyone's frequency cap at their next read; the studio who
	# changed the cap pays for it on saving instead of at their next preview.
	"Marketing Settings": {"on_update": "marketing_engine.channel.frequency_cap.cap_saved"},
	# Web workers keep decrypted app secrets to verify webhooks; a changed account reloads them.
	"WhatsApp Account": {
		"after_insert": "marketing_engine.desk.account_added",
		"on_update": "marketing_engine.channel.webhooks.forget_app_secrets",
		"on_trash": "marketing_engine.channel.webhooks.forget_app_secrets",
	},
	# The Marketing workspace's checklist ticks itself.
	"Segment": {"after_insert": "marketing_engine.desk.segment_added"},
	"Drip Sequence": {"on_update": "marketing_engine.desk.sequence_saved"},
}

# The channel (send path, consent, webhooks, account health) tells the features above it what
# happened through these lists, instead of importing them (marketing_engine/channel/signals.py).
whatsapp_opted_out = ["marketing_engine.drips.enrolment.on_opt_out"]
whatsapp_replied = ["marketing_engine.drips.handover.on_reply"]
whatsapp_sending_paused = [
	"marketing_engine.campaigns.dispatch.pause_for_hold",
	"marketing_engine.drips.sending.pause_for_hold",
]
whatsapp_sending_resumed = [
	"marketing_engine.drips.sending.resume_after_hold",
	"marketing_engine.campaigns.dispatch.resume_after_hold",
]
whatsapp_held_by = ["marketing_engine.campaigns.dispatch.held_by", "marketing_engine.drips.sending.held_by"]
whatsapp_ad_referral = ["marketing_engine.roi.ads.record_referral"]
whatsapp_campaigns_touched = ["marketing_engine.campaigns.dispatch.refresh_counters"]
whatsapp_template_users = [
	"marketing_engine.campaigns.dispatch.campaigns_using",
	"marketing_engine.drips.sending.sequences_using_template",
]

# Answered as soon as Frappe knows the site, without the rest of its request: a tracked link
# (/r/<token> keeps the click and redirects) and a webhook POST (verified, stored, 200).
before_request = [
	"marketing_engine.roi.links.redirect_tracked_link",
	"marketing_engine.api.webhook.accept_before_frappe",
]

# Frappe answers a webhook body that is not JSON with a 500 before the endpoint runs.
after_request = ["marketing_engine.api.webhook.answer_bad_json_with_400"]

scheduler_events = {
	"cron": {
		"* * * * *": [
			"marketing_engine.campaigns.dispatch.maintain_campaigns",
			"marketing_engine.channel.webhooks.retry_failed",
			"marketing_engine.drips.steps.tick",
			"marketing_engine.roi.clicks.write_stranded",
			"marketing_engine.roi.conversions.send_due",
		]
	},
	"daily_long": [
		"marketing_engine.channel.numbers.backfill",
		"marketing_engine.channel.webhooks.purge_processed",
		"marketing_engine.campaigns.audience.refresh_statistics",
	],
}

# Installation
# ------------
before_install = "marketing_engine.install.before_install"
after_install = "marketing_engine.install.after_install"
after_migrate = "marketing_engine.install.after_migrate"
before_uninstall = "marketing_engine.install.before_uninstall"

# Testing
# -------
# `bench run-tests --app marketing_engine` runs only this app's before_tests, so a fresh site
# needs ERPNext's setup (company, fiscal year, groups) from here.
before_tests = "marketing_engine.tests.utils.before_tests"
