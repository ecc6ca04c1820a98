"""Header media of a template message: a public URL as given, or a file attached in Desk and
uploaded to Meta once (Meta's media id is kept and sent from then on)."""

import mimetypes
from collections.abc import Callable

import frappe

from marketing_engine.engine.templates import MediaHeader, TemplateSpec


def media_header(
	spec: TemplateSpec,
	account,
	*,
	url: str | None,
	attachment: str | None,
	media_id: str | None,
	remember: Callable[[str], None],
) -> MediaHeader | None:
	"""The header for ``spec``: ``url`` when given, else ``attachment``, uploaded through
	``account`` when it has no ``media_id`` yet; ``remember`` keeps the new media id where the
	attachment was set (a campaign, a drip step)."""
	if not spec.has_media_header:
		return None
	kind = spec.header_format.lower()
	if url:
		return MediaHeader(kind, link=url)
	if not attachment:
		return None  # build_send_payload names what is missing
	if not media_id:
		media_id = upload_attachment(attachment, account)
		remember(media_id)
	return MediaHeader(kind, media_id=media_id, filename=attachment.rsplit("/", 1)[-1])


def upload_attachment(file_url: str, account) -> str:
	"""Upload an attached file to Meta through ``account``; returns Meta's media id."""
	file = frappe.get_doc("File", {"file_url": file_url})
	with open(file.get_full_path(), "rb") as f:
		content = f.read()
	mime = mimetypes.guess_type(file.file_name)[0] or "application/octet-stream"
	return account.get_client().upload_media(content, mime, file.file_name)
