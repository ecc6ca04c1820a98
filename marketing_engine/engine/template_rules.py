"""Meta's rules for a message template, checked before anything is submitted, and the bodies of
the submission and of an edit.

Each problem names the form field it belongs to, so Desk can show it there, and says in a
sentence a studio owner understands what Meta would do and what to change. The rules are those
of Meta's template pages ("Template components", "Template review", "Template fundamentals",
"Supported languages" and the template error codes). Where Meta publishes no number (how much
text a variable needs) a conservative rule of ours is used, and says so.

The template builder offers Marketing and Utility templates with no, text, image, video or
document headers and quick reply, URL, phone number and copy code buttons. Authentication
templates (Meta writes their text itself, with one-time password buttons), location headers and
flow, catalogue or OTP buttons are not offered, so they are refused here although Meta takes them.

Meta answers a template that breaks a rule with error code 100, an ``error_subcode`` and a
title; :func:`meta_refusal` gives them for the first problem, which is how the Graph API
simulator answers. Only some of those subcodes are on Meta's error code page (2388040 character
limit, 2388047 header, 2388072 body, 2388073 footer, 2388293 words ratio, 2388299 leading or
trailing parameter); 2388043 for a missing example is seen in real answers only, and names,
languages, categories and buttons come back without a subcode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from .templates import MEDIA_HEADER_FORMATS, VARIABLE, TemplateSpec, variables_in

NAME = re.compile(r"^[a-z0-9_]+$")
NAME_MAX = 512
BODY_MAX = 1024
HEADER_TEXT_MAX = 60
FOOTER_MAX = 60
BUTTON_TEXT_MAX = 25
URL_MAX = 2000
PHONE_MAX = 20
COPY_CODE_MAX = 15
BUTTONS_MAX = 10
# How many of each button type one template may carry ("Template components", Buttons).
BUTTON_LIMITS = {"QUICK_REPLY": 10, "URL": 2, "PHONE_NUMBER": 1, "COPY_CODE": 1}
BUTTON_NAMES = {
	"QUICK_REPLY": "quick reply",
	"URL": "URL",
	"PHONE_NUMBER": "phone number",
	"COPY_CODE": "copy code",
}
# Authentication templates carry Meta's own text and one-time password buttons: not in the builder.
BUILDER_CATEGORIES = ("MARKETING", "UTILITY")
BUILDER_HEADERS = ("NONE", "TEXT", *MEDIA_HEADER_FORMATS)
PARAMETER_FORMATS = ("POSITIONAL", "NAMED")
# Meta: named parameters are "composed of lowercase characters and underscores"; digits are taken
# after the first letter (its own samples use names like address_line_1).
NAMED_VARIABLE = re.compile(r"^[a-z][a-z0-9_]*$")
# Meta rejects "too many parameters relative to the message length" (2388293) and publishes no
# ratio. Ours, conservative: at least three words of the body's own text for every variable.
WORDS_PER_VARIABLE = 3
_ANY_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_EDGE_PUNCTUATION = " \t\r\n.,;:!?¡¿'\"()[]*_~-"
_URL = re.compile(r"^https?://[^\s/{}]+", re.IGNORECASE)
# Meta's template languages, code -> name as Meta writes it ("Supported languages", May 2026).
LANGUAGES = {
	"af": "Afrikaans", "sq": "Albanian", "ar": "Arabic", "ar_EG": "Arabic (EGY)",
	"ar_AE": "Arabic (UAE)", "ar_LB": "Arabic (LBN)", "ar_MA": "Arabic (MAR)", "ar_QA": "Arabic (QAT)",
	"ar_SA": "Arabic (SAU)", "az": "Azerbaijani", "be_BY": "Belarusian", "bn": "Bengali",
	"bn_IN": "Bengali (IND)", "bg": "Bulgarian", "ca": "Catalan", "zh_CN": "Chinese (CHN)",
	"zh_HK": "Chinese (HKG)", "zh_TW": "Chinese (TAI)", "hr": "Croatian", "cs": "Czech",
	"da": "Danish", "prs_AF": "Dari", "nl": "Dutch", "nl_BE": "Dutch (BEL)", "en": "English",
	"en_GB": "English (UK)", "en_US": "English (US)", "en_AE": "English (UAE)", "en_AU": "English (AUS)",
	"en_CA": "English (CAN)", "en_GH": "English (GHA)", "en_IE": "English (IRL)", "en_IN": "English (IND)",
	"en_JM": "English (JAM)", "en_MY": "English (MYS)", "en_NZ": "English (NZL)", "en_QA": "English (QAT)",
	"en_SG": "English (SGP)", "en_UG": "English (UGA)", "en_ZA": "English (ZAF)", "et": "Estonian",
	"fil": "Filipino", "fi": "Finnish", "fr": "French", "fr_BE": "French (BEL)", "fr_CA": "French (CAN)",
	"fr_CH": "French (CHE)", "fr_CI": "French (CIV)", "fr_MA": "French (MAR)", "ka": "Georgian",
	"de": "German", "de_AT": "German (AUT)", "de_CH": "German (CHE)", "el": "Greek", "gu": "Gujarati",
	"ha": "Hausa", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "ga": "Irish",
	"it": "Italian", "ja": "Japanese", "kn": "Kannada", "kk": "Kazakh", "rw_RW": "Kinyarwanda",
	"ko": "Korean", "ky_KG": "Kyrgyz (Kyrgyzstan)", "lo": "Lao", "lv": "Latvian", "lt": "Lithuanian",
	"mk": "Macedonian", "ms": "Malay", "ml": "Malayalam", "mr": "Marathi", "nb": "Norwegian",
	"fa": "Persian", "pl": "Polish", "pt_BR": "Portuguese (BR)", "pt_PT": "Portuguese (POR)",
	"pa": "Punjabi", "ro": "Romanian", "ru": "Russian", "sr": "Serbian", "sk": "Slovak",
	"sl": "Slovenian", "es": "Spanish", "es_AR": "Spanish (ARG)", "es_CL": "Spanish (CHL)",
	"es_CO": "Spanish (COL)", "es_ES": "Spanish (SPA)", "es_MX": "Spanish (MEX)", "es_PE": "Spanish (PER)",
	"es_VE": "Spanish (VEN)", "sw": "Swahili", "sv": "Swedish", "ta": "Tamil", "te": "Telugu",
	"th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese",
	"zu": "Zulu",
}  # fmt: skip

# What Meta answers for each kind of problem: (error_subcode, error_user_title).
_REFUSALS = {
	"name": (None, "Invalid template name"),
	"language": (None, "Language not supported"),
	"category": (None, "Invalid template category"),
	"length": (2388040, "Character limit exceeded"),
	"header": (2388047, "Message header format is incorrect"),
	"body": (2388072, "Message body format is incorrect"),
	"edge": (2388299, "Leading or trailing parameters not allowed"),
	"ratio": (2388293, "Parameters words ratio exceeds limit"),
	"example": (2388043, "Message template example is missing"),
	"footer": (2388073, "Message footer format is incorrect"),
	"buttons": (None, "Invalid buttons"),
}


@dataclass(frozen=True)
class RuleProblem:
	"""One broken rule. ``field`` is the form's field: template_name, language, category,
	header_format, header_text, header_example, body, examples, footer or buttons."""

	field: str
	message: str


@dataclass(frozen=True)
class MetaRefusal:
	"""How Meta answers a submission that breaks ``problem``: code 100 with this subcode
	(None when Meta gives none) and ``error_user_title``; ``error_user_msg`` is the message."""

	problem: RuleProblem
	subcode: int | None
	title: str


class TemplateRulesError(ValueError):
	"""A template that Meta would refuse, stopped before it was sent; ``problems`` say why."""

	def __init__(self, problems: list[RuleProblem]):
		self.problems = problems
		super().__init__("; ".join(p.message for p in problems))


def check_template(spec: TemplateSpec, *, has_header_example: bool = False) -> list[RuleProblem]:
	"""Every rule of Meta's that ``spec`` breaks; empty when Meta would take it for review.
	``has_header_example`` says the media header's example file is at hand (a ``header_handle``
	from an upload counts too)."""
	return [refusal.problem for refusal in _refusals(spec, has_header_example)]


def meta_refusal(spec: TemplateSpec, *, has_header_example: bool = False) -> MetaRefusal | None:
	"""Meta's answer to the first broken rule, or None when Meta would take ``spec``."""
	return next(iter(_refusals(spec, has_header_example)), None)


