"""WhatsApp message templates: Meta's definition, their variables, previews and send payloads.

Meta knows two parameter formats. ``POSITIONAL`` templates say ``Hi {{1}}`` and take their body
parameters in order; ``NAMED`` templates say ``Hi {{name}}`` and take ``parameter_name`` with each
value. Both are handled the same way here: a template has an ordered list of variable names
("1", "2" or "name", ...) and a send supplies a value for each.

Meta lists each template with ``example`` values for its variables ("Template components":
``header_text`` / ``header_text_named_params``, ``header_handle`` for media, ``body_text`` as a
list of one list, ``body_text_named_params``, and a whole example URL on URL buttons); they are kept
in :attr:`TemplateSpec.examples`, keyed by variable name like the values of a send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .identity import is_bsuid

VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
MEDIA_HEADER_FORMATS = ("IMAGE", "VIDEO", "DOCUMENT")
HEADER_FORMATS = ("NONE", "TEXT", *MEDIA_HEADER_FORMATS, "LOCATION")
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
# Meta's limit on the body of a text message ("Text messages": body, "Maximum 4096 characters").
TEXT_MAX_LENGTH = 4096
_URL_IN_TEXT = re.compile(r"https?://", re.IGNORECASE)
# Meta rejects text parameters with new lines, tabs or more than four consecutive spaces.
_PARAM_WHITESPACE = re.compile(r"[\t\r\n]+|\s{5,}")


class TemplateVariableError(ValueError):
	"""A send that would fail at Meta because of its variables; says which and why."""


class TextMessageError(ValueError):
	"""A free-form text that Meta would refuse: empty, or longer than it takes."""


def variables_in(text: str | None) -> list[str]:
	"""Variable names in order of first appearance: ``"Hi {{1}}, {{2}}"`` -> ``["1", "2"]``."""
	seen: list[str] = []
	for name in VARIABLE.findall(text or ""):
		if name not in seen:
			seen.append(name)
	return seen


@dataclass
class Button:
	type: str  # QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, ...
	text: str
	url: str | None = None
	phone_number: str | None = None
	example: str | None = None  # a COPY_CODE button's code, as Meta reviews it

	@property
	def url_variable(self) -> str | None:
		"""URL buttons may end in one variable (``https://studio.in/book?c={{1}}``)."""
		names = variables_in(self.url)
		return names[0] if self.type == "URL" and names else None

	def example_suffix(self, example_url: str | None) -> str | None:
		"""The variable's example out of Meta's whole example URL for this button. Meta's table
		asks for the whole URL but its JSON sample shows only the variable's value
		(``["summer2023"]``), so a value that is not a URL is taken as the variable's own."""
		if not (self.url_variable and example_url and self.url):
			return None
		prefix = self.url[: self.url.index("{{")]
		if example_url.startswith(prefix):
			return example_url[len(prefix) :]
		return None if "://" in example_url else example_url

	def is_marketing_opt_out(self, opt_out_texts: tuple[str, ...]) -> bool:
		return self.type == "QUICK_REPLY" and normalize_keyword(self.text) in opt_out_texts


@dataclass
class TemplateSpec:
	name: str
	language: str
	category: str = "UTILITY"
	status: str = "APPROVED"
	parameter_format: str = "POSITIONAL"
	header_format: str = "NONE"
	header_text: str | None = None
	body: str = ""
	footer: str | None = None
	buttons: list[Button] = field(default_factory=list)
	meta_id: str | None = None
	examples: dict[str, str] = field(default_factory=dict)  # variable name -> Meta's example value
	header_handle: str | None = None  # the example media of a media header, as Meta lists it

	@classmethod
	def from_meta(cls, data: dict) -> TemplateSpec:
		"""Read one entry of ``GET /<WABA>/message_templates``."""
		spec = cls(
			name=data["name"],
			language=data.get("language") or "en",
			category=(data.get("category") or "UTILITY").upper(),
			status=(data.get("status") or "").upper(),
			parameter_format=(data.get("parameter_format") or "POSITIONAL").upper(),
			meta_id=data.get("id"),
		)
		for component in data.get("components") or []:
			kind = (component.get("type") or "").upper()
			example = component.get("example") or {}
			if kind == "HEADER":
				spec.header_format = (component.get("format") or "TEXT").upper()
				spec.header_text = component.get("text")
				spec.header_handle = next(iter(example.get("header_handle") or []), None)
				spec.examples.update(
					_read_examples(
						variables_in(spec.header_text),
						example.get("header_text"),
						example.get("header_text_named_params"),
					)
				)
			elif kind == "BODY":
				spec.body = component.get("text") or ""
				positional = example.get("body_text")
				# Meta lists body examples as one list in a list; some copies flatten it.
				if positional and isinstance(positional[0], list):
					positional = positional[0]
				spec.examples.update(
					_read_examples(spec.body_variables, positional, example.get("body_text_named_params"))
				)
			elif kind == "FOOTER":
				spec.footer = component.get("text")
			elif kind == "BUTTONS":
				spec.buttons = []
				for b in component.get("buttons") or []:
					button = Button(
						type=(b.get("type") or "").upper(),
						text=b.get("text") or "",
						url=b.get("url"),
						phone_number=b.get("phone_number"),
					)
					if button.type == "COPY_CODE":
						button.example = _first(b.get("example"))
					spec.buttons.append(button)
					suffix = button.example_suffix(_first(b.get("example")))
					if suffix is not None:
						spec.examples[button.url_variable] = suffix
		return spec

	def to_meta(self) -> dict:
		"""The template as Meta lists it, with its examples (used by the simulator and by tests)."""
		named = self.parameter_format == "NAMED"
		components: list[dict] = []
		if self.header_format != "NONE":
			header: dict = {"type": "HEADER", "format": self.header_format}
			if self.header_format == "TEXT":
				header["text"] = self.header_text or ""
				header.update(self._example_of("header", self.header_variables, named))
			elif self.header_handle:
				header["example"] = {"header_handle": [self.header_handle]}
			components.append(header)
		body = {"type": "BODY", "text": self.body}
		body.update(self._example_of("body", self.body_variables, named))
		components.append(body)
		if self.footer:
			components.append({"type": "FOOTER", "text": self.footer})
		if self.buttons:
			buttons = []
			for b in self.buttons:
				# A copy-code button shows Meta's own "Copy offer code"; it carries only its example.
				entry = {"type": b.type} if b.type == "COPY_CODE" else {"type": b.type, "text": b.text}
				if b.type == "COPY_CODE" and b.example:
					entry["example"] = b.example
				if b.url:
					entry["url"] = b.url
					if b.url_variable and b.url_variable in self.examples:
						entry["example"] = [render(b.url, {b.url_variable: self.examples[b.url_variable]})]
				if b.phone_number:
					entry["phone_number"] = b.phone_number
				buttons.append(entry)
			components.append({"type": "BUTTONS", "buttons": buttons})
		return {
			"name": self.name,
			"language": self.language,
			"category": self.category,
			"status": self.status,
			"parameter_format": self.parameter_format,
			"components": components,
			"id": self.meta_id or "",
		}

	def _example_of(self, component: str, variables: list[str], named: bool) -> dict:
		"""Meta's ``example`` for a header or body; none unless every variable has one."""
		if not variables or any(name not in self.examples for name in variables):
			return {}
		if named:
			params = [{"param_name": name, "example": self.examples[name]} for name in variables]
			return {"example": {f"{component}_text_named_params": params}}
		values = [self.examples[name] for name in variables]
		return {"example": {f"{component}_text": [values] if component == "body" else values}}

	@property
	def body_variables(self) -> list[str]:
		return variables_in(self.body)

	@property
	def header_variables(self) -> list[str]:
		return variables_in(self.header_text) if self.header_format == "TEXT" else []

	@property
	def url_buttons(self) -> list[tuple[int, Button]]:
		"""(index among all buttons, button) for URL buttons that take a variable suffix."""
		return [(i, b) for i, b in enumerate(self.buttons) if b.url_variable]

	@property
	def has_media_header(self) -> bool:
		return self.header_format in MEDIA_HEADER_FORMATS

	@property
	def all_variables(self) -> list[str]:
		"""Every distinct variable a send must fill, header first, then body, then buttons."""
		names: list[str] = []
		for name in [*self.header_variables, *self.body_variables] + [
			b.url_variable for _, b in self.url_buttons
		]:
			if name not in names:
				names.append(name)
		return names


@dataclass
class MediaHeader:
	"""A media header: a public ``link`` Meta downloads, or the ``media_id`` of an upload."""

	kind: str  # image, video, document
	link: str | None = None
	media_id: str | None = None
	filename: str | None = None

	def to_parameter(self) -> dict:
		if not (self.link or self.media_id):
			raise TemplateVariableError(f"The {self.kind} header needs a link or an uploaded media id")
		media: dict = {"id": self.media_id} if self.media_id else {"link": self.link}
		if self.kind == "document" and self.filename:
			media["filename"] = self.filename
		return {"type": self.kind, self.kind: media}


def _first(value) -> str | None:
	"""Meta gives some examples as a list of one, some as the value itself."""
	if isinstance(value, list):
		value = value[0] if value else None
	return None if value is None else str(value)


def _read_examples(variables: list[str], positional: list | None, named: list | None) -> dict[str, str]:
	if named:
		return {str(p.get("param_name")): str(p.get("example")) for p in named if isinstance(p, dict)}
	return {name: str(value) for name, value in zip(variables, positional or [], strict=False)}


def clean_parameter(value: object) -> str:
	text = _PARAM_WHITESPACE.sub(" ", str(value if value is not None else "")).strip()
	return text


def render(text: str | None, values: dict[str, object]) -> str:
	"""Fill ``{{var}}`` placeholders for a preview; unknown variables are left visible."""

	def fill(match: re.Match) -> str:
		name = match.group(1)
		return clean_parameter(values[name]) if name in values else match.group(0)

	return VARIABLE.sub(fill, text or "")


def check_values(spec: TemplateSpec, values: dict[str, object]) -> dict[str, str]:
	"""Cleaned values for every variable of ``spec``; raises naming each missing or empty one."""
	cleaned = {name: clean_parameter(values.get(name)) for name in spec.all_variables}
	missing = [name for name, value in cleaned.items() if not value]
	if missing:
		listed = ", ".join("{{" + name + "}}" for name in missing)
		raise TemplateVariableError(f"Template {spec.name} has no value for {listed}")
	return cleaned


def build_send_payload(
	spec: TemplateSpec,
	to: str,
	values: dict[str, object],
	header: MediaHeader | None = None,
	callback_data: str | None = None,
) -> dict:
	"""The JSON body of ``POST /<PHONE_NUMBER_ID>/messages`` for a template message.

	``to`` is a phone number or a BSUID; a BSUID goes in Meta's ``recipient`` parameter instead of
	``to`` ("Business-scoped user IDs"), for users who share no phone number."""
	if spec.status and spec.status != "APPROVED":
		raise TemplateVariableError(f"Template {spec.name} is {spec.status.lower()}, not approved")
	to_bsuid = is_bsuid(to)
	if to_bsuid and spec.category == "AUTHENTICATION":
		# Meta answers 131062: authentication templates still need a phone number.
		raise TemplateVariableError(
			f"Template {spec.name} is an authentication template: it needs a phone number"
		)
	cleaned = check_values(spec, values)
	named = spec.parameter_format == "NAMED"

	def text_parameter(name: str) -> dict:
		parameter = {"type": "text", "text": cleaned[name]}
		if named:
			parameter["parameter_name"] = name
		return parameter

	components: list[dict] = []
	if spec.has_media_header:
		if header is None:
			raise TemplateVariableError(
				f"Template {spec.name} has a {spec.header_format.lower()} header: attach the media or give its URL"
			)
		if header.kind.upper() != spec.header_format:
			raise TemplateVariableError(
				f"Template {spec.name} expects a {spec.header_format.lower()} header, not {header.kind}"
			)
		components.append({"type": "header", "parameters": [header.to_parameter()]})
	elif spec.header_variables:
		components.append(
			{"type": "header", "parameters": [text_parameter(n) for n in spec.header_variables]}
		)
	if spec.body_variables:
		components.append({"type": "body", "parameters": [text_parameter(n) for n in spec.body_variables]})
	for index, button in spec.url_buttons:
		components.append(
			{
				"type": "button",
				"sub_type": "url",
				"index": str(index),
				"parameters": [{"type": "text", "text": cleaned[button.url_variable]}],
			}
		)
	payload = _message_envelope(to, "template")
	payload["template"] = {"name": spec.name, "language": {"code": spec.language}, "components": components}
	if callback_data:
		payload["biz_opaque_callback_data"] = callback_data
	return payload


def build_text_payload(
	to: str,
	text: str,
	*,
	callback_data: str | None = None,
	reply_to: str | None = None,
	preview_url: bool | None = None,
) -> dict:
	"""The JSON body of ``POST /<PHONE_NUMBER_ID>/messages`` for a free-form text message.

	Meta delivers these only inside the 24-hour customer service window (see :mod:`.window`).
	``reply_to`` is the wamid of the message answered (shown quoted above the reply);
	``preview_url`` defaults to whether the text holds an http(s) link."""
	if not isinstance(text, str) or not text.strip():
		raise TextMessageError("The message is empty: write something to send")
	if len(text) > TEXT_MAX_LENGTH:
		raise TextMessageError(
			f"The message has {len(text)} characters; WhatsApp takes at most {TEXT_MAX_LENGTH}"
		)
	if preview_url is None:
		preview_url = bool(_URL_IN_TEXT.search(text))
	payload = _message_envelope(to, "text")
	payload["text"] = {"preview_url": preview_url, "body": text}
	if reply_to:
		payload["context"] = {"message_id": reply_to}
	if callback_data:
		payload["biz_opaque_callback_data"] = callback_data
	return payload


def _message_envelope(to: str, message_type: str) -> dict:
	"""What every send starts with; a BSUID goes in Meta's ``recipient`` instead of ``to``."""
	address = {"recipient": to} if is_bsuid(to) else {"to": to.lstrip("+")}
	return {
		"messaging_product": "whatsapp",
		"recipient_type": "individual",
		**address,
		"type": message_type,
	}


def normalize_keyword(text: str | None) -> str:
	return " ".join((text or "").upper().split())
