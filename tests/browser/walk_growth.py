"""A walk through the growth screens of issue 19 on a site that already has their records (the
bench suite's, or a studio's): the Marketing workspace's Ads card, a Click-to-WhatsApp ad and its
referrals, entering ad spend, the WhatsApp ROI report's ad rows, a Campaign Engagement rule and
its preview, Follow Up on a completed campaign, an A/B test's results, an Ad Referral sequence,
and a Sales Order's conversion line. Screenshots into ``--out``; checks on what each shows.

    cd ~/frappe-bench && bench --site dev.localhost serve --port 8005 &
    ./env/bin/python apps/marketing_engine/tests/browser/walk_growth.py \\
        --url http://dev.localhost:8005 --out /tmp/growth
"""

import argparse
import sys
import time
from pathlib import Path

from debian_chromium import CHROMIUM, CHROMIUM_FLAGS  # beside this script
from playwright.sync_api import sync_playwright
from walk_studio import Desk, SiteAPI


def main() -> int:
	parser = argparse.ArgumentParser()
	parser.add_argument("--url", required=True)
	parser.add_argument("--out", type=Path, required=True)
	parser.add_argument("--user", default="Administrator")
	parser.add_argument("--password", default="admin")
	args = parser.parse_args()
	args.out.mkdir(parents=True, exist_ok=True)
	api = SiteAPI(args.url, args.user, args.password)
	shots, console, failed = [], [], []

	def expect(condition: bool, what: str) -> None:
		print(("  ok   " if condition else "  FAIL ") + what, flush=True)
		if not condition:
			failed.append(what)

	with sync_playwright() as playwright:
		browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
		page = browser.new_page(viewport={"width": 1400, "height": 1000})
		desk = Desk(page, args.url, args.out, shots, console)
		desk.login(args.user, args.password)

		def latest(
			doctype: str, fields: list[str], order_by: str = "creation desc", **filters
		) -> dict | None:
			found = api.get_list(
				doctype, filters=filters, fields=fields, order_by=order_by, limit_page_length=1
			)
			return found[0] if found else None

		def open_form(doctype: str, name: str | None = None) -> None:
			desk.goto(f"{doctype.lower().replace(' ', '-')}/{name or 'new'}")
			desk.wait_for_form(doctype, name)

		desk.step = "workspace"
		desk.goto("marketing")
		page.wait_for_selector("text=Ads", timeout=30000)
		desk.shot_tall("workspace-ads-card", 2400)
		expect(
			page.locator(".widget.links-widget-box", has_text="WhatsApp Ad Spend").count() == 1,
			"the Ads card lists WhatsApp Ad Spend",
		)

		desk.step = "ad"
		ad = latest("WhatsApp Ad", ["name", "headline", "campaign"])
		if not ad:
			raise SystemExit("No WhatsApp Ad on the site: run the bench suite, or an ad's referral, first")
		open_form("WhatsApp Ad", ad["name"])
		desk.shot("ad-form")
		expect(
			page.locator(".form-dashboard", has_text="WhatsApp Ad Referral").count() > 0,
			"the ad's form links its referrals",
		)

		desk.step = "spend"
		open_form("WhatsApp Ad Spend")
		desk.pick_link("ad", ad["name"][-6:], ad["headline"] or ad["name"])
		# Any day of the month, in the site's own date format.
		desk.js("() => cur_frm.set_value('month', '2026-11-15')")
		page.wait_for_timeout(500)
		desk.fill("amount", "1200")
		page.keyboard.press("Control+s")
		page.wait_for_timeout(2500)
		desk.shot("ad-spend-saved")
		saved = desk.js("() => !cur_frm.is_new() && [cur_frm.doc.campaign, cur_frm.doc.month]")
		duplicate = bool(page.locator(".modal.show", has_text="already has its spend").count())
		expect(bool(saved) or duplicate, f"the spend is saved (or said to be entered already): {saved}")
		if saved:
			expect(
				saved[0] == ad["campaign"] and saved[1] == "2026-11-01",
				f"campaign fetched, month its first day: {saved}",
			)

		desk.step = "report"
		desk.goto("query-report/WhatsApp ROI")
		page.wait_for_selector(".dt-row", timeout=30000)
		page.wait_for_timeout(2000)
		desk.shot("roi-report-ads", full_page=True)
		kinds = desk.js("() => frappe.query_report.data.map((row) => row.kind)")
		expect("Ad" in kinds, f"the report has ad rows ({kinds.count('Ad')})")

		desk.step = "engagement"
		campaign = latest(
			"WhatsApp Campaign",
			["name"],
			order_by="completed_at desc",
			status="Completed",
			ab_parent=["is", "not set"],
		)["name"]
		open_form("Segment")
		desk.fill("segment_name", f"Did not read {campaign}"[:90] + f" (walk {int(time.time())})")
		idx = desk.empty_row("rules", "criterion")
		scope = desk.open_row("rules", idx)
		desk.select("criterion", "Campaign Engagement", scope=scope)
		desk.select("operator", "not read", scope=scope)
		desk.select("engaged_with", "WhatsApp Campaign", scope=scope)
		desk.pick_link("engagement_reference", campaign[:12], campaign, scope=scope)
		desk.shot("engagement-rule")
		page.keyboard.press("Escape")
		page.keyboard.press("Control+s")
		page.wait_for_timeout(3000)
		desk.shot("engagement-segment-saved", full_page=True)
		expect(desk.js("() => !cur_frm.is_new()"), "the engagement segment is saved")

		desk.step = "follow-up"
		open_form("WhatsApp Campaign", campaign)
		page.locator(".inner-group-button", has_text="Campaign").click()
		page.locator(".dropdown-menu a:visible", has_text="Follow Up").first.click()
		page.wait_for_selector(".modal.show", timeout=15000)
		desk.shot("follow-up-dialog")
		expect(
			page.locator(".modal.show", has_text="Did not read").count() > 0,
			"the Follow Up dialog offers Did not read",
		)
		page.keyboard.press("Escape")

		desk.step = "ab"
		ab = latest("WhatsApp Campaign", ["name"], ab_stage="Winner Picked")
		if ab:
			open_form("WhatsApp Campaign", ab["name"])
			page.wait_for_timeout(2500)
			desk.shot("ab-results", full_page=True)
			expect(
				page.locator("[data-fieldname=ab_html] table").count() == 1, "the A/B results table is shown"
			)
		else:
			expect(False, "an A/B campaign with a winner exists")

		desk.step = "sequence"
		open_form("Drip Sequence", "Welcome for an Ad Lead")
		desk.shot("ad-referral-sequence", full_page=True)
		expect(
			desk.js("() => cur_frm.doc.trigger") == "Ad Referral",
			"the shipped ad sequence triggers on Ad Referral",
		)

		desk.step = "order"
		conversion = latest("WhatsApp Conversion", ["reference_name"], reference_doctype="Sales Order")
		if conversion:
			open_form("Sales Order", conversion["reference_name"])
			page.wait_for_timeout(2500)
			desk.shot("sales-order-conversion")
			expect(
				page.locator("text=sent to Meta at").count() > 0,
				"the order says when Meta was told",
			)
		else:
			expect(False, "a Sales Order with a conversion exists")
		browser.close()

	print("\nscreenshots:", *[p.name for p in shots], sep="\n  ")
	print("console errors and failed calls:", *console or ["none"], sep="\n  ")
	print("failed checks:", *failed or ["none"], sep="\n  ")
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main())
