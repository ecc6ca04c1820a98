"""Reading a studio's CSV of people into members of a static marketing list.

Studios bring lists from everywhere: Excel on Windows (often not UTF-8), Google Sheets, "Unicode
text" exports (UTF-16, tab separated), phone contact dumps, lead forms of a wedding expo. The file
is never rejected for a few bad rows: each row is either a :class:`MemberRow` or a
:class:`RowError` with the physical line number in the file (the header is line 1) and a reason
the studio can act on, so the upload screen can say "line 14: bad number '98765': too short".
Only a file that cannot be read at all (empty, no header, no phone column) raises
:class:`CsvFormatError`.

A row is for its number and consent: a value of a secondary field that is wrong (an email that is
not one, a city that is "#N/A") costs that value, not the row, and is reported as a
:class:`RowWarning`, as are kept numbers that marketing is unlikely to reach (landlines, countries
where Meta does not deliver marketing). :func:`report_csv` gives the studio all of it as a file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .phone import InvalidPhoneNumber, line_type, marketing_warning, normalize, region_of

# Every kind of RowError, in the order an upload summary lists them.
ERROR_KINDS = ("bad_number", "missing_phone", "duplicate", "missing_consent", "encoding", "malformed")
# Every kind of RowWarning (a kept row with something to know about), in the order a summary lists them.
WARNING_KINDS = ("landline", "marketing_not_delivered", "bad_email", "bad_city", "extra_columns")

# Accepted header names per field, compared after _header_key(). Where a file has two columns for
# one field, the column whose name comes first here wins: a "WhatsApp Number" column is the one to
# message even when the sheet also has a "Phone" column.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
	"name": ("name", "full name", "customer name", "client name", "contact name"),
	"phone": (
		"whatsapp number",
		"whatsapp",
		"mobile number",
		"mobile no",
		"mobile",
		"phone number",
		"phone",
		"contact number",
		"number",
	),
	"email": ("email", "e-mail", "email id", "email address"),
	"city": ("city", "town", "location"),
	"consent": (
		"consent",
		"whatsapp consent",
		"marketing consent",
		"opt in",
		"opt-in",
		"optin",
		"subscribed",
	),
	"tags": ("tags", "tag", "labels"),
}

CONSENT_YES = frozenset(
	{"yes", "y", "true", "1", "opted in", "opt in", "optin", "subscribed", "agreed", "✓", "✔"}
)
CONSENT_NO = frozenset({"no", "n", "false", "0", "opted out", "opt out", "optout", "unsubscribed"})

MAX_RAW_CHARS = 200
DELIMITERS = (",", ";", "\t")
# Segment Member stores the city in a Data field, which holds 140 characters.
MAX_CITY_CHARS = 140
REPORT_COLUMNS = ("Line", "Outcome", "Kind", "Reason", "Row")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Excel shows a long number column as 9.19876E+11 and saves it that way: the digits are gone.
_SCIENTIFIC_NOTATION = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
# A number column read as floats (pandas, some CRMs) comes out as 919876543210.0: digits intact.
_FLOAT_SUFFIX = re.compile(r"^(\+?\d+)\.0+$")
_TAG_SEPARATORS = re.compile(r"[,;|]")
# Characters people sprinkle into headers that don't change what the column is:
# "Mobile No.", "WhatsApp_Number", "E-mail", "Phone*", "Opt-In:".
_HEADER_NOISE = re.compile(r"[\s_.:*-]+")
_SPREADSHEET_MANGLED = "number was mangled by a spreadsheet (scientific notation): format the column as text"
# What Excel, Google Sheets and LibreOffice write into a cell whose formula failed, e.g. a VLOOKUP
# that found no city for a pin code. Listed rather than matched by shape: "#Mumbai" is a hashtag.
_SPREADSHEET_ERROR = re.compile(
	r"^(#(NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A|ERROR!|SPILL!|CALC!|FIELD!|BLOCKED!|CONNECT!|BUSY!"
	r"|UNKNOWN!|GETTING_DATA)|Err:\d{3})$",
	re.IGNORECASE,
)
# What people type into a cell to say "no value".
_PLACEHOLDERS = frozenset(
	{"n/a", "n.a.", "na", "nil", "null", "none", "nan", "undefined", "not available", "not applicable"}
)
# Cells a spreadsheet reads as a formula (CSV injection): such a cell in the report gets a leading
# apostrophe, which makes it plain text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_VALUES_LISTED = 5
_VALUE_CHARS_LISTED = 40


class CsvFormatError(ValueError):
	"""The whole file is unusable; the message says what is wrong and how to fix it."""


@dataclass
class MemberRow:
	line: int
	name: str
	phone: str  # E.164
	region: str | None  # ISO country of the number, e.g. "IN"
	email: str | None
	city: str | None
	# True: the row says the person opted in; False: it says they did not; None: blank or no column.
	consent: bool | None
	tags: list[str] = field(default_factory=list)
	line_type: str = "unknown"  # phone.line_type(): "mobile", "fixed_line", ...
	warnings: list[str] = field(default_factory=list)  # kinds of this row's RowWarnings


@dataclass
class RowError:
	line: int  # physical line in the file, header = 1; a quoted value spanning lines: its first line
	reason: str
	kind: str  # one of ERROR_KINDS
	raw: str  # the offending line(s) as text, at most MAX_RAW_CHARS characters


@dataclass
class RowWarning:
	"""Something to know about a row that was kept: a value left out, or a number marketing is
	unlikely to reach."""

	line: int  # as RowError.line
	kind: str  # one of WARNING_KINDS
	reason: str
	raw: str  # as RowError.raw


@dataclass
class CsvReport:
	rows: list[MemberRow]
	errors: list[RowError]
	columns: dict[str, str]  # our field -> the header text found in the file
	total_lines: int  # data lines seen (without header and blank lines): len(rows) + len(errors)
	warnings: list[RowWarning] = field(default_factory=list)  # of kept rows, by line

	def counts_by_kind(self) -> dict[str, int]:
		"""Errors per kind, only the kinds that occur (so ``if counts:`` means "something was
		rejected"), in the order of ERROR_KINDS."""
		return _counts(self.errors, ERROR_KINDS)

	def warning_counts_by_kind(self) -> dict[str, int]:
		"""Warnings per kind, only the kinds that occur, in the order of WARNING_KINDS."""
		return _counts(self.warnings, WARNING_KINDS)


def _counts(entries: list[RowError] | list[RowWarning], kinds: tuple[str, ...]) -> dict[str, int]:
	counts = dict.fromkeys(kinds, 0)
	for entry in entries:
		counts[entry.kind] += 1
	return {kind: n for kind, n in counts.items() if n}


@dataclass
class _Line:
	number: int  # physical, 1-based
	text: str | None  # None: not valid UTF-8, already reported
	raw: bytes | str


def parse_members(
	raw: bytes,
	default_region: str = "IN",
	*,
	require_consent: bool = True,
	consented_numbers: set[str] | frozenset[str] = frozenset(),
	max_rows: int = 200_000,
) -> CsvReport:
	"""Read an uploaded CSV into members and a line-by-line report of the rows that were left out
	and of the kept rows with warnings.

	Numbers without a country code are read as numbers of ``default_region``. With
	``require_consent`` a row is kept only if it says the person opted in, or if its number is in
	``consented_numbers`` (an opt-in already recorded elsewhere); a row that explicitly says "no"
	is never kept on the strength of ``consented_numbers``: the file is the newer word.
	"""
	lines = _physical_lines(raw)
	errors = [
		RowError(line.number, _encoding_reason(line.raw), "encoding", _truncate(_as_text(line.raw)))
		for line in lines
		if line.text is None
	]
	header_index = _first_non_blank(lines, 0)
	if header_index is None:
		raise CsvFormatError(
			"The file is empty: upload a CSV with a header line (e.g. Name,Phone) and one person per line."
		)
	header_text = _as_text(lines[header_index].raw)
	delimiter = _explicit_delimiter(header_text)
	if delimiter:  # Excel's "sep=;" hint line; the header is the next line
		header_index = _first_non_blank(lines, header_index + 1)
		if header_index is None:
			raise CsvFormatError(
				"The file has only a 'sep=' line: add a header line (e.g. Name,Phone) and the people."
			)
		header_text = _as_text(lines[header_index].raw)
	else:
		delimiter = _sniff_delimiter(header_text)
	# A header that is not UTF-8 is read with replacement characters: the names we look for are ASCII.
	errors = [e for e in errors if e.line != lines[header_index].number]  # the header isn't a data line
	header = [cell.strip() for cell in next(csv.reader([header_text], delimiter=delimiter), [])]
	columns = _map_columns(header)
	if "phone" not in columns:
		raise CsvFormatError(_no_phone_column_message(header, default_region))
	index = {name: header.index(text) for name, text in columns.items()}

	members: list[MemberRow] = []
	warnings: list[RowWarning] = []
	first_line_of_number: dict[str, int] = {}
	too_many_rows = CsvFormatError(
		f"The file has more than {max_rows:,} data rows; split the file into smaller files and upload each."
	)
	data_lines = len(errors)  # lines that are not valid UTF-8 are data lines too
	if data_lines > max_rows:
		raise too_many_rows
	for record in _records(lines, header_index + 1, delimiter):
		data_lines += 1
		if data_lines > max_rows:
			raise too_many_rows
		if isinstance(record, RowError):
			errors.append(record)
			continue
		line_number, fields, raw_text = record
		outcome = _member_or_error(
			line_number,
			fields,
			raw_text,
			header_width=len(header),
			index=index,
			default_region=default_region,
			require_consent=require_consent,
			consented_numbers=consented_numbers,
			first_line_of_number=first_line_of_number,
		)
		if isinstance(outcome, RowError):
			errors.append(outcome)
		else:
			member, member_warnings = outcome
			members.append(member)
			warnings.extend(member_warnings)
			first_line_of_number[member.phone] = member.line
	errors.sort(key=lambda e: e.line)  # encoding errors were found before the rest
	return CsvReport(rows=members, errors=errors, columns=columns, total_lines=data_lines, warnings=warnings)


def _member_or_error(
	line: int,
	fields: list[str],
	raw_text: str,
	*,
	header_width: int,
	index: dict[str, int],
	default_region: str,
	require_consent: bool,
	consented_numbers: set[str] | frozenset[str],
	first_line_of_number: dict[str, int],
) -> tuple[MemberRow, list[RowWarning]] | RowError:
	"""Check one row; the first problem found is the one reported, a row is kept only if none.
	A kept row comes with its warnings, in the order of WARNING_KINDS."""

	def error(kind: str, reason: str) -> RowError:
		return RowError(line, reason, kind, _truncate(raw_text))

	warnings: list[RowWarning] = []

	def warn(kind: str, reason: str) -> None:
		warnings.append(RowWarning(line, kind, reason, _truncate(raw_text)))

	if len(fields) <= index["phone"]:
		return error("malformed", f"wrong number of columns ({len(fields)}, header has {header_width})")
	# An unquoted comma in a name shifts every later value one column to the right. If the number
	# and the consent still read, the values beyond the header are extras to ignore (often tags
	# split at their commas); if they don't, the shift is the likely cause and the reason says so.
	extra_values = [value for value in fields[header_width:] if value]
	if extra_values:
		warn(
			"extra_columns",
			f"{_values_beyond_header(extra_values, header_width)} ignored: {_listed(extra_values)}",
		)

	def unreadable(kind: str, reason: str) -> RowError:
		if not extra_values:
			return error(kind, reason)
		return error(
			"malformed",
			f"{reason}; the row has {_values_beyond_header(extra_values, header_width)} "
			f"({_listed(extra_values)}): a value with an unquoted comma, like a name 'Sharma, Ravi', "
			"shifts the values into the wrong columns; put such values in double quotes",
		)

	def value_of(name: str) -> str:
		position = index.get(name)
		return fields[position] if position is not None and position < len(fields) else ""

	raw_phone = value_of("phone")
	if not raw_phone:
		return unreadable("missing_phone", "missing phone")
	if _SCIENTIFIC_NOTATION.match(raw_phone):
		return unreadable("bad_number", f"bad number '{raw_phone}': {_SPREADSHEET_MANGLED}")
	float_digits = _FLOAT_SUFFIX.match(raw_phone)
	try:
		phone = normalize(float_digits.group(1) if float_digits else raw_phone, default_region)
	except InvalidPhoneNumber as e:
		return unreadable("bad_number", f"bad number '{raw_phone}': {e.reason}")

	consent_text = value_of("consent")
	consent = _consent_value(consent_text)
	if consent_text and consent is None:
		return unreadable("malformed", f"consent value '{consent_text}' is not yes/no")

	if phone in first_line_of_number:
		return error("duplicate", f"duplicate of line {first_line_of_number[phone]} ({phone})")

	if require_consent and consent is not True:
		if consent is False:
			return error("missing_consent", f"no consent: the consent column says '{consent_text}'")
		if phone not in consented_numbers:
			if "consent" not in index:
				return error("missing_consent", "missing consent (the file has no consent column)")
			return error("missing_consent", "missing consent")

	# Marketing is what the list is for, but the row is kept: other messages can still reach the
	# number, and campaigns leave such numbers out separately.
	unlikely_to_get_marketing = marketing_warning(phone)
	if unlikely_to_get_marketing:
		warn(*unlikely_to_get_marketing)

	email = value_of("email") or None
	if email and not _EMAIL.match(email):
		warn("bad_email", f"email '{_shortened(email)}' is not an email address: left blank")
		email = None

	city = _single_line(value_of("city")) or None
	city_problem = _not_a_place_name(city) if city else None
	if city_problem:
		warn("bad_city", f"city '{_shortened(city)}' {city_problem}: left blank")
		city = None

	warnings.sort(key=lambda warning: WARNING_KINDS.index(warning.kind))
	member = MemberRow(
		line=line,
		name=_single_line(value_of("name")),
		phone=phone,
		region=region_of(phone),
		email=email,
		city=city,
		consent=consent,
		tags=_tags(value_of("tags")),
		line_type=line_type(phone),
		warnings=[warning.kind for warning in warnings],
	)
	return member, warnings


def _values_beyond_header(values: list[str], header_width: int) -> str:
	return f"{len(values)} value{'s' if len(values) != 1 else ''} beyond the header's {header_width} columns"


def _not_a_place_name(city: str) -> str | None:
	"""Why a city value cannot be a place, or None if it may be one."""
	if _SPREADSHEET_ERROR.match(city):
		return "is a spreadsheet error, not a place name"
	if city.lower() in _PLACEHOLDERS:
		return "is a placeholder, not a place name"
	if not any(character.isalpha() for character in city):  # a pin code, "-", "0"
		return "has no letters, so it is not a place name"
	if len(city) > MAX_CITY_CHARS:
		return f"is longer than {MAX_CITY_CHARS} characters, so it is not a place name"
	return None


# --- Report file -------------------------------------------------------------------------------


def report_csv(report: CsvReport) -> bytes:
	"""The rejected rows and the warnings line by line, as a CSV file for the studio: UTF-8 with a
	byte order mark, without which Excel reads the file in the computer's legacy code page.

	Columns are REPORT_COLUMNS; Outcome is "rejected" or "warning". A cell that a spreadsheet would
	run as a formula (it starts with = + - @) gets a leading apostrophe: the Row column holds what
	the uploaded file said, which may come from anyone filling a lead form.
	"""
	entries = [(error.line, "rejected", error.kind, error.reason, error.raw) for error in report.errors]
	entries += [
		(warning.line, "warning", warning.kind, warning.reason, warning.raw) for warning in report.warnings
	]
	entries.sort(key=lambda entry: entry[0])  # stable: a line's warnings keep their order
	text = io.StringIO()
	writer = csv.writer(text)  # minimal quoting, \r\n line ends, as Excel writes CSV
	writer.writerow(REPORT_COLUMNS)
	for line, outcome, kind, reason, raw in entries:
		writer.writerow([line, outcome, kind, _inert(reason), _inert(raw)])
	return text.getvalue().encode("utf-8-sig")


def _inert(cell: str) -> str:
	return "'" + cell if cell.startswith(_FORMULA_START) else cell


# --- Bytes to lines ----------------------------------------------------------------------------


def _physical_lines(raw: bytes) -> list[_Line]:
	"""Split the upload into numbered lines, each decoded on its own so that one line saved in
	Latin-1 costs that line, not the file."""
	if raw.startswith(b"PK\x03\x04"):
		raise CsvFormatError(
			"This is an Excel workbook (.xlsx), not a CSV: open it in Excel and use "
			"File > Save As > 'CSV UTF-8 (Comma delimited)'."
		)
	if raw.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16 with a BOM
		try:
			text = raw.decode("utf-16")
		except UnicodeDecodeError:
			raise CsvFormatError(
				"The file starts like UTF-16 text but is not valid UTF-16: save it again as 'CSV UTF-8'."
			)
		return [_Line(n, t, t) for n, t in enumerate(_split_lines(text, "\n", "\r"), start=1)]
	if raw.startswith(b"\xef\xbb\xbf"):  # Excel's "CSV UTF-8" starts with a BOM
		raw = raw[3:]
	if b"\x00" in raw[:4096]:
		raise CsvFormatError(
			"The file contains NUL bytes, so it is not a text CSV (perhaps UTF-16 without a byte "
			"order mark, or a spreadsheet file): save it as 'CSV UTF-8'."
		)
	lines = []
	for number, chunk in enumerate(_split_lines(raw, b"\n", b"\r"), start=1):
		try:
			lines.append(_Line(number, chunk.decode("utf-8"), chunk))
		except UnicodeDecodeError:
			lines.append(_Line(number, None, chunk))
	return lines


def _split_lines(data, newline, carriage_return):
	"""Lines of ``data`` (bytes or str) without their line ends: \\n, \\r\\n, or \\r alone as old
	Mac Excel writes it."""
	if newline not in data and carriage_return in data:
		return data.split(carriage_return)
	return [line.removesuffix(carriage_return) for line in data.split(newline)]


def _encoding_reason(raw: bytes) -> str:
	try:
		raw.decode("utf-8")
	except UnicodeDecodeError as e:
		# Positions are 1-based, as a person counts characters in the line.
		return f"encoding: line is not valid UTF-8 (byte 0x{raw[e.start]:02x} at position {e.start + 1})"
	return "encoding: line is not valid UTF-8"


def _as_text(raw: bytes | str) -> str:
	return raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")


def _first_non_blank(lines: list[_Line], start: int) -> int | None:
	for i in range(start, len(lines)):
		if lines[i].text is None or lines[i].text.strip():
			return i
	return None


# --- Lines to records --------------------------------------------------------------------------


class _LineFeed:
	"""Lines for ``csv.reader`` from a position that can be moved, stopping at a line that is not
	valid UTF-8: a quoted value cannot continue across it, and after a broken record the reader
	restarts on the following line instead of swallowing the rest of the file."""

	def __init__(self, lines: list[_Line]):
		self.lines = lines
		self.position = 0

	def __iter__(self) -> _LineFeed:
		return self

	def __next__(self) -> str:
		if self.position >= len(self.lines) or self.lines[self.position].text is None:
			raise StopIteration
		line = self.lines[self.position]
		self.position += 1
		return line.text + "\n"  # keeps new lines inside quoted values


def _records(
	lines: list[_Line], start: int, delimiter: str
) -> Iterator[tuple[int, list[str], str] | RowError]:
	"""Yield ``(line number, stripped values, raw text)`` per non-blank record, or a "malformed"
	RowError for a record the csv module cannot read."""
	feed = _LineFeed(lines)
	# strict: a stray quote is an error for that record rather than text that silently joins lines.
	reader = csv.reader(feed, delimiter=delimiter, skipinitialspace=True, strict=True)
	position = start
	while position < len(lines):
		line = lines[position]
		if line.text is None or not line.text.strip():  # reported already / blank
			position += 1
			continue
		feed.position = position
		try:
			values = next(reader)
		except csv.Error as e:
			# Text after a closing quote ('"Kumar, Ravi" ,') on a line of its own is harmless: read
			# that line the forgiving way. Anything spanning lines restarts on the next line instead.
			values = _lenient_line(line.text, delimiter) if feed.position == position + 1 else None
			if values is None or _is_unclosed_quote(e):
				yield RowError(
					line.number, _csv_error_reason(e, lines, feed.position), "malformed", _truncate(line.text)
				)
				position += 1
				continue
		except StopIteration:  # pragma: no cover - the line is non-blank, so a record follows
			break
		raw_text = "\n".join(consumed.text for consumed in lines[position : feed.position])
		position = feed.position
		fields = [value.strip() for value in values]
		if any(fields):  # ",,," rows that spreadsheets leave at the end count as blank
			yield line.number, fields, raw_text


def _lenient_line(text: str, delimiter: str) -> list[str] | None:
	records = list(csv.reader([text + "\n"], delimiter=delimiter, skipinitialspace=True))
	return records[0] if len(records) == 1 else None


def _is_unclosed_quote(error: csv.Error) -> bool:
	"""An opening quote that is never closed makes the reader run to the end of the file (or to a
	line that is not UTF-8), or until the value exceeds csv.field_size_limit()."""
	message = str(error)
	return message == "unexpected end of data" or message.startswith("field larger than field limit")


def _csv_error_reason(error: csv.Error, lines: list[_Line], stopped_at: int) -> str:
	message = str(error)
	if _is_unclosed_quote(error):
		if stopped_at < len(lines) and lines[stopped_at].text is None:
			return (
				f"a quoted value is not closed before line {lines[stopped_at].number}, "
				"which is not valid UTF-8"
			)
		return 'a quoted value is not closed (unbalanced " quotes)'
	return f"not readable as CSV: {message}"


# --- Header --------------------------------------------------------------------------------------


def _explicit_delimiter(first_line: str) -> str | None:
	"""Excel writes and honours a first line ``sep=;`` naming the delimiter."""
	text = first_line.strip()
	if text.lower().startswith("sep=") and len(text) == 5:
		return text[4]
	return None


def _sniff_delimiter(header_text: str) -> str:
	"""The delimiter that occurs most often in the header; a comma when there is none (one column)."""
	counts = {delimiter: header_text.count(delimiter) for delimiter in DELIMITERS}
	best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier, the comma first
	return best if counts[best] else ","


def _header_key(text: str) -> str:
	return _HEADER_NOISE.sub("", text).lower()


_ALIAS_RANK = {
	_header_key(alias): (name, rank)
	for name, aliases in HEADER_ALIASES.items()
	for rank, alias in enumerate(aliases)
}


def _map_columns(header: list[str]) -> dict[str, str]:
	"""Our field -> the header text of the column chosen for it; unknown columns are ignored."""
	best: dict[str, tuple[int, str]] = {}
	for text in header:
		match = _ALIAS_RANK.get(_header_key(text))
		if match is None:
			continue
		name, rank = match
		if name not in best or rank < best[name][0]:
			best[name] = (rank, text)
	return {name: best[name][1] for name in HEADER_ALIASES if name in best}


def _no_phone_column_message(header: list[str], default_region: str) -> str:
	accepted = ", ".join(f"'{alias.title()}'" for alias in HEADER_ALIASES["phone"])
	found = ", ".join(f"'{text}'" for text in header if text) or "nothing"
	if any(_is_phone_number(text, default_region) for text in header):
		return (
			f"The first line looks like a person, not column names (found {found}): add a header line "
			f"such as 'Name,Phone,Email,City,Consent,Tags' above the first person."
		)
	return (
		f"No phone column: the header line has {found}, none of which is an accepted name for the "
		f"phone column ({accepted}). Rename the column with the numbers to 'Phone'."
	)


def _is_phone_number(text: str, default_region: str) -> bool:
	try:
		normalize(text, default_region)
	except InvalidPhoneNumber:
		return False
	return True


# --- Values ---------------------------------------------------------------------------------------


def _consent_value(text: str) -> bool | None:
	"""True/False for the yes and no words studios use; None for blank and for anything else."""
	key = " ".join(text.lower().replace("-", " ").replace("_", " ").split())
	if key in CONSENT_YES:
		return True
	if key in CONSENT_NO:
		return False
	return None


def _tags(text: str) -> list[str]:
	tags: list[str] = []
	for tag in _TAG_SEPARATORS.split(text):
		tag = tag.strip()
		if tag and tag not in tags:
			tags.append(tag)
	return tags


def _single_line(text: str) -> str:
	"""Names and cities go into template parameters, where Meta rejects new lines and tabs."""
	return " ".join(text.split())


def _truncate(text: str) -> str:
	return text[:MAX_RAW_CHARS]


def _shortened(value: str) -> str:
	"""A value quoted in a reason: enough to find it in the file."""
	return value if len(value) <= _VALUE_CHARS_LISTED else value[: _VALUE_CHARS_LISTED - 3] + "..."


def _listed(values: list[str]) -> str:
	listed = ", ".join(f"'{_shortened(value)}'" for value in values[:_VALUES_LISTED])
	return listed + (f" and {len(values) - _VALUES_LISTED} more" if len(values) > _VALUES_LISTED else "")
