from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from marketing_engine.engine.tracking import (
	TOKEN_LENGTH,
	Touch,
	in_holdout,
	incremental,
	is_link_preview_or_bot,
	last_touch,
	looks_like_token,
	new_token,
	roi,
	with_utm,
)


# -- tokens -----------------------------------------------------------------------------------
def test_tokens_are_url_safe_fixed_length_and_unique():
	tokens = {new_token() for _ in range(2000)}
	assert len(tokens) == 2000
	for token in tokens:
		assert len(token) == TOKEN_LENGTH == 22
		assert looks_like_token(token)
		assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
	"forged",
	[
		None,
		42,
		"",
		"abc",
		"A" * 21,
		"A" * 23,
		"A" * 21 + "B",  # a 22nd character no 16-byte token ends in
		"A" * 20 + "+/",  # base64, not base64url
		"A" * 20 + "=A",
		"' OR 1=1 --AAAAAAAAAAA",
		"A" * 21 + "A\n",
	],
)
def test_forged_tokens_are_turned_away_by_their_shape(forged):
	assert not looks_like_token(forged)


# -- UTM parameters ---------------------------------------------------------------------------
def test_utm_parameters_are_added_to_a_url_without_a_query():
	assert (
		with_utm("https://studio.example/book", "diwali-2026", "diwali-2026")
		== "https://studio.example/book?utm_source=diwali-2026&utm_medium=whatsapp&utm_campaign=diwali-2026"
	)


def test_other_parameters_fragments_and_encodings_are_kept():
	url = "https://studio.example/book?pkg=gold&tag=a&tag=b&q=caf%C3%A9+au+lait&next=%2Fthanks%3Fx%3D1#slots"
	tracked = with_utm(url, "wa", "Diwali Offer", medium="whatsapp")
	assert tracked == (
		"https://studio.example/book?pkg=gold&tag=a&tag=b&q=caf%C3%A9+au+lait&next=%2Fthanks%3Fx%3D1"
		"&utm_source=wa&utm_medium=whatsapp&utm_campaign=Diwali%20Offer#slots"
	)
	assert parse_qsl(urlsplit(tracked).query)[-1] == ("utm_campaign", "Diwali Offer")


def test_existing_utm_values_are_replaced_not_repeated():
	url = "http://studio.example/?utm_source=old&a=1&UTM_MEDIUM=email&utm%5Fcampaign=x&utm_term=keep"
	tracked = with_utm(url, "new", "summer")
	query = parse_qsl(urlsplit(tracked).query)
	assert query == [
		("a", "1"),
		("utm_term", "keep"),
		("utm_source", "new"),
		("utm_medium", "whatsapp"),
		("utm_campaign", "summer"),
	]


def test_empty_query_pieces_and_a_bare_question_mark_are_tidied():
	assert with_utm("https://studio.example/?", "s", "c").endswith(
		"/?utm_source=s&utm_medium=whatsapp&utm_campaign=c"
	)
	assert with_utm("https://studio.example/?a=1&&b&", "s", "c").startswith(
		"https://studio.example/?a=1&b&utm_source=s"
	)


def test_values_are_encoded():
	tracked = with_utm("https://studio.example/", "a&b=c", "50% off #1")
	assert dict(parse_qsl(urlsplit(tracked).query)) == {
		"utm_source": "a&b=c",
		"utm_medium": "whatsapp",
		"utm_campaign": "50% off #1",
	}
	assert urlsplit(tracked).fragment == ""


@pytest.mark.parametrize(
	"url",
	[
		"javascript:alert(document.cookie)",
		"JavaScript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"ftp://studio.example/file",
		"studio.example/book",
		"//studio.example/book",
		"http:///no-host",
		"",
		None,
	],
)
def test_only_http_and_https_links_are_tracked(url):
	with pytest.raises(ValueError):
		with_utm(url, "s", "c")


def test_a_tracked_link_needs_its_values():
	with pytest.raises(ValueError, match="utm_campaign"):
		with_utm("https://studio.example/", "s", "  ")


# -- who clicked ------------------------------------------------------------------------------
@pytest.mark.parametrize(
	"agent",
	[
		"WhatsApp/2.23.18.78 i",
		"WhatsApp/2.24.6.77 A",
		"WhatsApp/2",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0",
		"Twitterbot/1.0",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
		"TelegramBot (like TwitterBot)",
		"Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		"Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
		"Mozilla/5.0 (compatible; YandexBot/3.0)",
		"SomeCrawler/1.0",
		"Mozilla/5.0 (compatible; Bytespider; spider-feedback@bytedance.com)",
		"Mozilla/5.0 link preview generator",
		"curl/8.5.0",
		"Wget/1.21.4",
		"python-requests/2.32.3",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36",
		"",
		"   ",
		None,
	],
)
def test_previews_crawlers_scripts_and_empty_agents_are_not_people(agent):
	assert is_link_preview_or_bot(agent)


@pytest.mark.parametrize(
	"agent",
	[
		"Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0",
		# Android's in-app browser (WebView) of a person who tapped the link inside WhatsApp.
		"Mozilla/5.0 (Linux; Android 13; RMX3511 Build/TP1A.220905.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 9; CUBOT X20 PRO) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Mobile Safari/537.36",
	],
)
def test_browsers_are_people(agent):
	assert not is_link_preview_or_bot(agent)
	assert not is_link_preview_or_bot(agent, "get")


def test_head_and_other_non_get_requests_are_not_clicks():
	browser = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1"
	assert is_link_preview_or_bot(browser, "HEAD")
	assert is_link_preview_or_bot(browser, "head")
	assert is_link_preview_or_bot(browser, "OPTIONS")
	assert not is_link_preview_or_bot(browser, None)  # no method given: a plain GET


