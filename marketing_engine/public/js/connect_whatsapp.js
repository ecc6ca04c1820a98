// Copyright (c) 2026, marketing_engine maintainers and contributors
// For license information, please see license.txt

// "Connect WhatsApp": Meta's Embedded Signup (v4) in a popup, or the sandbox's stand-in for it.
// The browser only carries Meta's answer (a one-time code and the session info naming the WABA
// and the number) to the server; the token exchange and every Graph API call happen there.
frappe.provide("marketing_engine");

marketing_engine.connect_whatsapp = async function () {
	const { message: config } = await frappe.call({
		method: "marketing_engine.api.signup.signup_config",
	});
	if (config.problem) {
		frappe.msgprint({ title: __("Connect WhatsApp"), message: config.problem, indicator: "orange" });
		return;
	}
	const signup = config.stand_in ? stand_in_popup(config) : meta_popup(config);
	let answer;
	try {
		answer = await signup;
	} catch (stopped) {
		frappe.msgprint({
			title: __("WhatsApp was not connected"),
			message: stopped.message,
			indicator: stopped.cancelled ? "orange" : "red",
		});
		return;
	}
	const { message: connected } = await frappe.call({
		method: "marketing_engine.api.signup.complete_signup",
		args: answer,
		freeze: true,
		freeze_message: __("Connecting your WhatsApp number with Meta..."),
	});
	frappe.msgprint({
		title: __("WhatsApp connected"),
		message: connected.summary,
		indicator: connected.can_send ? "green" : "orange",
		primary_action: {
			label: __("Open {0}", [connected.account]),
			action: () => frappe.set_route("Form", "WhatsApp Account", connected.account),
		},
	});
	frappe.set_route("Form", "WhatsApp Account", connected.account);
};

// Meta's popup: FB.login with the Embedded Signup configuration; the code comes to the login
// callback and the WABA and number in a message event from facebook.com. Both are needed.
function meta_popup(config) {
	return load_facebook_sdk(config).then(
		() =>
			new Promise((resolve, reject) => {
				let code = null;
				let session = null;
				const finish = () => {
					if (!code || !session) return;
					window.removeEventListener("message", on_message);
					resolve({
						code,
						waba_id: session.waba_id || "",
						phone_number_id: session.phone_number_id || "",
						event: session.event,
					});
				};
				const on_message = (event) => {
					if (!/(^|\.)facebook\.com$/.test(new URL(event.origin).hostname)) return;
					let data;
					try {
						data = JSON.parse(event.data);
					} catch (e) {
						return;
					}
					if (data.type !== "WA_EMBEDDED_SIGNUP") return;
					const info = data.data || {};
					// v4 reports an error the user hit as a CANCEL that carries error_message.
					if (data.event === "CANCEL" || data.event === "ERROR") {
						window.removeEventListener("message", on_message);
						reject(
							info.error_message ? failed(info.error_message) : cancelled(info.current_step)
						);
					} else if (String(data.event).startsWith("FINISH")) {
						session = { ...(data.data || {}), event: data.event };
						finish();
					}
				};
				window.addEventListener("message", on_message);
				window.FB.login(
					(response) => {
						if (response.authResponse && response.authResponse.code) {
							code = response.authResponse.code;
							finish();
						} else if (!session) {
							window.removeEventListener("message", on_message);
							reject(cancelled(null));
						}
					},
					{
						config_id: config.config_id,
						response_type: "code",
						override_default_response_type: true,
						// v4: the products come from the configuration; sessionInfoVersion was v2's.
						extras: { setup: {} },
					}
				);
			})
	);
}

function load_facebook_sdk(config) {
	if (window.FB) return Promise.resolve();
	return new Promise((resolve, reject) => {
		window.fbAsyncInit = () => {
			window.FB.init({
				appId: config.app_id,
				autoLogAppEvents: true,
				xfbml: false,
				version: config.sdk_version,
			});
			resolve();
		};
		const script = document.createElement("script");
		script.src = "https://connect.facebook.net/en_US/sdk.js";
		script.async = true;
		script.crossOrigin = "anonymous";
		script.onerror = () =>
			reject(failed(__("Facebook's login script could not be loaded: is the site online?")));
		document.body.appendChild(script);
	});
}

// The sandbox's stand-in: the same steps as Meta's popup, answered by the Graph API simulator.
function stand_in_popup(config) {
	return new Promise((resolve, reject) => {
		let step = "BUSINESS_INFO";
		let settled = false;
		const dialog = new frappe.ui.Dialog({
			title: __("Sandbox stand-in for Meta's WhatsApp signup"),
			fields: [
				{
					fieldtype: "HTML",
					options: `<p class="text-muted">${__(
						"On a real site this is Meta's own window: the studio logs into Facebook, picks or creates its business, WhatsApp Business Account and number, and confirms a payment method. Here the Graph API simulator plays Meta."
					)}</p>`,
				},
				{ fieldtype: "Data", fieldname: "business_name", label: __("Business name"), reqd: 1, default: config.default_business_name },
				{ fieldtype: "Data", fieldname: "display_phone_number", label: __("WhatsApp number"), reqd: 1, default: "+91 80000 12345" },
				{ fieldtype: "Data", fieldname: "verified_name", label: __("Display name"), default: config.default_business_name },
				{ fieldtype: "Check", fieldname: "payment_method", label: __("Add a payment method (card) for Meta's charges"), default: 1 },
			],
			primary_action_label: __("Finish"),
			primary_action(values) {
				step = "PHONE_NUMBER_VERIFICATION";
				frappe
					.call({ method: "marketing_engine.api.signup.stand_in_signup", args: values })
					.then(({ message }) => {
						settled = true;
						dialog.hide();
						resolve(message);
					})
					.catch(() => {});
			},
			secondary_action_label: __("Cancel"),
			secondary_action() {
				dialog.hide();
			},
		});
		dialog.onhide = () => {
			if (!settled) {
				settled = true;
				reject(cancelled(step));
			}
		};
		dialog.show();
	});
}

function cancelled(step) {
	const error = new Error(
		step
			? __("The signup was closed at Meta's step {0}. Nothing was connected; run Connect WhatsApp again to finish.", [step])
			: __("The signup was closed before it finished. Nothing was connected; run Connect WhatsApp again to finish.")
	);
	error.cancelled = true;
	return error;
}

function failed(message) {
	return new Error(__("Meta's signup failed: {0}. Nothing was connected.", [frappe.utils.escape_html(message)]));
}
