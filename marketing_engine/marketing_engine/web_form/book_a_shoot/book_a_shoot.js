// The booking form remembers which WhatsApp campaign link brought the visitor: utm_source from
// the address (a link that carries it) or from the cookie the tracked redirect set.
frappe.ready(function () {
	const from_query = new URLSearchParams(window.location.search).get("utm_source");
	const cookie = document.cookie
		.split("; ")
		.find((c) => c.startsWith("whatsapp_utm="));
	const from_cookie = cookie ? decodeURIComponent(cookie.split("=")[1]).split("|")[0] : null;
	const utm_source = from_query || from_cookie;
	if (utm_source) frappe.web_form.set_value("utm_source", utm_source);
});