def build_create_payload(spec: TemplateSpec) -> dict:
	"""The JSON body of ``POST /<WABA_ID>/message_templates`` ("Template fundamentals", common
	syntax) with Meta's examples. ``parameter_format`` is optional and POSITIONAL by default, so
	it is sent only for a template with named variables."""
	payload: dict = {"name": spec.name, "language": spec.language, "category": spec.category}
	if spec.parameter_format == "NAMED":
		payload["parameter_format"] = "NAMED"
	payload["components"] = _components(spec)
	return payload


def build_edit_payload(spec: TemplateSpec) -> dict:
	"""The JSON body of ``POST /<TEMPLATE_ID>``. Meta replaces every component with those sent,
	so all are sent. The category is sent only for a rejected or paused template: Meta lets no
	approved template change category, and edits nothing else. The parameter format is always
	sent, because the new components are written in it (the format's default would otherwise be
	the template's old one)."""
	payload: dict = {"components": _components(spec), "parameter_format": spec.parameter_format}
	if (spec.status or "").upper() in ("REJECTED", "PAUSED"):
		payload["category"] = spec.category
	return payload


def _components(spec: TemplateSpec) -> list[dict]:
	"""Meta's component list for a submission: what Meta lists, minus the listing's own keys."""
	return spec.to_meta()["components"]