# -- last touch -------------------------------------------------------------------------------
BOOKED = datetime(2026, 3, 20, 12, 0)


def test_the_latest_touch_before_the_booking_wins():
	touches = [
		Touch("click", BOOKED - timedelta(days=3), campaign="diwali"),
		Touch("reply", BOOKED - timedelta(hours=2), sequence="post-shoot", step=2, message="WAM-1"),
		Touch("utm_landing", BOOKED - timedelta(days=1), campaign="summer"),
	]
	assert last_touch(touches, BOOKED, window_days=7) == touches[1]


def test_window_edges():
	exactly = Touch("click", BOOKED - timedelta(days=7), campaign="edge")
	too_old = Touch("click", BOOKED - timedelta(days=7, seconds=1), campaign="old")
	at_booking = Touch("utm_landing", BOOKED, campaign="same-moment")
	after = Touch("reply", BOOKED + timedelta(seconds=1), campaign="after")
	assert last_touch([exactly, too_old], BOOKED, 7) is exactly
	assert last_touch([too_old], BOOKED, 7) is None
	assert last_touch([exactly, at_booking, after], BOOKED, 7) is at_booking
	assert last_touch([after], BOOKED, 7) is None  # a touch after the booking never counts
	assert last_touch([], BOOKED, 7) is None
	assert last_touch([at_booking], BOOKED, 0) is at_booking


def test_touches_at_the_same_moment_go_to_the_one_listed_last():
	moment = BOOKED - timedelta(hours=1)
	click, landing = Touch("click", moment, campaign="a"), Touch("utm_landing", moment, campaign="a")
	assert last_touch([click, landing], BOOKED, 7) is landing
	assert last_touch([landing, click], BOOKED, 7) is click


def test_touch_kinds_and_windows_are_checked():
	with pytest.raises(ValueError, match="Unknown touch"):
		Touch("open", BOOKED)
	with pytest.raises(ValueError):
		last_touch([], BOOKED, -1)


# -- holdout ----------------------------------------------------------------------------------
RECIPIENTS = [f"CUST-{i:05d}" for i in range(10_000)]


def test_holdout_is_reproducible():
	first = [in_holdout("diwali-2026", r, 0.1) for r in RECIPIENTS[:500]]
	assert first == [in_holdout("diwali-2026", r, 0.1) for r in RECIPIENTS[:500]]


@pytest.mark.parametrize("share", [0.05, 0.1, 0.25, 0.5])
def test_holdout_holds_out_about_its_share(share):
	held = sum(in_holdout("diwali-2026", r, share) for r in RECIPIENTS)
	assert abs(held / len(RECIPIENTS) - share) <= 0.02


def test_no_share_holds_out_nobody_and_a_full_share_everybody():
	assert not any(in_holdout("c", r, 0) for r in RECIPIENTS[:2000])
	assert all(in_holdout("c", r, 1) for r in RECIPIENTS[:2000])
	for share in (-0.1, 1.5):
		with pytest.raises(ValueError):
			in_holdout("c", "r", share)


def test_a_larger_share_keeps_everyone_a_smaller_one_held():
	assert all(in_holdout("c", r, 0.3) for r in RECIPIENTS if in_holdout("c", r, 0.1))


def test_holdouts_are_independent_across_campaigns():
	a = {r for r in RECIPIENTS if in_holdout("diwali-2026", r, 0.5)}
	b = {r for r in RECIPIENTS if in_holdout("summer-2026", r, 0.5)}
	both = len(a & b) / len(RECIPIENTS)
	assert abs(both - 0.25) <= 0.02  # as for two independent coin flips
	# Keys that run together differently are different pairs.
	assert [in_holdout("ab", f"c{i}", 0.5) for i in range(200)] != [
		in_holdout("a", f"bc{i}", 0.5) for i in range(200)
	]


# -- ROI --------------------------------------------------------------------------------------
def test_roi_is_revenue_per_rupee_spent():
	assert roi(500, 25_000) == 50.0
	assert roi(Decimal("863.10"), Decimal("0")) == 0.0
	assert roi(0, 25_000) is None
	with pytest.raises(ValueError):
		roi(-1, 10)


def test_incremental_revenue_against_the_holdout():
	result = incremental(
		messaged_revenue=900_000, messaged_count=900, holdout_revenue=50_000, holdout_count=100, cost=1_000
	)
	assert result == {
		"messaged_revenue_per_person": 1000.0,
		"holdout_revenue_per_person": 500.0,
		"incremental_revenue_per_person": 500.0,
		"incremental_revenue": 450_000.0,
		"incremental_roi": 450.0,
	}


def test_incremental_is_robust_to_empty_groups_and_missing_cost():
	no_holdout = incremental(1000, 10, 0, 0, cost=100)
	assert no_holdout["messaged_revenue_per_person"] == 100.0
	assert no_holdout["holdout_revenue_per_person"] is None
	assert no_holdout["incremental_revenue"] is None and no_holdout["incremental_roi"] is None
	nobody_messaged = incremental(0, 0, 500, 5)
	assert nobody_messaged["messaged_revenue_per_person"] is None
	assert nobody_messaged["holdout_revenue_per_person"] == 100.0
	assert incremental(0, 0, 0, 0)["incremental_revenue_per_person"] is None
	assert incremental(1000, 10, 500, 5)["incremental_roi"] is None  # no cost given
	assert incremental(1000, 10, 500, 5, cost=0)["incremental_roi"] is None
	worse = incremental(400, 10, 500, 5, cost=50)
	assert worse["incremental_revenue"] == -600.0 and worse["incremental_roi"] == -12.0
	with pytest.raises(ValueError):
		incremental(1, -1, 1, 1)