# -- the rules -------------------------------------------------------------------------------
class _Checker:
	def __init__(self, spec: TemplateSpec, has_header_example: bool):
		self.spec = spec
		self.has_header_example = has_header_example or bool(spec.header_handle)
		self.found: list[MetaRefusal] = []

	def add(self, kind: str, field: str, message: str) -> None:
		subcode, title = _REFUSALS[kind]
		self.found.append(MetaRefusal(RuleProblem(field, message), subcode, title))

	def run(self) -> list[MetaRefusal]:
		self.check_identity()
		self.check_header()
		self.check_body()
		self.check_variable_format()
		self.check_footer()
		self.check_examples()
		self.check_buttons()
		return self.found

	def check_identity(self) -> None:
		spec = self.spec
		if not spec.name:
			self.add("name", "template_name", "Give the template a name, such as monsoon_offer.")
		elif not NAME.match(spec.name):
			self.add(
				"name",
				"template_name",
				"Use only lowercase letters, digits and underscores in the name (for example "
				"monsoon_offer): Meta refuses capitals, spaces and other characters.",
			)
		elif len(spec.name) > NAME_MAX:
			self.add(
				"name",
				"template_name",
				f"The name has {len(spec.name)} characters; Meta takes at most {NAME_MAX}.",
			)
		if spec.language not in LANGUAGES:
			near = _near_language(spec.language)
			hint = f" Did you mean {near} ({LANGUAGES[near]})?" if near else ""
			self.add(
				"language",
				"language",
				f"{spec.language or 'No language'} is not one of Meta's template languages "
				f"(such as en, en_US, hi, mr, ta).{hint}",
			)
		if spec.category == "AUTHENTICATION":
			self.add(
				"category",
				"category",
				"Choose Marketing or Utility: authentication templates (one-time passwords) use "
				"Meta's own fixed text and are not made in the template builder.",
			)
		elif spec.category not in BUILDER_CATEGORIES:
			self.add(
				"category",
				"category",
				f"Choose Marketing or Utility: Meta has no category {spec.category or '(none)'}.",
			)

	def check_header(self) -> None:
		spec = self.spec
		if spec.header_format not in BUILDER_HEADERS:
			self.add(
				"header",
				"header_format",
				"Choose no header, or a text, image, video or document header: the builder does "
				f"not make {str(spec.header_format).lower()} headers.",
			)
			return
		if spec.header_format == "TEXT":
			text = spec.header_text or ""
			if not text.strip():
				self.add("header", "header_text", "A text header needs its text (or choose no header).")
				return
			if len(text) > HEADER_TEXT_MAX:
				self.add(
					"length",
					"header_text",
					f"The header has {len(text)} characters; Meta takes at most {HEADER_TEXT_MAX}.",
				)
			names = variables_in(text)
			if len(names) > 1 or len(VARIABLE.findall(text)) > 1:
				self.add("header", "header_text", "A text header may hold one variable at most.")
			if "\n" in text or "\r" in text:
				self.add("header", "header_text", "A header is one line: remove the line breaks.")
			self.check_braces(text, "header", "header_text", "header")
		elif spec.header_format in MEDIA_HEADER_FORMATS and not self.has_header_example:
			kind = spec.header_format.lower()
			self.add(
				"header",
				"header_example",
				f"Attach an example {kind}: Meta reviews a template with a{'n' if kind == 'image' else ''} "
				f"{kind} header by looking at one.",
			)

	def check_body(self) -> None:
		body = self.spec.body or ""
		if not body.strip():
			self.add("body", "body", "Write the message body: Meta requires one.")
			return
		if len(body) > BODY_MAX:
			self.add("length", "body", f"The body has {len(body)} characters; Meta takes at most {BODY_MAX}.")
		self.check_braces(body, "body", "body", "body")
		occurrences = VARIABLE.findall(body)
		if not occurrences:
			return
		numbers = [n for n in variables_in(body) if n.isdigit()]
		if numbers and numbers == [n for n in variables_in(body)]:
			expected = [str(i) for i in range(1, len(numbers) + 1)]
			if numbers != expected:
				listed = ", ".join("{{" + n + "}}" for n in numbers)
				self.add(
					"body",
					"body",
					"Number the variables {{1}}, {{2}}, {{3}} ... in the order they appear, in sequence "
					f"with no gaps: this body has {listed}.",
				)
		inner = body.strip(_EDGE_PUNCTUATION)
		first = VARIABLE.match(inner)
		if first:
			self.add(
				"edge",
				"body",
				"The body may not start with a variable: Meta rejects it. Put a word before "
				f"{{{{{first.group(1)}}}}}.",
			)
		last = re.search(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}$", inner)
		if last:
			self.add(
				"edge",
				"body",
				f"The body may not end with a variable: Meta rejects it. Add a few words after "
				f"{{{{{last.group(1)}}}}}.",
			)
		for pair in re.finditer(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}\s*\{\{\s*([A-Za-z0-9_]+)\s*\}\}", body):
			self.add(
				"body",
				"body",
				f"{{{{{pair.group(1)}}}}} and {{{{{pair.group(2)}}}}} stand side by side: Meta rejects "
				"that. Put words or punctuation between them.",
			)
		words = len([w for w in VARIABLE.sub(" ", body).split() if any(c.isalnum() for c in w)])
		needed = WORDS_PER_VARIABLE * len(occurrences)
		if words < needed:
			self.add(
				"ratio",
				"body",
				f"{len(occurrences)} variable{'s need' if len(occurrences) > 1 else ' needs'} more text around "
				f"{'them' if len(occurrences) > 1 else 'it'} (at least {needed} words of your own; this body has {words}): Meta rejects "
				"templates that are mostly variables.",
			)

	def check_braces(self, text: str, kind: str, field: str, where: str) -> None:
		"""Every ``{{...}}`` must be a variable, and no brace pair may be left half open."""
		for inner in _ANY_PLACEHOLDER.findall(text):
			if not re.fullmatch(r"\s*[A-Za-z0-9_]+\s*", inner):
				self.add(
					kind,
					field,
					f"{{{{{inner}}}}} in the {where} is not a variable: use {{{{1}}}} or a name such "
					"as {{first_name}}, without spaces or other signs.",
				)
		rest = _ANY_PLACEHOLDER.sub("", text)
		if "{{" in rest or "}}" in rest:
			self.add(
				kind,
				field,
				f"The {where} has a variable with a missing brace: write it as {{{{1}}}} or "
				"{{first_name}}, two braces on each side.",
			)

	def check_variable_format(self) -> None:
		"""Named or numbered, never both, and as the template's parameter format says."""
		spec = self.spec
		header = variables_in(spec.header_text) if spec.header_format == "TEXT" else []
		body = variables_in(spec.body)
		buttons = [(i, b, b.url_variable) for i, b in enumerate(spec.buttons, 1) if b.url_variable]
		names = [*header, *body, *(name for _, _, name in buttons)]
		if not names:
			return
		numbered = [n for n in names if n.isdigit()]
		named = [n for n in names if not n.isdigit()]
		if spec.parameter_format not in PARAMETER_FORMATS:
			self.add(
				"body",
				"body",
				f"The parameter format must be Positional or Named, not {spec.parameter_format}.",
			)
			return
		if numbered and named:
			self.add(
				"body",
				"body",
				"Use either numbered variables ({{1}}) or named ones ({{first_name}}) in a template, "
				"not both: Meta rejects the mix.",
			)
			return
		if named and spec.parameter_format != "NAMED":
			self.add(
				"body",
				"body",
				"Named variables such as {{" + named[0] + "}} need the parameter format Named.",
			)
		elif numbered and spec.parameter_format == "NAMED":
			self.add("body", "body", "Numbered variables such as {{1}} need the parameter format Positional.")
		for name in dict.fromkeys(named):
			if not NAMED_VARIABLE.match(name):
				field = "header_text" if name in header and name not in body else "body"
				self.add(
					"header" if field == "header_text" else "body",
					field,
					f"{{{{{name}}}}}: a variable's name is lowercase letters, digits and underscores, "
					"starting with a letter (such as first_name).",
				)
		if numbered:
			# A header and a URL button number their one variable on their own, from {{1}}.
			if header and header != ["1"]:
				self.add(
					"header",
					"header_text",
					f"The header's variable must be {{{{1}}}}, not {{{{{header[0]}}}}}.",
				)
			for i, button, name in buttons:
				if name != "1":
					self.add(
						"buttons",
						"buttons",
						f"{_label(i, button)}: the URL's variable must be {{{{1}}}}, not {{{{{name}}}}}.",
					)

	def check_footer(self) -> None:
		footer = self.spec.footer
		if not footer:
			return
		if len(footer) > FOOTER_MAX:
			self.add(
				"length",
				"footer",
				f"The footer has {len(footer)} characters; Meta takes at most {FOOTER_MAX}.",
			)
		if variables_in(footer) or "{{" in footer:
			self.add("footer", "footer", "A footer cannot hold variables: write it as plain text.")
		if "\n" in footer:
			self.add("footer", "footer", "A footer is one line: remove the line breaks.")

	def check_examples(self) -> None:
		spec = self.spec
		missing = [n for n in spec.all_variables if not (spec.examples.get(n) or "").strip()]
		if missing:
			listed = ", ".join("{{" + n + "}}" for n in missing)
			self.add(
				"example",
				"examples",
				f"Give an example for {listed}: Meta reviews the template with the examples filled in.",
			)
		for name in spec.all_variables:
			value = spec.examples.get(name) or ""
			if "\n" in value or "\r" in value or "\t" in value:
				self.add(
					"example",
					"examples",
					f"The example for {{{{{name}}}}} must be one line: Meta refuses line breaks and tabs in it.",
				)

	def check_buttons(self) -> None:
		buttons = self.spec.buttons
		if len(buttons) > BUTTONS_MAX:
			self.add("buttons", "buttons", f"{len(buttons)} buttons: Meta allows at most {BUTTONS_MAX}.")
		counts: dict[str, int] = {}
		for b in buttons:
			counts[b.type] = counts.get(b.type, 0) + 1
		for kind, limit in BUTTON_LIMITS.items():
			if counts.get(kind, 0) > limit:
				self.add(
					"buttons",
					"buttons",
					f"{counts[kind]} {BUTTON_NAMES[kind]} buttons: Meta allows {limit}.",
				)
		groups = ["QR" if b.type == "QUICK_REPLY" else "other" for b in buttons]
		runs = [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g]
		if len(runs) > 2:
			self.add(
				"buttons",
				"buttons",
				"Keep the quick replies together, all before or all after the other buttons: "
				"Meta refuses them split up.",
			)
		for i, button in enumerate(buttons, 1):
			self.check_button(i, button)

	def check_button(self, index: int, button) -> None:
		label = _label(index, button)
		if button.type not in BUTTON_LIMITS:
			self.add(
				"buttons",
				"buttons",
				f"{label}: choose a quick reply, URL, phone number or copy code button.",
			)
			return
		# A copy code button carries no text: WhatsApp labels it "Copy offer code" itself.
		if button.type != "COPY_CODE":
			text = button.text or ""
			if not text.strip():
				self.add("buttons", "buttons", f"{label}: write the button's text.")
			elif len(text) > BUTTON_TEXT_MAX:
				self.add(
					"buttons",
					"buttons",
					f"{label}: the text has {len(text)} characters; Meta takes at most {BUTTON_TEXT_MAX}.",
				)
			if "{{" in text or "\n" in text:
				self.add("buttons", "buttons", f"{label}: a button's text is plain words on one line.")
		if button.type == "URL":
			url = button.url or ""
			if not _URL.match(url):
				self.add(
					"buttons",
					"buttons",
					f"{label}: the web address must start with https:// (or http://), such as "
					"https://studio.example/book.",
				)
			elif len(url) > URL_MAX:
				self.add(
					"buttons",
					"buttons",
					f"{label}: the web address has {len(url)} characters; Meta takes at most {URL_MAX}.",
				)
			placeholders = _ANY_PLACEHOLDER.findall(url)
			if len(placeholders) > 1 or (placeholders and not re.search(r"\{\{[^{}]*\}\}$", url)):
				self.add(
					"buttons",
					"buttons",
					f"{label}: a web address may hold one variable, at its very end "
					"(https://studio.example/book/{{1}}).",
				)
		elif button.type == "PHONE_NUMBER":
			if not _international(button.phone_number or ""):
				self.add(
					"buttons",
					"buttons",
					f"{label}: give the phone number in international form with its country code, "
					"such as +91 98200 10001.",
				)
		elif button.type == "COPY_CODE":
			code = (button.example or "").strip()
			if not code:
				self.add("buttons", "buttons", f"{label}: give an example code, such as BDAY15.")
			elif len(code) > COPY_CODE_MAX:
				self.add(
					"buttons",
					"buttons",
					f"{label}: the code has {len(code)} characters; Meta takes at most {COPY_CODE_MAX}.",
				)


def _refusals(spec: TemplateSpec, has_header_example: bool) -> list[MetaRefusal]:
	return _Checker(spec, has_header_example).run()


def _label(index: int, button) -> str:
	"""How a message names a button: "Button 2 (URL)"."""
	return f"Button {index} ({button.type or 'no type'})"


def _international(number: str) -> bool:
	"""A phone number written with its country code, at most Meta's 20 characters."""
	text = number.strip()
	if not text or len(text) > PHONE_MAX or not re.fullmatch(r"\+?[0-9 ()\-]+", text):
		return False
	digits = re.sub(r"\D", "", text)
	try:
		parsed = phonenumbers.parse("+" + digits)
	except phonenumbers.NumberParseException:
		return False
	return phonenumbers.is_possible_number(parsed)


def _near_language(code: str | None) -> str | None:
	"""A Meta code the studio probably meant: en-US -> en_US, EN -> en."""
	if not code:
		return None
	guess = code.strip().replace("-", "_")
	language, _, region = guess.partition("_")
	guess = f"{language.lower()}_{region.upper()}" if region else language.lower()
	return guess if guess in LANGUAGES else None
